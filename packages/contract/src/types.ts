/**
 * The programming model of a Veil fat contract. Everything a contract can see comes through `ctx`.
 *
 * Commands are ordered by the ledger and run by every worker of the cluster: they must be deterministic,
 * so their `ctx` has no HTTP and no wall clock (`Date.now()` is the block timestamp, `Math.random()` is
 * seeded). Queries run on one worker, read-only, and may use real time and randomness.
 */

/** Values that cross the sandbox boundary: JSON plus bigint and Uint8Array. */
export type Value =
  | null
  | boolean
  | number
  | string
  | bigint
  | Uint8Array
  | readonly Value[]
  | { readonly [key: string]: Value | undefined }

export type Address = `0x${string}`

export interface BlockInfo {
  /** Block number of the command's transaction. */
  readonly number: bigint
  /** Block timestamp, milliseconds since the UNIX epoch. */
  readonly timestamp: number
  /** Block hash, 0x-prefixed hex. */
  readonly hash: `0x${string}`
}

export interface ContractInfo {
  /** The contract id on the ledger, as a decimal string. */
  readonly id: string
  /**
   * The contract's own Ethereum address (EIP-55), derived from its secret and published on the ledger
   * (`Contracts.getContract(id).signer`): `ecrecover` of a `ctx.keys.sign` signature returns it.
   */
  readonly address: Address
}

/**
 * The contract's own keys, derived from the contract secret that only the cluster's workers hold. The
 * same on every worker, in commands and in queries; the secret itself never reaches the contract.
 */
export interface ContractKeys {
  /**
   * 32 secret bytes for `path` (1–256 printable ASCII characters, no spaces, in non-empty `/`-separated
   * segments, e.g. `'wallets/0'`): use them as a private key, a MAC key or a seed. Other paths give
   * unrelated bytes; a bad path throws a `RangeError`.
   */
  derive(path: string): Uint8Array
  /**
   * Signs `message` (text as UTF-8, or bytes; at most 64 KiB) as an EIP-191 personal message with the
   * contract's key: `0x r ‖ s ‖ v`, 65 bytes, deterministic. viem's `verifyMessage` and Solidity's
   * `ECDSA.recover(MessageHashUtils.toEthSignedMessageHash(message), signature)` return
   * `ctx.contract.address`.
   */
  sign(message: string | Uint8Array): `0x${string}`
}

/** Read access to the contract's encrypted key-value store. */
export interface ReadonlyStorage {
  get<T extends Value = Value>(key: string): T | undefined
  has(key: string): boolean
}

/** Read-write access; writes become visible to later commands once the block commits. */
export interface Storage extends ReadonlyStorage {
  set(key: string, value: Value): void
  delete(key: string): boolean
}

export interface ContractLog {
  (...parts: unknown[]): void
  info(...parts: unknown[]): void
  warn(...parts: unknown[]): void
  error(...parts: unknown[]): void
}

/** The response of `ctx.http.fetch`: the parts of a fetch `Response` a contract needs. */
export interface HttpResponse {
  readonly status: number
  readonly statusText: string
  /** True for 2xx. */
  readonly ok: boolean
  /** The final URL, after redirects. */
  readonly url: string
  readonly redirected: boolean
  readonly headers: {
    get(name: string): string | null
    has(name: string): boolean
    entries(): Array<[string, string]>
    forEach(callback: (value: string, name: string) => void): void
  }
  text(): Promise<string>
  json<T = unknown>(): Promise<T>
  arrayBuffer(): Promise<ArrayBuffer>
  bytes(): Promise<Uint8Array>
}

export interface HttpRequestInit {
  /** GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS. */
  method?: string
  headers?: Record<string, string> | Array<[string, string]>
  body?: string | Uint8Array | ArrayBuffer
}

/**
 * Outbound HTTP(S), in queries and job runs only (a command calling it fails with NOT_ALLOWED). Public
 * addresses only, unless the operator allowlisted a host; TLS is always verified; 10 s per request, 2 MiB
 * per response, 8 requests in flight and 64 per invocation by default. Failures reject with an `Error`
 * named `FetchError` whose `code` says why (`EGRESS_REFUSED`, `TIMEOUT`, `RESPONSE_TOO_LARGE`, …).
 */
