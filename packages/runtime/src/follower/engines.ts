import type { Hex, Logger } from '@veil/protocol'
import { ContractEngine, type ContractEngineOptions } from '../sandbox/index.js'
import type { EngineCache } from './executor.js'

/**
 * One sandbox engine per code hash, created on first use. Contracts that share code share the engine:
 * every invocation starts from the same clean snapshot, and the contract id arrives with each call.
 */
export class EngineRegistry implements EngineCache {
  private readonly engines = new Map<Hex, Promise<ContractEngine>>()

  constructor(private readonly options: { limits?: ContractEngineOptions['limits']; logger: Logger }) {}

  engineFor(codeHash: Hex, code: string): Promise<ContractEngine> {
    let engine = this.engines.get(codeHash)
    if (!engine) {
      engine = ContractEngine.create(code, {
        logger: this.options.logger,
        ...(this.options.limits ? { limits: this.options.limits } : {}),
      })
      // A bundle that fails to load is not cached: the caller records the failure in the state instead.
      engine.catch(() => this.engines.delete(codeHash))
      this.engines.set(codeHash, engine)
    }
    return engine
  }

  async dispose(): Promise<void> {
    const all = [...this.engines.values()]
    this.engines.clear()
    for (const engine of all) {
      try {
        ;(await engine).dispose()
      } catch {
        // failed to load: nothing to dispose
      }
    }
  }
}
