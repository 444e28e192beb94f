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
> {
  init: I
  commands: C
  queries: Q
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
>(definition: { init?: I; commands?: C; queries?: Q }): ContractDefinition<C, Q, I> {
  for (const name of Object.keys(definition.queries ?? {})) {
    // Queries beginning with '$' are Veil's own (`$logs`): a contract's would be unreachable.
    if (name.startsWith('$'))
      throw new TypeError(`query "${name}": names beginning with "$" are reserved for Veil's system queries`)
  }
  return {
    init: definition.init as I,
    commands: definition.commands ?? ({} as C),
    queries: definition.queries ?? ({} as Q),
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
