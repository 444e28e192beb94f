import {
  type Address,
  getAddress,
  type Hex,
  keccak256,
  type TestClient,
  toHex,
  zeroAddress,
  zeroHash,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Contracts } from './artifacts/index.js'
import type { Ledger } from './ledger.js'
import { ledgerAssertions, revertEachTest } from './test-assertions.js'
import { startTestLedger, type TestLedger } from './testing.js'

// Roles: dev account 0 owns the registry, 1 is a KMS signer, 2 authors contracts, 9 is a stranger.
let t: TestLedger
let testClient: TestClient
let owner: Ledger
let kms: Ledger
let author: Ledger
let stranger: Ledger
let kmsAddress: Address
let authorAddress: Address
let strangerAddress: Address

const CLUSTER = 1n
const KIB = 1024
const DAY = 24 * 60 * 60

/** Deterministic, non-zero bytes (zero bytes are cheaper calldata, which would flatter gas numbers). */
function bundle(size: number, seed = 1): Hex {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = ((i * 31 + seed * 17) % 255) + 1
  return toHex(bytes)
}

const CODE_V1 = bundle(2 * KIB, 1)
const CODE_V2 = bundle(2 * KIB, 2)
const CODE_V3 = bundle(2 * KIB, 3)

beforeAll(async () => {
  t = await startTestLedger()
  testClient = t.testClient
  owner = t.owner
  kms = t.as(1).ledger
  author = t.as(2).ledger
  stranger = t.as(9).ledger
  kmsAddress = t.as(1).account.address
  authorAddress = t.as(2).account.address
  strangerAddress = t.as(9).account.address
  await mined(owner.registry.write.addKmsSigner([kmsAddress]))
  await mined(owner.registry.write.createCluster())
  for (const code of [CODE_V1, CODE_V2, CODE_V3]) await mined(author.contracts.write.uploadCode([code]))
})
afterAll(async () => {
  await t?.stop()
})
// Every test starts from: one KMS signer, cluster 1, three code versions uploaded, no contract deployed.
revertEachTest(() => t)

const { mined, expectRevert } = ledgerAssertions(() => t.publicClient)

/** Deploys CODE_V1 to cluster 1 as the author and returns the new contract id. */
async function deployContract(upgradeDelay = 0n, initPayload: Hex = '0x'): Promise<bigint> {
  const { events } = await mined(
    author.contracts.write.deploy([CLUSTER, keccak256(CODE_V1), initPayload, upgradeDelay]),
  )
  const deployed = events.find((e) => e.eventName === 'ContractDeployed')
  if (deployed?.eventName !== 'ContractDeployed') throw new Error('deploy emitted no ContractDeployed')
  return deployed.args.contractId
}

async function latestTimestamp(): Promise<bigint> {
  return (await t.publicClient.getBlock()).timestamp
}

/** Moves chain time forward and mines a block, so the next transaction sees the new time. */
async function advance(seconds: number): Promise<void> {
  await testClient.increaseTime({ seconds })
  await testClient.mine({ blocks: 1 })
}

