import type { CommandReceipt, Hex } from '@veil/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONTRACTS, startTestCluster, type TestCluster, type TestWorker } from '../testing/cluster.js'

/** A small seeded PRNG (mulberry32), so a failure can be replayed with the same command stream. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function digestsByBlock(worker: TestWorker): Map<bigint, Hex> {
  return new Map(worker.digests.map((d) => [d.number, d.digest]))
}

function receiptKey(r: CommandReceipt): string {
  return `${r.txHash}:${r.logIndex}`
}

describe('determinism: workers of a cluster agree at every block', () => {
  let cluster: TestCluster
  const seed = Number(process.env.VEIL_TEST_SEED ?? 20261121)
  const submitted: { txHash: Hex; contract: string; method: string }[] = []

  beforeAll(async () => {
    cluster = await startTestCluster({ workers: 2 })
  }, 120_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('replays 200+ random commands on 3 contracts to equal state digests, receipts and fuel', async () => {
    const counter = await cluster.deploy(CONTRACTS.counter, { start: 5 })
    const bank = await cluster.deploy(CONTRACTS.bank)
    const entropy = await cluster.deploy(CONTRACTS.entropy)
    const senders = [1, 2, 3, 4]
    const addresses = senders.map((i) => cluster.ledger.as(i).account.address)
    const random = prng(seed)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T

    for (let i = 0; i < 210; i++) {
      const from = pick(senders)
      const roll = random()
      let sent: { contract: bigint; method: string; args: unknown[] }
      if (roll < 0.3) {
        // Non-integers fail inside the contract; their writes and events must vanish.
        sent = {
          contract: counter,
          method: 'add',
          args: [random() < 0.15 ? 1.5 : Math.floor(random() * 100) - 20],
        }
      } else if (roll < 0.6) {
        sent =
          random() < 0.4
            ? { contract: bank, method: 'mint', args: [BigInt(Math.floor(random() * 1_000))] }
            : {
                contract: bank,
                method: 'transfer',
                args: [pick(addresses), BigInt(Math.floor(random() * 600))],
              }
      } else if (roll < 0.9) {
        sent = { contract: entropy, method: 'roll', args: [`r${i % 23}`] }
      } else if (roll < 0.96) {
        sent = { contract: entropy, method: 'burn', args: [Math.floor(random() * 20_000)] }
      } else {
        sent = { contract: pick([counter, bank, entropy]), method: 'noSuchMethod', args: [] }
      }
      const { txHash } = await cluster.submit(sent.contract, sent.method, sent.args, from)
      submitted.push({ txHash, contract: String(sent.contract), method: sent.method })
    }
    const head = await cluster.settle()

    const [a, b] = cluster.workers as [TestWorker, TestWorker]
    const digestsA = digestsByBlock(a)
    const digestsB = digestsByBlock(b)
    expect(digestsA.get(head)).toBeDefined()
    expect([...digestsB.keys()]).toEqual([...digestsA.keys()])
    for (const [block, digest] of digestsA) expect(digestsB.get(block), `block ${block}`).toBe(digest)

    // Every command has exactly one receipt, identical (result, error, events, fuel, digest) on both.
    const receiptsA = new Map(a.receipts.map((r) => [receiptKey(r), r]))
    const receiptsB = new Map(b.receipts.map((r) => [receiptKey(r), r]))
    const commandReceipts = a.receipts.filter((r) => r.kind === 'command')
    expect(commandReceipts).toHaveLength(submitted.length)
    expect(receiptsB).toEqual(receiptsA)
    // Anything that ran guest code burned fuel; an unknown method is refused before any runs.
    for (const r of commandReceipts) {
      if (r.error?.code === 'UNKNOWN_METHOD') expect(r.fuel).toBe(0)
      else expect(r.fuel, `fuel of ${r.method}: ${JSON.stringify(r.error)}`).toBeGreaterThan(0)
    }

    // The stream really exercised the failure paths.
    const failures = commandReceipts.filter((r) => !r.ok)
    expect(
      failures.some((r) => r.error?.code === 'CONTRACT_ERROR' || r.error?.message.includes('integer')),
    ).toBe(true)
    expect(failures.some((r) => r.method === 'noSuchMethod')).toBe(true)
    expect(commandReceipts.filter((r) => r.ok).length).toBeGreaterThan(150)
  })

  it('a worker started late replays from genesis to the same digests', async () => {
    const late = await cluster.addWorker()
    const head = await cluster.settle()
    const reference = digestsByBlock(cluster.workers[0] as TestWorker)
    const replayed = digestsByBlock(late)
    expect(replayed.get(head)).toBe(reference.get(head))
    for (const [block, digest] of replayed) expect(digest, `block ${block}`).toBe(reference.get(block))
    expect(late.receipts.filter((r) => r.kind === 'command')).toHaveLength(submitted.length)
  })
})
