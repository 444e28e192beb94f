import { decodeValue } from '@veil/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONTRACTS, startTestCluster, type TestCluster, type TestWorker } from '../testing/cluster.js'

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  const body = (await response.json()) as { result?: unknown; error?: { message: string } }
  if (body.error) throw new Error(body.error.message)
  return body.result
}

function counterValue(worker: TestWorker, contractId: bigint): unknown {
  const text = worker.worker.stateStore?.get(String(contractId), 'n')
  return text === undefined ? undefined : decodeValue(text)
}

describe('chain rewinds', () => {
  let cluster: TestCluster
  let counter: bigint

  beforeAll(async () => {
    cluster = await startTestCluster({
      workers: 1,
      workerOptions: process.env.VEIL_TEST_LOG
        ? { logger: (await import('../log.js')).createLogger({ level: 'debug' }) }
        : {},
    })
    counter = await cluster.deploy(CONTRACTS.counter, { start: 0 })
    await cluster.settle()
  }, 120_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('rolls back to the fork point and re-follows the new chain', async () => {
    const rpcUrl = cluster.ledger.anvil.rpcUrl
    const worker = cluster.workers[0] as TestWorker
    const snapshot = await rpc(rpcUrl, 'evm_snapshot')
    for (const by of [1, 2, 3, 4, 5]) await cluster.submit(counter, 'add', [by])
    await cluster.settle()
    expect(counterValue(worker, counter)).toBe(15)
    const abandoned = worker.worker.stateStore?.cursor()

    await rpc(rpcUrl, 'evm_revert', [snapshot])
    for (const by of [100, 200]) await cluster.submit(counter, 'add', [by])
    await cluster.settle()
    expect(counterValue(worker, counter)).toBe(300)
    const cursor = worker.worker.stateStore?.cursor()
    expect(cursor && abandoned && cursor.number < abandoned.number).toBe(true)

    // A fresh worker that only ever saw the new chain reaches the same digest.
    const fresh = await cluster.addWorker()
    const head = await cluster.settle()
    expect(fresh.worker.stateStore?.stateDigest()).toBe(worker.worker.stateStore?.stateDigest())
    expect(worker.worker.stateStore?.cursor()?.number).toBe(head)
  })

  it('stops with a clear error when the chain rewinds deeper than its undo window', async () => {
    const rpcUrl = cluster.ledger.anvil.rpcUrl
    const shallow = await cluster.addWorker({ undoDepth: 4 })
    await cluster.settle()
    const snapshot = await rpc(rpcUrl, 'evm_snapshot')
    for (let i = 0; i < 8; i++) await cluster.submit(counter, 'add', [1])
    await cluster.settle()
    await rpc(rpcUrl, 'evm_revert', [snapshot])
    await cluster.submit(counter, 'add', [7])

    const error = await Promise.race([
      shallow.worker.failed,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('no failure within 15 s')), 15_000),
      ),
    ])
    expect((error as { code?: string }).code).toBe('REWIND_TOO_DEEP')
    expect(error.message).toMatch(/rewind|roll back/i)
    expect(shallow.worker.health()).toMatchObject({ phase: 'failed', error: { code: 'REWIND_TOO_DEEP' } })
    const response = await fetch(`${shallow.worker.url}/healthz`)
    expect(response.status).toBe(503)
    await shallow.worker.stop()
    cluster.workers.splice(cluster.workers.indexOf(shallow), 1)
  })
})
