import {
  type Address,
  getAddress,
  type Hash,
  type Hex,
  keccak256,
  parseEther,
  type TestClient,
  toHex,
} from 'viem'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Commands } from './artifacts/index.js'
import type { Ledger } from './ledger.js'
import { ledgerAssertions } from './test-assertions.js'
import { startTestLedger, type TestLedger } from './testing.js'

// Two deployed contracts (ids 1 and 2) on cluster 1; dev accounts 3 and 4 are clients.
let t: TestLedger
let testClient: TestClient
let alice: Ledger
let bob: Ledger
let aliceAddress: Address
let bobAddress: Address
let snapshot: Hex

const A = 1n
const B = 2n
const KIB = 1024

function payload(size: number, fill = 0xab): Hex {
  return toHex(new Uint8Array(size).fill(fill))
}

beforeAll(async () => {
  t = await startTestLedger()
  testClient = t.testClient
  alice = t.as(3).ledger
  bob = t.as(4).ledger
  aliceAddress = t.as(3).account.address
  bobAddress = t.as(4).account.address
  const author = t.as(2).ledger
  const code = toHex('export default {}')
  await mined(t.owner.registry.write.createCluster())
  await mined(author.contracts.write.uploadCode([code]))
  await mined(author.contracts.write.deploy([1n, keccak256(code), '0x', 0n]))
  await mined(author.contracts.write.deploy([1n, keccak256(code), '0x', 0n]))
})
afterAll(async () => {
  await t?.stop()
})
beforeEach(async () => {
  snapshot = await testClient.snapshot()
})
afterEach(async () => {
  await testClient.setAutomine(true)
  await testClient.revert({ id: snapshot })
})

const { mined, expectRevert } = ledgerAssertions(() => t.publicClient)

describe('submit', () => {
  it('emits Command(contractId, seq, sender, payload)', async () => {
    const sealed = payload(100)
    const { result } = await alice.commands.simulate.submit([A, sealed], { account: aliceAddress })
    expect(result).toBe(1n)
    const { events } = await mined(alice.commands.write.submit([A, sealed]))
    expect(events).toMatchObject([
      {
        eventName: 'Command',
        address: t.addresses.commands.toLowerCase(),
        args: { contractId: A, seq: 1n, sender: aliceAddress, payload: sealed },
      },
    ])
    expect(await alice.commands.read.sequence([A])).toBe(1n)
  })

  it('numbers each contract’s commands 1, 2, 3 independently', async () => {
    const seen: { contractId: bigint; seq: bigint }[] = []
    const sends: [Ledger, bigint][] = [
      [alice, A],
      [bob, B],
      [bob, A],
      [alice, A],
      [alice, B],
    ]
    for (const [client, contractId] of sends) {
      const { events } = await mined(client.commands.write.submit([contractId, payload(32)]))
      for (const e of events)
        if (e.eventName === 'Command') seen.push({ contractId: e.args.contractId, seq: e.args.seq })
    }
    expect(seen).toEqual([
      { contractId: A, seq: 1n },
      { contractId: B, seq: 1n },
      { contractId: A, seq: 2n },
      { contractId: A, seq: 3n },
      { contractId: B, seq: 2n },
    ])
    expect(await alice.commands.read.sequence([A])).toBe(3n)
    expect(await alice.commands.read.sequence([B])).toBe(2n)
    expect(await alice.commands.read.sequence([99n])).toBe(0n)
  })

  it('orders commands in one block by log index, matching seq', async () => {
    await testClient.setAutomine(false)
    const hashes: Hash[] = []
    // Distinct senders, so the block holds all three regardless of nonce ordering.
    for (const [index, client] of [alice, bob, t.as(5).ledger].entries()) {
      hashes.push(await client.commands.write.submit([A, payload(16, index + 1)]))
    }
    await testClient.mine({ blocks: 1 })
    const receipts = await Promise.all(
      hashes.map((hash) => t.publicClient.waitForTransactionReceipt({ hash })),
    )
    const blockNumber = receipts[0]?.blockNumber
    expect(receipts.every((r) => r.status === 'success' && r.blockNumber === blockNumber)).toBe(true)

    const logs = await t.publicClient.getContractEvents({
      address: t.addresses.commands,
      abi: Commands.abi,
      eventName: 'Command',
      fromBlock: blockNumber,
      toBlock: blockNumber,
    })
    expect(logs).toHaveLength(3)
    const byPosition = [...logs].sort((x, y) => (x.logIndex ?? 0) - (y.logIndex ?? 0))
    expect(byPosition.map((log) => log.args.seq)).toEqual([1n, 2n, 3n])
  })

  it('refuses unknown contracts', async () => {
    await expectRevert(alice.commands.write.submit([0n, payload(8)]), 'UnknownContract', [0n])
    await expectRevert(alice.commands.write.submit([3n, payload(8)]), 'UnknownContract', [3n])
  })

  it('refuses empty and oversized payloads, accepting exactly 128 KiB', async () => {
    expect(await alice.commands.read.MAX_PAYLOAD_BYTES()).toBe(BigInt(128 * KIB))
    await expectRevert(alice.commands.write.submit([A, '0x']), 'EmptyPayload', [])
    await expectRevert(alice.commands.write.submit([A, payload(128 * KIB + 1)]), 'PayloadTooLarge', [
      BigInt(128 * KIB + 1),
      BigInt(128 * KIB),
    ])
    const { events } = await mined(alice.commands.write.submit([A, payload(128 * KIB)]))
    expect(events).toMatchObject([{ eventName: 'Command', args: { seq: 1n, payload: payload(128 * KIB) } }])
    // Refused commands consumed no sequence number.
    expect(await alice.commands.read.sequence([A])).toBe(1n)
  })

  it('is payable: the fee stays with the ledger for billing', async () => {
    const before = await t.publicClient.getBalance({ address: t.addresses.commands })
    const fee = parseEther('0.25')
    const { events } = await mined(bob.commands.write.submit([B, payload(64)], { value: fee }))
    expect(events).toMatchObject([
      { eventName: 'Command', args: { contractId: B, seq: 1n, sender: bobAddress } },
    ])
    expect(await t.publicClient.getBalance({ address: t.addresses.commands })).toBe(before + fee)
  })

  it('points at the Contracts registry it was deployed with', async () => {
    expect(await alice.commands.read.contracts()).toBe(getAddress(t.addresses.contracts))
  })
})
