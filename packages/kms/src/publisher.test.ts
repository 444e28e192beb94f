import { deriveClusterSecret, deriveContractKeys, deriveContractSecret } from '@veil/crypto'
import { keccak256, toHex, zeroAddress } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { contractPublicKeys } from './publisher.js'
import { type KmsTestEnv, mined, startKmsEnv, waitFor } from './test-support.js'

let env: KmsTestEnv

beforeAll(async () => {
  env = await startKmsEnv()
})
afterAll(async () => {
  await env?.stop()
})

async function deploy(cluster: bigint): Promise<bigint> {
  const code = toHex(`export default {} // ${cluster} ${Math.random()}`)
  const ledger = env.t.as(3).ledger
  await mined(env.t, ledger.contracts.write.uploadCode([code]))
  await mined(env.t, ledger.contracts.write.deploy([cluster, keccak256(code), '0x', 0n]))
  return ledger.contracts.read.contractCount()
}

describe('publisher', () => {
  it('publishes the keys derived master → cluster → contract for every deployed contract', async () => {
    const first = await deploy(1n)
    const second = await deploy(2n)
    for (const [id, cluster] of [
      [first, '1'],
      [second, '2'],
    ] as const) {
      const expected = deriveContractKeys(
        deriveContractSecret(deriveClusterSecret(env.master, cluster), String(id)),
      )
      const published = await waitFor(`the keys of contract ${id}`, async () => {
        const contract = await env.t.owner.contracts.read.getContract([id])
        return contract.signer !== zeroAddress && contract
      })
      expect(published.x25519PublicKey).toBe(toHex(expected.x25519PublicKey))
      expect(published.signer.toLowerCase()).toBe(expected.address.toLowerCase())
      expect(contractPublicKeys(env.master, BigInt(cluster), id)).toEqual({
        x25519PublicKey: toHex(expected.x25519PublicKey),
        signer: expected.address,
      })
    }
    await waitFor('the count', () => env.kms.status().publisher?.published === 2)
  })

  it('leaves keys alone that are already published (idempotent after a rescan)', async () => {
    const before = env.kms.status().publisher?.published ?? 0
    await deploy(1n)
    const published = before + 1
    await waitFor('the keys', () => env.kms.status().publisher?.published === published)
    // Rewind the chain under the publisher (three empty blocks dropped): it reads every deployment
    // again from the start block, and finds their keys already in place.
    const snapshot = await env.testClient.snapshot()
    await env.testClient.mine({ blocks: 3 })
    await waitFor('the scan to pass the new blocks', async () => {
      const head = await env.t.publicClient.getBlockNumber({ cacheTime: 0 })
      return BigInt(env.kms.status().publisher?.scannedTo ?? -1) >= head
    })
    await env.testClient.revert({ id: snapshot })
    await env.testClient.mine({ blocks: 1 })
    await waitFor('the rescan', async () => {
      const head = await env.t.publicClient.getBlockNumber({ cacheTime: 0 })
      return BigInt(env.kms.status().publisher?.scannedTo ?? -1) === head
    })
    expect(env.kms.status().publisher?.published).toBe(published)
  })
})
