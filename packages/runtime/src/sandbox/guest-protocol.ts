/**
 * The wire shapes between the host and the guest prelude. Types only: this file is imported by both
 * sides (the prelude is bundled separately and runs inside QuickJS), so it must not contain code.
 *
 * Everything crosses the boundary as strings, numbers, booleans or ArrayBuffers; the host never
 * receives a guest object.
 */

/**
 * `job` runs a job's `run` (one worker, like a query: read-only, HTTP and secrets allowed); `apply` runs
 * its `apply` with the outcome (every worker, in ledger order, like a command).
 */
export type InvocationKind = 'init' | 'command' | 'query' | 'job' | 'apply'

/** The first argument of the guest dispatcher, JSON-encoded. The arguments text is the second. */
export interface InvocationDescriptor {
  readonly kind: InvocationKind
  readonly method: string
  readonly contractId: string
  readonly caller: string | null
  /** `ctx.contract.address`: the contract's EIP-55 address, or null when the host has no keys for it. */
  readonly contractAddress: string | null
  readonly block: { readonly number: string; readonly timestamp: number; readonly hash: string }
  /**
   * Seed of the guest's Math.random generator: four unsigned 32-bit words as 32 hex digits (fixed width,
   * so that the cost of parsing the descriptor does not depend on the seed).
   */
  readonly mathRandomSeed: string
  readonly maxResultBytes: number
}

/** What the guest reports through `fail`, JSON-encoded. */
export type GuestFailure =
  | {
      readonly type: 'thrown'
      readonly name: string
      readonly message: string
      readonly stack: string
      /** The thrown value was not an Error object. */
      readonly nonError: boolean
    }
  | { readonly type: 'invalid-arguments'; readonly message: string }
  | { readonly type: 'invalid-result'; readonly message: string }
  | { readonly type: 'unknown-method'; readonly message: string }

/** The contract's method tables, returned (JSON-encoded) by the guest's `describe` after loading. */
export interface ContractShape {
  readonly commands: readonly string[]
  readonly queries: readonly string[]
  readonly hasInit: boolean
  /** Jobs that define both `run` and `apply`. */
  readonly jobs: readonly string[]
}

/**
 * Host functions the engine installs as `globalThis.__veilHost` before the prelude runs. The prelude
 * captures them and deletes the global, so contract code never sees them.
 */
export interface GuestHost {
  storageGet(key: string): string | undefined
  storageHas(key: string): boolean
  storageSet(key: string, valueText: string): void
  storageDelete(key: string): boolean
  emit(name: string, dataText: string): void
  log(level: string, message: string): void
  randomBytes(length: number): ArrayBuffer
  /** `ctx.keys.derive`: 32 bytes derived from the contract secret under `path`. */
  keysDerive(path: string): ArrayBuffer
  /**
   * `ctx.keys.sign`: the EIP-191 signature (0x hex) of `message`, which is the text itself for 'text',
   * or the bytes as a Latin-1 string (one character per byte) for 'bytes'.
   */
  keysSign(format: 'text' | 'bytes', message: string): string
  /** `ctx.secrets` (queries and jobs): a JSON object of the contract's secrets. */
  secrets(): string
  /**
   * A side effect of a command (`ctx.jobs.*`): `op` is 'enqueue' | 'every' | 'cancel', `json` its JSON
   * arguments. Returns the job or timer id ('enqueue', 'every') or 'true'/'false' ('cancel').
   */
  jobs(op: string, json: string): string
  /**
   * Host I/O the guest awaits (`ctx.http.fetch`, `ctx.evm.*`): `op` is 'fetch' | 'evmCall' | 'evmSend',
   * `json` the request, `body` a request body. Resolves with a JSON text (for 'fetch', the body separately:
   * `[json, ArrayBuffer]`), rejects with an Error whose name is the failure's code.
   */
  io(op: string, json: string, body: ArrayBuffer | undefined): Promise<unknown>
  /** Reports success with the encoded result. */
  succeed(resultText: string): void
  /** Reports failure with a JSON `GuestFailure`. */
  fail(failureJson: string): void
}

/** What the prelude leaves in `globalThis.__veilPrelude` for the host to pick up (and delete). */
export interface PreludeExports {
  /** Reads `__veilModule` after the bundle ran; returns a JSON `ContractShape` or throws. */
  describe(): string
  /** Runs one invocation; reports through `GuestHost.succeed`/`fail` (possibly after promise jobs). */
  dispatch(descriptorJson: string, argsText: string): void
}
