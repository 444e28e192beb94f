import type { Clock, Logger } from '@veil/protocol'
import type { EgressResponse } from '../egress/egress.js'
import type { SandboxError } from './errors.js'
import type { SandboxLimits } from './limits.js'
import type { RandomSource } from './random.js'

/** Who calls, when, and with which randomness. */
export interface InvocationEnv {
  /**
   * `job` is a job's `run` (one worker; read-only like a query, with HTTP and secrets), `apply` its
   * `apply` (every worker, deterministic like a command). See docs/interop.md.
   */
  kind: 'init' | 'command' | 'query' | 'job' | 'apply'
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
  /**
   * `ctx.secrets` in queries and jobs. Their values are also redacted from this invocation's log lines and
   * error messages (`[secret NAME]`).
   */
  secrets?(): Readonly<Record<string, string>>
  /** `ctx.http.fetch` in queries and jobs: the egress client (SSRF guard and limits are its business). */
  fetch?(request: HostHttpRequest): Promise<HostHttpResponse>
  /** `ctx.jobs.*` in init, commands and `apply`: recorded in the replicated state by the caller. */
  jobs?: JobsHost
  /** `ctx.evm.*`: `call` in queries and jobs, `sendTransaction` in jobs. */
  evm?: EvmHost
}

/** What a contract asks `ctx.http.fetch` for. */
export interface HostHttpRequest {
  url: string
  method: string
  headers: Record<string, string>
  body?: Uint8Array
}

/** What `ctx.http.fetch` answers: the egress client's response. */
export type HostHttpResponse = EgressResponse

/**
 * `ctx.jobs` as the host records it. Ids are the host's (deterministic: the same on every worker).
 * Throw a `GuestVisibleError` to refuse with a message the contract sees.
 */
export interface JobsHost {
  enqueue(name: string, argsText: string): string
  every(intervalSeconds: number, name: string, argsText: string): string
  cancel(id: string): boolean
}

/** `ctx.evm`: JSON-RPC on the network's named endpoints, transactions signed with the contract's key. */
export interface EvmHost {
  call(rpc: string, request: { to: `0x${string}`; data: `0x${string}` }): Promise<`0x${string}`>
  sendTransaction(
    rpc: string,
    tx: { to: `0x${string}`; data: `0x${string}`; value: bigint; gas?: bigint },
  ): Promise<`0x${string}`>
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
