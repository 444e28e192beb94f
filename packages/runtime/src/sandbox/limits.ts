import { VeilError } from '@veil/protocol'

export {
  MAX_ARGS_BYTES,
  MAX_EVENT_DATA_BYTES,
  MAX_EVENT_NAME_BYTES,
  MAX_KEY_PATH_CHARS,
  MAX_LOG_MESSAGE_CHARS,
  MAX_RANDOM_BYTES,
  MAX_SIGN_MESSAGE_BYTES,
  MAX_STORAGE_KEY_BYTES,
  MAX_STORAGE_VALUE_BYTES,
} from './constants.js'

/**
 * Resource limits of one sandbox invocation.
 *
 * Fuel is the deterministic budget; the deadline is the wall-clock backstop. Defaults are chosen so that
 * fuel runs out first on the reference 2-core machine, which keeps command outcomes identical on every
 * worker.
 */
export interface SandboxLimits {
  /** Peak heap size in bytes (the allocator's break, enforced by the meter; see `fuel.ts`). */
  memoryBytes: number
  /** QuickJS stack limit in bytes (`JS_SetMaxStackSize`), measured on the WebAssembly shadow stack. */
  stackBytes: number
  /** Fuel budget, see `FUEL_COSTS`. */
  fuel: number
  /** Wall-clock deadline in milliseconds, measured from the start of the invocation. */
  deadlineMs: number
  /** Largest accepted encoded result, in UTF-8 bytes. */
  maxResultBytes: number
}

const MiB = 1024 * 1024

/**
 * Fuel prices. One fuel unit is one iteration of a metered WebAssembly loop: one interpreted bytecode,
 * or one step of a native loop (string search, sorting, bigint arithmetic, GC, ...).
 */
export const FUEL_COSTS = {
  /** Per metered loop iteration. */
  loopIteration: 1,
  /** Per host call (storage, events, logs, randomness). */
  hostCall: 5_000,
  /** Per byte written: storage keys and values, event names and data, log messages. */
  storedByte: 100,
  /** Per byte read from storage or produced as randomness. */
  readByte: 10,
  /**
   * Per `ctx.keys.derive`, on top of `hostCall`: an HKDF-SHA256 (≈ 35 µs on the reference machine, priced
   * like native work at ≈ 250 fuel/µs).
   */
  keyDerivation: 10_000,
  /**
   * Per `ctx.keys.sign`, on top of `hostCall`: one secp256k1 ECDSA signature (≈ 1.2 ms, so 10M command fuel
   * allows about 50 signatures, ≈ 60 ms).
   */
  signature: 200_000,
  /** Per byte of a `ctx.keys.sign` message: keccak256 and copying, ≈ 85 ns/byte. */
  signedByte: 20,
} as const

/**
 * Default limits of commands and `init`. Measured on the reference 2-core machine (shared, warm JIT),
 * 10M fuel runs out after 40–70 ms of native work (string search, bigint, allocation), 100–160 ms of
 * interpreted loops, SHA-256, sorting or regexp backtracking, and 230–330 ms of the slowest workloads
 * found (building objects, JSON round trips); the very first call after start-up, before V8 optimised
 * the interpreter, took up to 460 ms. So fuel (deterministic) runs out well before the 1 s deadline
 * (wall clock), which only catches a stalled or overloaded worker.
 */
export const DEFAULT_COMMAND_LIMITS: SandboxLimits = Object.freeze({
  memoryBytes: 64 * MiB,
  stackBytes: 256 * 1024,
  fuel: 10_000_000,
  deadlineMs: 1_000,
  maxResultBytes: MiB,
})

/** Default limits of queries: ten times the command fuel (≈ 0.4–3.3 s), a 10 s deadline. */
export const DEFAULT_QUERY_LIMITS: SandboxLimits = Object.freeze({
  memoryBytes: 64 * MiB,
  stackBytes: 256 * 1024,
  fuel: 100_000_000,
  deadlineMs: 10_000,
  maxResultBytes: MiB,
})

/**
 * * Default budget for loading a bundle: parsing it (≈ 45 fuel per byte: 23M for a 520 KiB bundle) and
 * running its top-level code, once per instance. Memory and stack follow the command limits.
 */
export const DEFAULT_LOAD_LIMITS: Pick<SandboxLimits, 'fuel' | 'deadlineMs'> = Object.freeze({
  fuel: 200_000_000,
  deadlineMs: 30_000,
})

/**
 * Bounds that keep the engine itself safe, whatever a caller configures. The WebAssembly shadow stack of
 * the QuickJS build is ≈ 5 MiB, so a larger QuickJS stack limit could overrun static data.
 */
const BOUNDS = {
  memoryBytes: [4 * MiB, 1024 * MiB],
  stackBytes: [64 * 1024, 4 * MiB],
  fuel: [1, Number.MAX_SAFE_INTEGER],
  deadlineMs: [1, 10 * 60_000],
  maxResultBytes: [1024, 64 * MiB],
} as const satisfies Record<keyof SandboxLimits, readonly [number, number]>

/** Thrown when an engine or an invocation is configured with limits outside `BOUNDS`. */
export class InvalidLimitsError extends VeilError {
  override name = 'InvalidLimitsError'
  constructor(details: string) {
    super('Invalid sandbox limits', {
      code: 'SANDBOX_LIMITS_INVALID',
      details,
      hint: 'Pass positive integers within the documented bounds.',
    })
  }
}

/** Limits this module validated and froze: they cannot have changed since. */
const resolved = new WeakSet<SandboxLimits>()

/** Merges `overrides` into `base` and checks every field against the engine's bounds. */
export function resolveLimits(base: SandboxLimits, overrides?: Partial<SandboxLimits>): SandboxLimits {
  // The engine resolves its bases once; most invocations override nothing and take them as they are.
  if (overrides === undefined && resolved.has(base)) return base
  const merged: SandboxLimits = { ...base }
  if (overrides) {
    for (const key of Object.keys(BOUNDS) as (keyof SandboxLimits)[]) {
      const value = overrides[key]
      if (value !== undefined) merged[key] = value
    }
  }
  for (const key of Object.keys(BOUNDS) as (keyof SandboxLimits)[]) {
    const value = merged[key]
    const [min, max] = BOUNDS[key]
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidLimitsError(`${key} must be an integer between ${min} and ${max}, got ${value}`)
    }
  }
  resolved.add(Object.freeze(merged))
  return merged
}
