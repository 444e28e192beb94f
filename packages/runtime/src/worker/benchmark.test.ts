import { describe, expect, it } from 'vitest'
import { runBenchmark } from './benchmark.js'

describe('the performance benchmark', () => {
  it('runs the same deterministic workload everywhere and scores this machine', async () => {
    const [first, second] = [await runBenchmark(), await runBenchmark()]
    // Same work: the same fuel and results on every run (and every machine); only the time differs.
    expect(second.fuelPerRound).toBe(first.fuelPerRound)
    expect(second.digest).toBe(first.digest)
    // Pinned: a change here changes every worker's score (the prelude's dispatch is part of each round).
    expect(first.fuelPerRound).toBe(148_717)
    expect(first.score).toBeGreaterThanOrEqual(1)
    expect(Number.isInteger(first.score)).toBe(true)
  })
})
