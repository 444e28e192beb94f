/**
 * Off-chain interop benchmarks:
 * 1. `ctx.http.fetch` in a query (sandbox entry, the egress client with its address check and pinning,
 *    the response copied into the sandbox, `text()`) against a plain Node `fetch` of the same local URL,
 *    and an empty query (the sandbox's own share), all sequential, in this process;
 * 2. job enqueue → outcome applied on a live two-worker cluster (anvil, KMS, in-process workers): from
 *    submitting the enqueuing command to the receipt of the `$job` outcome on the first worker.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { encodeValue } from '@veil/protocol'
import { Egress } from '../src/egress/index.js'
import { ContractEngine, type InvocationHost } from '../src/sandbox/index.js'
import { CONTRACTS, startTestCluster } from '../src/testing/cluster.js'

type Reporter = (row: { bench: string } & Record<string, number | string>) => void

const round = (n: number) => Math.round(n * 1000) / 1000

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

async function measure(n: number, fn: () => Promise<unknown>): Promise<{ p50_ms: number; p99_ms: number }> {
  for (let i = 0; i < Math.min(50, n); i++) await fn()
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const started = performance.now()
    await fn()
    samples.push(performance.now() - started)
  }
  samples.sort((a, b) => a - b)
  return { p50_ms: round(percentile(samples, 50)), p99_ms: round(percentile(samples, 99)) }
}

const CONTRACT = `var __veilModule = (() => ({ default: {
  queries: {
    async get(ctx, url) { return (await ctx.http.fetch(url)).text() },
    empty(ctx, url) { return url.length },
  },
} }))();`

export async function run(report: Reporter): Promise<void> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"price":3120.5}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}/price`
  const egress = new Egress({ allow: [`127.0.0.1:${port}`] })
  const engine = await ContractEngine.create(CONTRACT)
  const invoke = (method: string) => {
    const session = egress.session()
    const host: InvocationHost = {
      storage: { get: () => undefined, set: () => {}, delete: () => false },
      fetch: (request) => session.fetch(request),
    }
    return engine
      .invoke({
        env: {
          kind: 'query',
          contractId: '1',
          caller: null,
          block: { number: 1n, timestamp: Date.now(), hash: `0x${'00'.repeat(32)}` },
          randomSeed: new Uint8Array(32),
        },
        method,
        argsText: encodeValue([url]),
        host,
      })
      .then((outcome) => {
        session.close()
        if (!outcome.ok) throw new Error(`${method}: ${outcome.error.code} ${outcome.error.message}`)
      })
  }
  try {
    const n = 400
    const plain = await measure(n, async () => (await fetch(url)).text())
    const empty = await measure(n, () => invoke('empty'))
    const fetched = await measure(n, () => invoke('get'))
    report({
      bench: 'http-fetch',
      p50_ms: fetched.p50_ms,
      p99_ms: fetched.p99_ms,
      baseline_p50_ms: plain.p50_ms,
      baseline_p99_ms: plain.p99_ms,
      empty_query_p50_ms: empty.p50_ms,
      overhead_p50_ms: round(fetched.p50_ms - plain.p50_ms),
      ratio: round(fetched.p50_ms / plain.p50_ms),
      samples: n,
    })
  } finally {
    engine.dispose()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  // Jobs on a live cluster.
  const source = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"price":3120.5}')
  })
  await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve))
  const sourcePort = (source.address() as AddressInfo).port
  const cluster = await startTestCluster({
    workers: 2,
    workerOptions: { egressAllow: [`127.0.0.1:${sourcePort}`], pollIntervalMs: 50 },
  })
  try {
    const contractId = await cluster.deploy(CONTRACTS.feeds)
    await cluster.settle()
    const first = cluster.workers[0]
    if (!first) throw new Error('no worker')
    const latencies: number[] = []
    for (let i = 0; i < 12; i++) {
      const seen = first.receipts.length
      const started = performance.now()
      await cluster.submit(contractId, 'refresh', [`http://127.0.0.1:${sourcePort}/price`])
      const deadline = Date.now() + 30_000
      for (;;) {
        const applied = first.receipts.slice(seen).find((r) => r.method.startsWith('$job:') && r.ok)
        if (applied) break
        if (Date.now() > deadline) throw new Error('a job outcome did not land within 30 s')
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
      if (i >= 2) latencies.push(performance.now() - started)
    }
    latencies.sort((a, b) => a - b)
    report({
      bench: 'job',
      p50_ms: round(percentile(latencies, 50)),
      p99_ms: round(percentile(latencies, 99)),
      samples: latencies.length,
    })
  } finally {
    await cluster.stop()
    await new Promise<void>((resolve) => source.close(() => resolve()))
  }
}
