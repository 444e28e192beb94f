import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { CommandReceipt } from '@veil/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCluster, type TestCluster, type TestWorker } from '../testing/cluster.js'

const hostile = new URL('../testing/contracts/hostile.ts', import.meta.url).pathname

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}

describe('hostile contracts on a live cluster', () => {
  let cluster: TestCluster
  let contract: bigint
  const SECRET = 'hunter2-correct-horse-battery-staple'

  beforeAll(async () => {
    cluster = await startTestCluster({ workers: 2 })
    contract = await cluster.deploy(hostile)
  }, 120_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  const cases: [method: string, args: unknown[], code: string][] = [
    ['spin', [], 'OUT_OF_FUEL'],
    ['recurse', [], 'STACK_OVERFLOW'],
    ['hog', [], 'OUT_OF_MEMORY'],
    ['huge', [], 'INVALID_RESULT'],
    ['flood', [], 'OUT_OF_FUEL'],
    ['regex', [], 'OUT_OF_FUEL'],
    ['trap', [], 'OUT_OF_FUEL'],
    ['throwString', [], 'CONTRACT_ERROR'],
  ]

  it('fails each hostile command alone, with the same typed error and fuel on every worker, and keeps serving', async () => {
    const txs = new Map<string, string>()
    for (const [method, args] of cases) {
      txs.set((await cluster.submit(contract, method, args)).txHash, method)
      txs.set((await cluster.submit(contract, 'fine', [])).txHash, 'fine')
    }
    const probe = await cluster.submit(contract, 'probe', [])
    await cluster.settle(60_000)
    const [a, b] = cluster.workers as [TestWorker, TestWorker]
    const byTx = (w: TestWorker) => new Map(w.receipts.map((r) => [r.txHash, r] as [string, CommandReceipt]))
    const ra = byTx(a)
    const rb = byTx(b)
    for (const [method, , code] of cases) {
      const tx = [...txs].find(([, m]) => m === method)?.[0] ?? ''
      expect(ra.get(tx)?.error?.code, method).toBe(code)
      expect(rb.get(tx), method).toEqual(ra.get(tx)) // same error and the same fuel everywhere
    }
    // The good command after every bad one succeeded and counted up: nothing leaked between calls.
    const fines = [...txs].filter(([, m]) => m === 'fine').map(([tx]) => ra.get(tx)?.result)
    expect(fines).toEqual(cases.map((_, i) => i + 1))
    // No ambient authority is reachable.
    expect(ra.get(probe.txHash)).toMatchObject({ ok: true, result: [] })
    expect(a.worker.stateStore?.stateDigest()).toBe(b.worker.stateStore?.stateDigest())
    expect(a.worker.health().phase).toBe('following')
  })

  it('keeps a stored secret out of the LMDB files', async () => {
    const { txHash } = await cluster.submit(contract, 'remember', [SECRET])
    await cluster.settle()
    const worker = cluster.workers[0] as TestWorker
    expect(worker.receipts.find((r) => r.txHash === txHash)?.ok).toBe(true)
    const files = filesUnder(join(worker.dataDir, 'state'))
    expect(files.length).toBeGreaterThan(0)
    for (const file of files) {
      const bytes = readFileSync(file)
      expect(bytes.includes(Buffer.from(SECRET)), file).toBe(false)
      expect(bytes.includes(Buffer.from(SECRET, 'utf16le')), file).toBe(false)
    }
  })
})

describe('per-network limits', () => {
  let cluster: TestCluster

  beforeAll(async () => {
    cluster = await startTestCluster({ workers: 1, limits: { command: { fuel: 200_000 } } })
  }, 120_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('applies the network file’s command fuel limit on every worker', async () => {
    const entropy = await cluster.deploy(new URL('../testing/contracts/entropy.ts', import.meta.url).pathname)
    const small = await cluster.submit(entropy, 'burn', [100])
    const big = await cluster.submit(entropy, 'burn', [50_000])
    await cluster.settle()
    const receipts = (cluster.workers[0] as TestWorker).receipts
    expect(receipts.find((r) => r.txHash === small.txHash)).toMatchObject({ ok: true })
    const failed = receipts.find((r) => r.txHash === big.txHash)
    expect(failed?.error?.code).toBe('OUT_OF_FUEL')
    expect(failed?.error?.message).toContain('200000')
  })
})