describe('uploadCode', () => {
  it('stores the hash and carries the bytes in CodeUploaded', async () => {
    const code = bundle(3 * KIB, 7)
    const { result } = await stranger.contracts.simulate.uploadCode([code], { account: strangerAddress })
    expect(result).toBe(keccak256(code))

    const { receipt, events } = await mined(stranger.contracts.write.uploadCode([code]))
    expect(events).toMatchObject([
      {
        eventName: 'CodeUploaded',
        address: t.addresses.contracts.toLowerCase(),
        args: { codeHash: keccak256(code), uploader: strangerAddress, code },
      },
    ])
    expect(await owner.contracts.read.getCode([keccak256(code)])).toEqual({
      size: 3 * KIB,
      blockNumber: receipt.blockNumber,
      uploader: strangerAddress,
    })
  })

  it('is idempotent: a re-upload returns the hash and emits nothing', async () => {
    const before = await owner.contracts.read.getCode([keccak256(CODE_V1)])
    expect(before.uploader).toBe(authorAddress)
    const { result } = await stranger.contracts.simulate.uploadCode([CODE_V1], { account: strangerAddress })
    expect(result).toBe(keccak256(CODE_V1))
    const { events } = await mined(stranger.contracts.write.uploadCode([CODE_V1]))
    expect(events).toEqual([])
    expect(await owner.contracts.read.getCode([keccak256(CODE_V1)])).toEqual(before)
  })

  it('lets a worker fetch the bytes from the event at Code.blockNumber', async () => {
    const code = bundle(5 * KIB, 9)
    const codeHash = keccak256(code)
    await mined(author.contracts.write.uploadCode([code]))
    await advance(1) // the upload is no longer the latest block
    const { blockNumber } = await owner.contracts.read.getCode([codeHash])
    const logs = await t.publicClient.getContractEvents({
      address: t.addresses.contracts,
      abi: Contracts.abi,
      eventName: 'CodeUploaded',
      args: { codeHash },
      fromBlock: blockNumber,
      toBlock: blockNumber,
    })
    expect(logs).toHaveLength(1)
    expect(logs[0]?.args.code).toBe(code)
    expect(keccak256(logs[0]?.args.code ?? '0x')).toBe(codeHash)
  })

  it('refuses empty code', async () => {
    await expectRevert(author.contracts.write.uploadCode(['0x']), 'EmptyCode', [])
  })

  it('accepts exactly 512 KiB and refuses one byte more', async () => {
    expect(await owner.contracts.read.MAX_CODE_BYTES()).toBe(BigInt(512 * KIB))
    const max = bundle(512 * KIB, 4)
    const { receipt, events } = await mined(author.contracts.write.uploadCode([max]))
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({
      eventName: 'CodeUploaded',
      args: { codeHash: keccak256(max), code: max },
    })
    expect((await owner.contracts.read.getCode([keccak256(max)])).size).toBe(512 * KIB)
    // ~21M gas: the EIP-7623 calldata floor (40 gas per non-zero byte) dominates. That is above the
    // EIP-7825 per-transaction cap of 2^24 from Osaka on, which anvil only enforces with
    // --enable-tx-gas-limit; under the default (off) the 30M block gas limit is what bounds it.
    expect(receipt.gasUsed).toBeGreaterThan(2n ** 24n)
    expect(receipt.gasUsed).toBeLessThan(30_000_000n)

    await expectRevert(author.contracts.write.uploadCode([bundle(512 * KIB + 1, 4)]), 'CodeTooLarge', [
      BigInt(512 * KIB + 1),
      BigInt(512 * KIB),
    ])
  })
})

