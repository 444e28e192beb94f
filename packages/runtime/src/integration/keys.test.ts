/**
 * A contract's own keys on live workers: `ctx.contract.address` is the address published on the ledger
 * for the contract, the same in commands and queries; `ctx.keys.sign` in a command gives the same
 * signature on every worker, and viem verifies it for that address.
 */
import { aeadOpen, hashQueryRequest, hpkeQueryInfo, setupBaseS } from '@veil/crypto'
import { base64urlToBytes, bytesToBase64url, decodeValue, encodeValue, type Hex } from '@veil/protocol'
import { hexToBytes, recoverMessageAddress, verifyMessage, zeroAddress } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONTRACTS, startTestCluster, type TestCluster, type TestWorker } from '../testing/cluster.js'

interface Signed {
  address: Hex
  message: string
  signature: Hex
  derived: Uint8Array
}

interface Whoami {
  address: Hex
  atInit: Hex | null
  derived: Uint8Array
  signature: Hex
}

describe('contract keys on a live cluster', () => {
  let cluster: TestCluster
  let contract: bigint
  let published: Hex

  beforeAll(async () => {
    cluster = await startTestCluster({ workers: 2 })
    contract = await cluster.deploy(CONTRACTS.signer)
    // The dev gatekeeper publishes the contract's keys (setContractKeys) shortly after the deploy.
    const deadline = Date.now() + 30_000
    for (;;) {
      published = (await cluster.ledger.owner.contracts.read.getContract([contract])).signer
      if (published !== zeroAddress || Date.now() > deadline) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await cluster.settle()
  }, 120_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  /** Runs a sealed query on one worker (docs/protocol.md) and opens its answer. */
  async function query(worker: TestWorker, method: string, args: unknown[] = []) {
    const info = (await (await fetch(`${worker.worker.url}/v1/info`)).json()) as { address: Hex; x25519: Hex }
    const context = setupBaseS({
      recipientPublicKey: hexToBytes(info.x25519),
      info: hpkeQueryInfo({
        chainId: 31337,
        registry: cluster.ledger.addresses.registry,
        worker: info.address,
        contractId: String(contract),
      }),
      aead: 'aes-128-gcm',
    })
    const nonce = crypto.getRandomValues(new Uint8Array(16))
    const ct = context.seal(
      new TextEncoder().encode(encodeValue({ method, args, nonce, timestamp: Date.now() })),
    )
    const response = await fetch(`${worker.worker.url}/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        v: 1,
        contract: String(contract),
        aead: 'aes-128-gcm',
        enc: bytesToBase64url(context.enc),
        ct: bytesToBase64url(ct),
      }),
    })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { ct: string }
    const plain = aeadOpen({
      aead: 'aes-128-gcm',
      key: context.export('veil/v1/response', 16),
      nonce: new Uint8Array(12),
      aad: hashQueryRequest(context.enc, ct),
      ciphertext: base64urlToBytes(body.ct),
    })
    return decodeValue(new TextDecoder().decode(plain)) as { ok: boolean; result?: unknown }
  }

  it('a command and a query see the address published on the ledger, and sign identically everywhere', async () => {
    expect(published).not.toBe(zeroAddress)
    const { txHash } = await cluster.submit(contract, 'signPrice', ['ETH/USD', 315_025n])
    await cluster.settle()

    const receipts = cluster.workers.map((w) => w.receipts.find((r) => r.txHash === txHash))
    for (const receipt of receipts) expect(receipt, 'receipt on every worker').toMatchObject({ ok: true })
    const [first, second] = receipts.map((r) => (r as { result: Signed }).result) as [Signed, Signed]
    expect(first.address).toBe(published)
    // Deterministic: the same signature, fuel and state digest on both workers.
    expect(second).toEqual(first)
    expect(receipts[1]?.fuel).toBe(receipts[0]?.fuel)
    expect(receipts[1]?.stateDigest).toBe(receipts[0]?.stateDigest)
    expect(await recoverMessageAddress({ message: first.message, signature: first.signature })).toBe(
      published,
    )
    expect(
      await verifyMessage({ address: published, message: first.message, signature: first.signature }),
    ).toBe(true)
    expect(first.derived).toHaveLength(32)

    for (const worker of cluster.workers) {
      const answer = await query(worker, 'whoami')
      expect(answer.ok).toBe(true)
      const whoami = answer.result as Whoami
      expect(whoami.address).toBe(published)
      expect(whoami.atInit).toBe(published)
      expect(whoami.derived).toEqual(first.derived)
      expect(await recoverMessageAddress({ message: 'hello', signature: whoami.signature })).toBe(published)
    }
  })
})
