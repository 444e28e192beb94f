/**
 * The KMS on a local ledger (anvil, simulated TEE):
 *
 * - `provision`: one `POST /v1/provision` round trip over HTTP on 127.0.0.1, from the client's send to
 *   its parsed answer: three ledger reads (worker, dev mode, measurement allowlist), the quote check,
 *   the HPKE seal and the EIP-191 signature. Sequential requests, keep-alive.
 * - `provision-8x`: the same with 8 requests in flight (throughput per second as well).
 * - `approve`: from a worker's `registerWorker` receipt to it being an active member of cluster 1
 *   (the approver's poll interval is 20 ms, so this includes up to one poll of waiting).
 *
 * `npx tsx scripts/bench.ts kms` from the repository root.
 */
import { bytesToBase64url } from '@veil/protocol'
import { registerWorker, startKmsEnv, type TestWorker, waitFor } from '../src/test-support.js'

type Report = (row: { bench: string } & Record<string, number | string>) => void

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

const round = (ms: number) => Math.round(ms * 1000) / 1000

export async function run(report: Report): Promise<void> {
  const env = await startKmsEnv({ kms: { assignCluster: 1n, pollIntervalMs: 500 } })
  try {
    // ── approval latency ────────────────────────────────────────────────────────────────────────
    const approvals: number[] = []
    const workers: TestWorker[] = []
    for (let i = 0; i < 10; i++) {
      const worker = await registerWorker(env)
      const started = performance.now()
      await waitFor(
        'membership',
        () => env.t.owner.registry.read.isActiveMember([1n, worker.address]),
        30_000,
      )
      approvals.push(performance.now() - started)
      workers.push(worker)
    }
    approvals.sort((a, b) => a - b)
    report({
      bench: 'approve',
      p50_ms: round(percentile(approvals, 50)),
      max_ms: round(approvals.at(-1) ?? Number.NaN),
      samples: approvals.length,
    })

    // ── provisioning round trips ─────────────────────────────────────────────────────────────────
    const url = `${env.kms.url}/v1/provision`
    const bodies = workers.map((worker) =>
      JSON.stringify({
        v: 1,
        worker: worker.address,
        cluster: '1',
        quote: bytesToBase64url(worker.quote),
        collateral: null,
      }),
    )
    const provision = async (i: number): Promise<number> => {
      const started = performance.now()
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: bodies[i % bodies.length] ?? '',
      })
      const answer = (await response.json()) as { enc?: string }
      if (response.status !== 200 || !answer.enc)
        throw new Error(`provisioning failed: ${JSON.stringify(answer)}`)
      return performance.now() - started
    }
    for (let i = 0; i < 20; i++) await provision(i) // warm-up: JIT, keep-alive connection

    const samples = 300
    const sequential: number[] = []
    for (let i = 0; i < samples; i++) sequential.push(await provision(i))
    sequential.sort((a, b) => a - b)
    report({
      bench: 'provision',
      p50_ms: round(percentile(sequential, 50)),
      p99_ms: round(percentile(sequential, 99)),
      samples,
    })

    const inFlight = 8
    const concurrent: number[] = []
    let next = 0
    const started = performance.now()
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < samples) concurrent.push(await provision(next++))
      }),
    )
    const seconds = (performance.now() - started) / 1000
    concurrent.sort((a, b) => a - b)
    report({
      bench: 'provision-8x',
      p50_ms: round(percentile(concurrent, 50)),
      p99_ms: round(percentile(concurrent, 99)),
      per_s: Math.round(concurrent.length / seconds),
      samples: concurrent.length,
    })
  } finally {
    await env.stop()
  }
}