export interface Http {
  fetch(url: string, init?: HttpRequestInit): Promise<HttpResponse>
}

/**
 * EVM JSON-RPC on the endpoints the network names (`rpc` in network.json): `call` in queries and job
 * runs, `sendTransaction` in job runs only, signed with the contract's own key (`ctx.contract.address`).
 * Failures reject with an `Error` named `EvmError` whose `code` says why (`UNKNOWN_RPC`, `RPC_FAILED`).
 */
export interface Evm {
  /** `eth_call`: the returned data, 0x hex. */
  call(rpc: string, request: { to: Address; data: `0x${string}` }): Promise<`0x${string}`>
  /** Signs and sends a transaction from `ctx.contract.address`; resolves with its hash once accepted. */
  sendTransaction(
    rpc: string,
    tx: { to: Address; data?: `0x${string}`; value?: bigint; gas?: bigint },
  ): Promise<`0x${string}`>
}

/**
 * Jobs and timers, in init, commands and `apply`: recorded with the command, run later by one worker.
 * Ids are deterministic (`j1`, `t2`, …).
 */
export interface Jobs {
  /** Queues job `name` with `args`; one worker runs it, and every worker applies its outcome. */
  enqueue(name: string, args?: Value): string
  /** Runs job `name` every `seconds` (5 s to 1 year) from now; returns the timer id. */
  every(seconds: number, name: string, args?: Value): string
  /** Cancels a timer (or a queued job); false when there was none. */
  cancel(id: string): boolean
}

/** What a job's run() produced, as its `apply` receives it. */
export type JobOutcome<T = Value> =
  | { ok: true; value: T }
  | { ok: false; error: { code: string; message: string } }

interface BaseCtx {
  readonly contract: ContractInfo
  readonly log: ContractLog
  /** The contract's own keys: derived secrets and signatures by `ctx.contract.address`. */
  readonly keys: ContractKeys
}

/** What a command (and `init`) sees. Deterministic on every worker. */
export interface CommandCtx extends BaseCtx {
  /** The address that submitted the command transaction (the deployer for `init`). */
  readonly caller: Address
  readonly block: BlockInfo
  readonly storage: Storage
  /** Deterministic random bytes, seeded from the contract secret, block hash and command position. */
  random(length: number): Uint8Array
  /** Emits an event that subscribers and the command's receipt see. */
  emit(name: string, data?: Value): void
  /** Queues jobs and sets timers (see `Jobs`). */
  readonly jobs: Jobs
}

/** What a query sees. Read-only; real time and randomness. */
export interface QueryCtx extends BaseCtx {
  /** The address proven by the client's signature, or null for anonymous queries. */
  readonly caller: Address | null
  /** The block the worker's state reflects. */
  readonly block: BlockInfo
  readonly storage: ReadonlyStorage
  /** Cryptographically secure random bytes (not deterministic). */
  random(length: number): Uint8Array
  /** Outbound HTTP (see `Http`). */
  readonly http: Http
  /** The contract's secrets, set by its owner with `veil secrets set` (never in logs or receipts). */
  readonly secrets: Readonly<Record<string, string | undefined>>
  /** EVM JSON-RPC on the network's named endpoints (`call` only; `sendTransaction` is for jobs). */
  readonly evm: Evm
}

/** What a job's run() sees: a query's ctx on one worker, plus `ctx.evm.sendTransaction`. */
export interface JobCtx extends QueryCtx {
  /** Always null: a job runs on behalf of the contract. */
  readonly caller: null
}

/** What a job's apply() sees: a command's ctx; `caller` is the worker that submitted the outcome. */
export type ApplyCtx = CommandCtx

