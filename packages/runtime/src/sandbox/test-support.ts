/**
 * Helpers for the sandbox's own tests: an in-memory `InvocationHost` that records effects, and
 * invocation shortcuts. Not exported from the package.
 */
import { decodeValue, encodeValue, type Logger } from '@veil/protocol'
import { contractKeyHost } from '../state/keyring.js'
import type { ContractEngine } from './engine.js'
import type { SandboxLimits } from './limits.js'
import type { InvocationEnv, InvocationHost, InvokeOutcome } from './types.js'

export interface RecordingHost extends InvocationHost {
  readonly store: Map<string, string>
  readonly events: { name: string; data: unknown }[]
  readonly logs: { level: string; message: string }[]
}

/** A host whose storage is a Map and whose events and logs are recorded. */
export function recordingHost(store = new Map<string, string>()): RecordingHost {
  const events: { name: string; data: unknown }[] = []
  const logs: { level: string; message: string }[] = []
  return {
    store,
    events,
    logs,
    storage: {
      get: (key) => store.get(key),
      set: (key, valueText) => {
        store.set(key, valueText)
      },
      delete: (key) => store.delete(key),
    },
    emit: (name, dataText) => {
      events.push({ name, data: decodeValue(dataText) })
    },
    log: (level, message) => {
      logs.push({ level, message })
    },
  }
}

export const BLOCK_TIMESTAMP = 1_700_000_000_000

/** The contract secret of the test contract, and its keys (`ctx.contract.address`, `ctx.keys`). */
export const TEST_CONTRACT_SECRET = new Uint8Array(32).fill(0x42)
export const TEST_KEYS = contractKeyHost(TEST_CONTRACT_SECRET)

export function env(
  kind: InvocationEnv['kind'],
  seed = 1,
  overrides: Partial<InvocationEnv> = {},
): InvocationEnv {
  return {
    kind,
    contractId: '42',
    caller: kind === 'query' ? null : '0x00000000000000000000000000000000000000aa',
    block: { number: 7n, timestamp: BLOCK_TIMESTAMP, hash: `0x${'ab'.repeat(32)}` },
    randomSeed: new Uint8Array(32).fill(seed),
    keys: TEST_KEYS,
    ...overrides,
  }
}

export interface CallOptions {
  host?: InvocationHost
  seed?: number
  limits?: Partial<SandboxLimits>
  env?: Partial<InvocationEnv>
}

/** Invokes `method` of `kind` with `args` (encoded here). */
export function call(
  engine: ContractEngine,
  kind: InvocationEnv['kind'],
  method: string,
  args: unknown[] = [],
  options: CallOptions = {},
): Promise<InvokeOutcome> {
  return engine.invoke({
    env: env(kind, options.seed, options.env),
    method,
    argsText: encodeValue(args),
    host: options.host ?? recordingHost(),
    ...(options.limits ? { limits: options.limits } : {}),
  })
}

/** The decoded result of a successful outcome; throws with the error otherwise. */
export function resultOf(outcome: InvokeOutcome): unknown {
  if (!outcome.ok) throw new Error(`expected success, got ${outcome.error.code}: ${outcome.error.message}`)
  return decodeValue(outcome.resultText)
}

/** The error code of a failed outcome, or 'OK'. */
export function codeOf(outcome: InvokeOutcome): string {
  return outcome.ok ? 'OK' : outcome.error.code
}

/** Wraps a definition's source as the bundle format `veil build` produces. */
export function bundle(definition: string, prefix = ''): string {
  return `${prefix}\nvar __veilModule = (() => { return { default: ${definition} } })();\n`
}

/** A logger that records warnings and errors (the engine warns when an instance trapped). */
export function recordingLogger(): Logger & { readonly warnings: string[] } {
  const warnings: string[] = []
  const logger: Logger & { readonly warnings: string[] } = {
    warnings,
    debug() {},
    info() {},
    warn(message) {
      warnings.push(message)
    },
    error(message) {
      warnings.push(message)
    },
    forComponent: () => logger,
  }
  return logger
}