describe('deploy', () => {
  it('numbers contracts 1, 2, 3 and records who deployed what where', async () => {
    const init = toHex('{"name":"counter"}')
    const { result } = await author.contracts.simulate.deploy([CLUSTER, keccak256(CODE_V1), init, 60n], {
      account: authorAddress,
    })
    expect(result).toBe(1n)
    const { receipt, events } = await mined(
      author.contracts.write.deploy([CLUSTER, keccak256(CODE_V1), init, 60n]),
    )
    expect(events).toMatchObject([
      {
        eventName: 'ContractDeployed',
        args: {
          contractId: 1n,
          cluster: CLUSTER,
          owner: authorAddress,
          codeHash: keccak256(CODE_V1),
          upgradeDelay: 60n,
          initPayload: init,
        },
      },
    ])
    expect(await owner.contracts.read.getContract([1n])).toEqual({
      owner: authorAddress,
      cluster: CLUSTER,
      deployedAt: receipt.blockNumber,
      codeHash: keccak256(CODE_V1),
      upgradeDelay: 60n,
      pendingReadyAt: 0n,
      pendingCodeHash: zeroHash,
      x25519PublicKey: zeroHash,
      signer: zeroAddress,
    })
    expect(await deployContract()).toBe(2n)
    // Anyone may deploy uploaded code, not only its uploader.
    await mined(stranger.contracts.write.deploy([CLUSTER, keccak256(CODE_V2), '0x', 0n]))
    expect((await owner.contracts.read.getContract([3n])).owner).toBe(strangerAddress)
    expect(await owner.contracts.read.contractCount()).toBe(3n)
    expect(await owner.contracts.read.exists([0n])).toBe(false)
    expect(await owner.contracts.read.exists([3n])).toBe(true)
    expect(await owner.contracts.read.exists([4n])).toBe(false)
    await expectRevert(owner.contracts.read.getContract([4n]), 'UnknownContract', [4n])
  })

  it('refuses unknown clusters and unknown code', async () => {
    await expectRevert(author.contracts.write.deploy([0n, keccak256(CODE_V1), '0x', 0n]), 'UnknownCluster', [
      0n,
    ])
    await expectRevert(author.contracts.write.deploy([2n, keccak256(CODE_V1), '0x', 0n]), 'UnknownCluster', [
      2n,
    ])
    const missing = keccak256(toHex('never uploaded'))
    await expectRevert(author.contracts.write.deploy([CLUSTER, missing, '0x', 0n]), 'UnknownCode', [missing])
  })

  it('caps the init payload at 128 KiB', async () => {
    expect(await owner.contracts.read.MAX_INIT_PAYLOAD_BYTES()).toBe(BigInt(128 * KIB))
    const id = await deployContract(0n, bundle(128 * KIB))
    expect(id).toBe(1n)
    await expectRevert(
      author.contracts.write.deploy([CLUSTER, keccak256(CODE_V1), bundle(128 * KIB + 1), 0n]),
      'InitPayloadTooLarge',
      [BigInt(128 * KIB + 1), BigInt(128 * KIB)],
    )
  })

  it('caps the upgrade delay at 30 days', async () => {
    const max = BigInt(30 * DAY)
    expect(await owner.contracts.read.MAX_UPGRADE_DELAY()).toBe(max)
    expect(await deployContract(max)).toBe(1n)
    expect((await owner.contracts.read.getContract([1n])).upgradeDelay).toBe(max)
    await expectRevert(
      author.contracts.write.deploy([CLUSTER, keccak256(CODE_V1), '0x', max + 1n]),
      'UpgradeDelayTooLong',
      [max + 1n, max],
    )
  })
})