/** A job: `run` on one worker (HTTP, secrets), then `apply` of its outcome on every worker, in order. */
// biome-ignore lint/suspicious/noExplicitAny: argument and result types are inferred per job; `any` only bounds them.
export interface JobDefinition<A = any, R = any> {
  run(ctx: JobCtx, args: A): R | Promise<R>
  apply(ctx: ApplyCtx, outcome: JobOutcome<Awaited<R>>): unknown
}

// biome-ignore lint/suspicious/noExplicitAny: argument lists are inferred per method; `any` here only bounds them.
export type CommandHandler = (ctx: CommandCtx, ...args: any[]) => unknown
// biome-ignore lint/suspicious/noExplicitAny: as above.
export type QueryHandler = (ctx: QueryCtx, ...args: any[]) => unknown
// biome-ignore lint/suspicious/noExplicitAny: as above.
export type InitHandler = (ctx: CommandCtx, args: any) => unknown

export interface ContractDefinition<
  C extends Record<string, CommandHandler> = Record<string, CommandHandler>,
  Q extends Record<string, QueryHandler> = Record<string, QueryHandler>,
  I extends InitHandler | undefined = InitHandler | undefined,
  J extends Record<string, JobDefinition> = Record<string, JobDefinition>,
> {
  init: I
  commands: C
  queries: Q
  jobs: J
}

/**
 * Declares a contract. The object is returned unchanged; the function exists for its types, so that a
 * client can derive method names and argument types from `typeof MyContract`.
 *
 * @example
 * export default defineContract({
 *   init(ctx, args: { start: number }) { ctx.storage.set('n', args.start) },
 *   commands: { add(ctx, by: number) { const n = (ctx.storage.get<number>('n') ?? 0) + by; ctx.storage.set('n', n); return n } },
 *   queries: { get(ctx) { return ctx.storage.get<number>('n') ?? 0 } },
 * })
 */
export function defineContract<
  C extends Record<string, CommandHandler>,
  Q extends Record<string, QueryHandler>,
  I extends InitHandler | undefined,
  J extends Record<string, JobDefinition>,
>(definition: { init?: I; commands?: C; queries?: Q; jobs?: J }): ContractDefinition<C, Q, I, J> {
  for (const name of Object.keys(definition.queries ?? {})) {
    // Queries beginning with '$' are Veil's own (`$logs`): a contract's would be unreachable.
    if (name.startsWith('$'))
      throw new TypeError(`query "${name}": names beginning with "$" are reserved for Veil's system queries`)
  }
  for (const name of Object.keys(definition.commands ?? {})) {
    // So are commands (`$secrets`, `$job`).
    if (name.startsWith('$'))
      throw new TypeError(
        `command "${name}": names beginning with "$" are reserved for Veil's system commands`,
      )
  }
  for (const [name, job] of Object.entries(definition.jobs ?? {})) {
    if (typeof job?.run !== 'function' || typeof job?.apply !== 'function')
      throw new TypeError(`job "${name}" must have run(ctx, args) and apply(ctx, outcome)`)
  }
  return {
    init: definition.init as I,
    commands: definition.commands ?? ({} as C),
    queries: definition.queries ?? ({} as Q),
    jobs: definition.jobs ?? ({} as J),
  }
}

/** Drops the leading `ctx` parameter of a handler. */
type ArgsOf<F> = F extends (ctx: never, ...args: infer A) => unknown ? A : never

/** Client-side view of a contract's commands: `add(by: number) => Promise<number>`. */
export type CommandMethods<D> = D extends { commands: infer C extends Record<string, CommandHandler> }
  ? { [K in keyof C]: (...args: ArgsOf<C[K]>) => Promise<Awaited<ReturnType<C[K]>>> }
  : never

/** Client-side view of a contract's queries. */
export type QueryMethods<D> = D extends { queries: infer Q extends Record<string, QueryHandler> }
  ? { [K in keyof Q]: (...args: ArgsOf<Q[K]>) => Promise<Awaited<ReturnType<Q[K]>>> }
  : never

/** The `init` argument type of a contract, or `undefined` when it has none. */
export type InitArgs<D> = D extends { init: (ctx: never, args: infer A) => unknown } ? A : undefined
