import { buildContract } from '@veil/contract/build'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type Counter from '../../runtime/src/testing/contracts/counter.js'
import { type ContractEventMessage, createClient, type VeilClient, type WorkerRef } from './node.js'
import {
  CLIENT_ACCOUNT,
  CONTRACTS,
  startSdkCluster,
  type TestCluster,
  type TestWorker,
} from './test-support/cluster.js'

describe('SDK failover (one of two workers stops)', () => {
  let cluster: TestCluster
  let client: VeilClient
  let counterId: bigint

  beforeAll(async () => {
    cluster = await startSdkCluster(2)
    client = createClient({ network: cluster.network, account: CLIENT_ACCOUNT, requestTimeoutMs: 3_000 })
    const bundle = await buildContract({ entry: CONTRACTS.counter })
    counterId = (await client.deploy(bundle.code, { init: { start: 0 } })).contractId
  }, 120_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('keeps a stream of queries, commands and events going while a worker stops: no error reaches the caller', async () => {
    const counter = client.contract<typeof Counter>(counterId)
    const events: ContractEventMessage[] = []
    const opens: WorkerRef[] = []
    const errors: unknown[] = []
    let firstOpen!: () => void
    const subscribed = new Promise<void>((resolve) => {
      firstOpen = resolve
    })
    const unwatch = counter.watchEvents({
      onEvent: (event) => events.push(event),
      onOpen: (worker) => {
        opens.push(worker)
        firstOpen()
      },
      onError: (error) => errors.push(error),
    })
    try {
      await subscribed
      // Stop the worker the subscription is on, so events fail over too.
      const victim = cluster.workers.find((w) => w.worker.url === opens[0]?.url) as TestWorker
      const survivor = cluster.workers.find((w) => w !== victim) as TestWorker
      const servedBy = new Set<string>()
      let expected = 0
      let stopped: Promise<void> | undefined
      for (let i = 0; i < 24; i++) {
        if (i === 6) stopped = victim.worker.stop() // mid-stream, while requests are in flight
        if (i % 3 === 2) {
          const n = await counter.command.add(1)
          expected++
          expect(n).toBe(expected)
        } else {
          const answer = await client.query({ contractId: counterId, method: 'get' })
          expect(answer).toMatchObject({ ok: true, signatureValid: true })
          expect(answer.ok && answer.result).toBe(expected)
          servedBy.add(answer.worker.url)
        }
      }
      await stopped
      expect(servedBy).toContain(survivor.worker.url)
      // The subscription moved to the survivor and delivered every command's event exactly once.
      await expect.poll(() => events.length, { timeout: 10_000 }).toBe(expected)
      expect(events.map((e) => (e.data as { n: number }).n)).toEqual(
        Array.from({ length: expected }, (_, i) => i + 1),
      )
      expect(opens.length).toBeGreaterThanOrEqual(2)
      expect(opens.at(-1)?.url).toBe(survivor.worker.url)
      // Reconnecting is not an error the caller needs to handle.
      expect(errors).toEqual([])
    } finally {
      unwatch()
    }
  })
})
