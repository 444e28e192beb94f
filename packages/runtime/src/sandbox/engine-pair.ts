/** Test support (vitest only; test-support.ts is also loaded by child processes, so it stays free of vitest). */
import { afterAll, beforeAll } from 'vitest'
import { ContractEngine } from './engine.js'

/**
 * Two engines of `source` for a test file, created before its tests and disposed after: `engine` checks
 * every restore, `twin` is a second instance to compare determinism against.
 */
export function useEnginePair(source: string): {
  readonly engine: ContractEngine
  readonly twin: ContractEngine
} {
  const pair = {} as { engine: ContractEngine; twin: ContractEngine }
  beforeAll(async () => {
    ;[pair.engine, pair.twin] = await Promise.all([
      ContractEngine.create(source, { verifyRestores: true }),
      ContractEngine.create(source),
    ])
  })
  afterAll(() => {
    pair.engine?.dispose()
    pair.twin?.dispose()
  })
  return pair
}