describe('upgrade', () => {
  it('applies at once when the contract has no delay', async () => {
    const id = await deployContract(0n)
    const { events } = await mined(author.contracts.write.upgrade([id, keccak256(CODE_V2)]))
    expect(events).toMatchObject([
      {
        eventName: 'ContractUpgraded',
        args: { contractId: id, previousCodeHash: keccak256(CODE_V1), codeHash: keccak256(CODE_V2) },
      },
    ])
    const info = await owner.contracts.read.getContract([id])
    expect(info.codeHash).toBe(keccak256(CODE_V2))
    expect(info.pendingCodeHash).toBe(zeroHash)
    await expectRevert(stranger.contracts.write.applyUpgrade([id]), 'NoPendingUpgrade', [id])
  })

  it('is reserved to the contract owner and needs uploaded code', async () => {
    const id = await deployContract(0n)
    await expectRevert(stranger.contracts.write.upgrade([id, keccak256(CODE_V2)]), 'NotContractOwner', [
      id,
      strangerAddress,
    ])
    // The registry owner has no say over a contract's code either.
    await expectRevert(owner.contracts.write.upgrade([id, keccak256(CODE_V2)]), 'NotContractOwner', [
      id,
      t.as(0).account.address,
    ])
    await expectRevert(author.contracts.write.upgrade([99n, keccak256(CODE_V2)]), 'UnknownContract', [99n])
    const missing = keccak256(toHex('never uploaded'))
    await expectRevert(author.contracts.write.upgrade([id, missing]), 'UnknownCode', [missing])
    expect((await owner.contracts.read.getContract([id])).codeHash).toBe(keccak256(CODE_V1))
  })

  it('schedules an upgrade that anyone may apply once the delay has passed', async () => {
    const delay = 3_600
    const id = await deployContract(BigInt(delay))
    const { receipt, events } = await mined(author.contracts.write.upgrade([id, keccak256(CODE_V2)]))
    const scheduledAt = (await t.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp
    const readyAt = scheduledAt + BigInt(delay)
    expect(events).toMatchObject([
      { eventName: 'UpgradeScheduled', args: { contractId: id, codeHash: keccak256(CODE_V2), readyAt } },
    ])
    // Pending, visible to users, and not yet in force.
    const pending = await owner.contracts.read.getContract([id])
    expect(pending.codeHash).toBe(keccak256(CODE_V1))
    expect(pending.pendingCodeHash).toBe(keccak256(CODE_V2))
    expect(pending.pendingReadyAt).toBe(readyAt)

    await expectRevert(stranger.contracts.write.applyUpgrade([id]), 'UpgradeNotReady', [id, readyAt])
    await advance(delay / 2)
    await expectRevert(stranger.contracts.write.applyUpgrade([id]), 'UpgradeNotReady', [id, readyAt])

    await advance(delay / 2)
    expect(await latestTimestamp()).toBeGreaterThanOrEqual(readyAt)
    const applied = await mined(stranger.contracts.write.applyUpgrade([id]))
    expect(applied.events).toMatchObject([
      {
        eventName: 'ContractUpgraded',
        args: { contractId: id, previousCodeHash: keccak256(CODE_V1), codeHash: keccak256(CODE_V2) },
      },
    ])
    const done = await owner.contracts.read.getContract([id])
    expect(done.codeHash).toBe(keccak256(CODE_V2))
    expect(done.pendingCodeHash).toBe(zeroHash)
    expect(done.pendingReadyAt).toBe(0n)
    await expectRevert(stranger.contracts.write.applyUpgrade([id]), 'NoPendingUpgrade', [id])
  })

  it('can be cancelled by the owner only', async () => {
    const id = await deployContract(600n)
    await mined(author.contracts.write.upgrade([id, keccak256(CODE_V2)]))
    await expectRevert(stranger.contracts.write.cancelUpgrade([id]), 'NotContractOwner', [
      id,
      strangerAddress,
    ])

    const { events } = await mined(author.contracts.write.cancelUpgrade([id]))
    expect(events).toMatchObject([
      { eventName: 'UpgradeCancelled', args: { contractId: id, codeHash: keccak256(CODE_V2) } },
    ])
    const info = await owner.contracts.read.getContract([id])
    expect(info.pendingCodeHash).toBe(zeroHash)
    expect(info.pendingReadyAt).toBe(0n)
    await advance(600)
    await expectRevert(stranger.contracts.write.applyUpgrade([id]), 'NoPendingUpgrade', [id])
    await expectRevert(author.contracts.write.cancelUpgrade([id]), 'NoPendingUpgrade', [id])
    await expectRevert(author.contracts.write.cancelUpgrade([99n]), 'UnknownContract', [99n])
    expect((await owner.contracts.read.getContract([id])).codeHash).toBe(keccak256(CODE_V1))
  })

  it('rescheduling replaces the pending upgrade and restarts the delay', async () => {
    const delay = 1_000
    const id = await deployContract(BigInt(delay))
    const first = await mined(author.contracts.write.upgrade([id, keccak256(CODE_V2)]))
    const firstReadyAt =
      (await t.publicClient.getBlock({ blockNumber: first.receipt.blockNumber })).timestamp + 1_000n
    await advance(delay / 2)
    const second = await mined(author.contracts.write.upgrade([id, keccak256(CODE_V3)]))
    const secondReadyAt =
      (await t.publicClient.getBlock({ blockNumber: second.receipt.blockNumber })).timestamp + BigInt(delay)
    expect(second.events).toMatchObject([
      {
        eventName: 'UpgradeScheduled',
        args: { contractId: id, codeHash: keccak256(CODE_V3), readyAt: secondReadyAt },
      },
    ])
    expect(secondReadyAt).toBeGreaterThan(firstReadyAt)

    // Past the first deadline but not the second: the replaced upgrade does not apply.
    await advance(delay / 2)
    expect(await latestTimestamp()).toBeGreaterThanOrEqual(firstReadyAt)
    await expectRevert(stranger.contracts.write.applyUpgrade([id]), 'UpgradeNotReady', [id, secondReadyAt])

    await advance(delay / 2)
    const applied = await mined(stranger.contracts.write.applyUpgrade([id]))
    expect(applied.events).toMatchObject([
      { args: { contractId: id, previousCodeHash: keccak256(CODE_V1), codeHash: keccak256(CODE_V3) } },
    ])
    expect((await owner.contracts.read.getContract([id])).codeHash).toBe(keccak256(CODE_V3))
  })

  it('refuses applyUpgrade on unknown contracts', async () => {
    await expectRevert(stranger.contracts.write.applyUpgrade([1n]), 'UnknownContract', [1n])
  })
})

describe('transferContractOwnership', () => {
  it('hands the contract to a new owner', async () => {
    const id = await deployContract(0n)
    const { events } = await mined(author.contracts.write.transferContractOwnership([id, strangerAddress]))
    expect(events).toMatchObject([
      {
        eventName: 'ContractOwnershipTransferred',
        args: { contractId: id, previousOwner: authorAddress, newOwner: strangerAddress },
      },
    ])
    expect((await owner.contracts.read.getContract([id])).owner).toBe(strangerAddress)
    await expectRevert(author.contracts.write.upgrade([id, keccak256(CODE_V2)]), 'NotContractOwner', [
      id,
      authorAddress,
    ])
    await mined(stranger.contracts.write.upgrade([id, keccak256(CODE_V2)]))
    expect((await owner.contracts.read.getContract([id])).codeHash).toBe(keccak256(CODE_V2))
  })

  it('is reserved to the owner and refuses the zero address', async () => {
    const id = await deployContract(0n)
    await expectRevert(
      stranger.contracts.write.transferContractOwnership([id, strangerAddress]),
      'NotContractOwner',
      [id, strangerAddress],
    )
    await expectRevert(
      author.contracts.write.transferContractOwnership([id, zeroAddress]),
      'InvalidAddress',
      [],
    )
    await expectRevert(
      author.contracts.write.transferContractOwnership([42n, strangerAddress]),
      'UnknownContract',
      [42n],
    )
    expect((await owner.contracts.read.getContract([id])).owner).toBe(authorAddress)
  })
})

describe('setContractKeys', () => {
  const x25519 = keccak256(toHex('contract x25519 public key'))
  const signer: Address = '0x000000000000000000000000000000000000bEEF'

  it('lets a KMS signer publish the contract keys', async () => {
    const id = await deployContract(0n)
    const { events } = await mined(kms.contracts.write.setContractKeys([id, x25519, signer]))
    expect(events).toMatchObject([
      { eventName: 'ContractKeysSet', args: { contractId: id, x25519PublicKey: x25519, signer } },
    ])
    const info = await owner.contracts.read.getContract([id])
    expect(info.x25519PublicKey).toBe(x25519)
    expect(info.signer).toBe(signer)
  })

  it('is reserved to KMS signers, as the registry lists them now', async () => {
    const id = await deployContract(0n)
    await expectRevert(author.contracts.write.setContractKeys([id, x25519, signer]), 'NotKmsSigner', [
      authorAddress,
    ])
    await expectRevert(owner.contracts.write.setContractKeys([id, x25519, signer]), 'NotKmsSigner', [
      t.as(0).account.address,
    ])
    await mined(owner.registry.write.removeKmsSigner([kmsAddress]))
    await expectRevert(kms.contracts.write.setContractKeys([id, x25519, signer]), 'NotKmsSigner', [
      kmsAddress,
    ])
    expect((await owner.contracts.read.getContract([id])).x25519PublicKey).toBe(zeroHash)
  })

  it('validates the contract and keys', async () => {
    const id = await deployContract(0n)
    await expectRevert(kms.contracts.write.setContractKeys([7n, x25519, signer]), 'UnknownContract', [7n])
    await expectRevert(kms.contracts.write.setContractKeys([id, zeroHash, signer]), 'InvalidPublicKey', [])
    await expectRevert(kms.contracts.write.setContractKeys([id, x25519, zeroAddress]), 'InvalidAddress', [])
  })
})

describe('Contracts wiring', () => {
  it('points at the registry it was deployed with', async () => {
    expect(await owner.contracts.read.registry()).toBe(getAddress(t.addresses.registry))
  })
})
