/**
 * The worker's performance score: a fixed, deterministic workload run in the real sandbox (the same
 * engine contracts run in), timed. The workload does what contracts do — hashing, JSON, string and
 * bigint work, object churn — in fixed rounds whose fuel is identical on every machine; the score is how
 * many rounds per second this machine completes, scaled so that the reference 2-core machine scores
 * about 1,000. Workers submit it on chain (`submitScore`) from their attested identity at registration
 * and periodically; rewards weigh it.
 */
import { encodeValue } from '@veil/protocol'
import { ContractEngine } from '../sandbox/index.js'

/** Rounds per run and the reference machine's rounds per second (so it scores ≈ 1,000). */
const ROUNDS = 40
const REFERENCE_ROUNDS_PER_SECOND = 330
const WARMUP_ROUNDS = 15

const WORKLOAD = `var __veilModule = (() => ({ default: {
  commands: {
    round(ctx, seed) {
      // FNV-1a over a growing string, JSON round trips, bigint arithmetic, sorting: a contract's mix.
      let text = 'veil-benchmark-' + seed
      let hash = 2166136261
      for (let i = 0; i < 2000; i++) {
        hash ^= text.charCodeAt(i % text.length)
        hash = Math.imul(hash, 16777619) >>> 0
        if (i % 200 === 0) text += hash.toString(36)
      }
      const records = []
      for (let i = 0; i < 60; i++) records.push({ id: i, name: 'n' + ((hash + i) % 997), tags: [i, i * 2, i * 3] })
      const copy = JSON.parse(JSON.stringify(records))
      copy.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id))
      let big = 1n
      for (let i = 1n; i < 60n; i++) big = (big * (i + BigInt(hash % 1000))) % 1000000007n
      return [hash, copy[0].id, big.toString()].join(':')
    },
  },
} }))();`

export interface BenchmarkResult {
  /** Rounds per second, scaled: ≈ 1,000 on the reference machine. At least 1. */
  score: number
  roundsPerSecond: number
  /** Fuel of one round: the same on every machine (the workload is deterministic). */
  fuelPerRound: number
  /** What every round returned, in order: identical everywhere (a check that the workload ran whole). */
  digest: string
  ms: number
}

/**
 * Runs the benchmark (≈ 0.1–0.3 s on the reference machine) and returns the score. Rounds run one at a
 * time on a fresh engine, after warm-up rounds.
 */
export async function runBenchmark(): Promise<BenchmarkResult> {
  const engine = await ContractEngine.create(WORKLOAD, { queryPoolSize: 1 })
  try {
    const round = async (seed: number) => {
      const outcome = await engine.invoke({
        env: {
          // A command: seeded and clocked by the (fixed) block, so its fuel is the same everywhere.
          kind: 'command',
          contractId: 'benchmark',
          caller: '0x0000000000000000000000000000000000000000',
          block: { number: 0n, timestamp: 0, hash: `0x${'00'.repeat(32)}` },
          randomSeed: new Uint8Array(32),
        },
        method: 'round',
        argsText: encodeValue([seed]),
        host: { storage: { get: () => undefined, set: () => {}, delete: () => false } },
      })
      if (!outcome.ok) throw new Error(`the benchmark failed: ${outcome.error.code} ${outcome.error.message}`)
      return outcome
    }
    // Warm-up: V8 optimizes the interpreter loop over the first rounds.
    for (let i = 1; i <= WARMUP_ROUNDS; i++) await round(-i)
    const results: string[] = []
    let fuel = 0
    const started = performance.now()
    for (let i = 0; i < ROUNDS; i++) {
      const outcome = await round(i)
      if (outcome.ok) results.push(outcome.resultText)
      fuel = outcome.fuel
    }
    const ms = performance.now() - started
    const roundsPerSecond = (ROUNDS * 1000) / ms
    return {
      score: Math.max(1, Math.round((roundsPerSecond / REFERENCE_ROUNDS_PER_SECOND) * 1000)),
      roundsPerSecond: Math.round(roundsPerSecond * 10) / 10,
      fuelPerRound: fuel,
      digest: `${results.join('|').length.toString(36)}:${results.at(-1) ?? ''}`,
      ms: Math.round(ms),
    }
  } finally {
    engine.dispose()
  }
}
