import type { Clock, Logger } from '@veil/protocol'
import type { SandboxError } from './errors.js'
import type { SandboxLimits } from './limits.js'
import type { RandomSource } from './random.js'

/** Who calls, when, and with which randomness. */
export interface InvocationEnv {
  kind: 'init' | 'command' | 'query'
  /** The contract id on the ledger (decimal string). */
  contractId: string
  /** The command's sender (the deployer for init), the query's authenticated caller, or null. */
  caller: `0x${string}` | null
  block: { number: bigint; timestamp: number /* ms */; hash: `0x${string}` }
  /** 32 bytes. Seeds `ctx.random`, `crypto.getRandomValues` and `Math.random` in init and commands. */
  randomSeed: Uint8Array
  /**
   * The contract's own keys: `ctx.contract.address` and `ctx.keys`. Workers always pass them (the same on
   * every worker: they come from the contract secret); without them the address is null and `ctx.keys`
   * throws, which only suits benchmarks and tools that never touch keys.
   */
  keys?: ContractKeyHost | undefined
}

/**
 * A contract's keys as the sandbox uses them, built by the worker from the contract secret
 * (`contractKeyHost`). The guest gets the address, derived keys and signatures, never the secret or the
 * signing key. Every method must be a pure function of the contract secret and its arguments.
 */
export interface ContractKeyHost {
  /** EIP-55 address of the contract's secp256k1 key, as published on the ledger (`setContractKeys`). */
  readonly address: `0x${string}`
  /** 32 bytes under `veil/v1/user/<path>` of the contract secret (`path` already validated). */
  derive(path: string): Uint8Array
  /** EIP-191 personal_sign of `message` with the contract's key: 65-byte `0x` hex, RFC 6979, low s. */
  sign(message: Uint8Array): `0x${string}`
}

/**
 * The contract's key-value store as the engine sees it. Values are `encodeValue` texts. Writes of a failed
 * invocation must be discarded by the caller: the engine only reports them as they happen.
 */
export interface StorageHost {
  get(key: string): string | undefined
  set(key: string, valueText: string): void
  delete(key: string): boolean
}

/**
 * Effects of one invocation. The engine calls these synchronously while the contract runs, in program
 * order. If the outcome is `ok: false`, the caller must drop every write and event it received (keep an
 * overlay per invocation and commit it only on success).
 */
export interface InvocationHost {
  storage: StorageHost
  /** An event (`dataText` is an `encodeValue` text). Never called for queries. */
  emit?(name: string, dataText: string): void
  /** A `ctx.log`/`console` line, already formatted and bounded inside the sandbox. */
  log?(level: 'info' | 'warn' | 'error', message: string): void
}

export interface InvokeRequest {
  env: InvocationEnv
  /** The command or query name; '' or 'init' for init. */
  method: string
  /** `encodeValue` text of the argument array (`[args]` for init). */
  argsText: string
  host: InvocationHost
  /** Overrides of the engine's limits for this kind, e.g. the fuel a command paid for. */
  limits?: Partial<SandboxLimits>
}

/** The result of one invocation. `fuel` is deterministic for init and commands (except on Timeout). */
export type InvokeOutcome =
  | { ok: true; resultText: string; fuel: number }
  | { ok: false; error: SandboxError; fuel: number }

/** Options of `ContractEngine.create`. */
export interface ContractEngineOptions {
  /**
   * Limits overriding the defaults: top-level fields apply to commands (and init) and queries,
   * `command` and `query` to one kind, `load` to loading the bundle (its fuel and deadline; memory and
   * stack follow the command limits). Example: `{ memoryBytes: 32 << 20, query: { fuel: 1e9 } }`.
   */
  limits?: Partial<SandboxLimits> & {
    command?: Partial<SandboxLimits>
    query?: Partial<SandboxLimits>
    load?: Partial<Pick<SandboxLimits, 'fuel' | 'deadlineMs'>>
  }
  /** Instances that serve queries concurrently (default 2). Commands always have their own instance. */
  queryPoolSize?: number
  /** The bundle's source map (JSON text), when it does not carry an inline one. */
  sourceMap?: string
  /** Wall clock for queries' `Date` (commands see the block timestamp). */
  clock?: Clock
  /** Real randomness for queries (default: the OS CSPRNG). */
  random?: RandomSource
  logger?: Logger
  /**
   * Compare the whole memory with the snapshot after every restore (≈ 5.6 MB per invocation) and refuse
   * to run on any difference. For tests and for diagnosing a suspected reset bug; off by default.
   */
  verifyRestores?: boolean
}
