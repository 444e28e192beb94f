/**
 * Host-side state of one running invocation: the "current invocation" the instance's host functions
 * (created once, before the snapshot) delegate to. It validates what the guest asks for, charges fuel
 * before doing anything, forwards effects to the caller's `InvocationHost`, and records the outcome.
 */
import { isContractUserKeyPath } from '@veil/crypto'
import { VeilError } from '@veil/protocol'
import {
  MAX_EVENT_DATA_BYTES,
  MAX_EVENT_NAME_BYTES,
  MAX_KEY_PATH_CHARS,
  MAX_LOG_MESSAGE_CHARS,
  MAX_RANDOM_BYTES,
  MAX_SIGN_MESSAGE_BYTES,
  MAX_STORAGE_KEY_BYTES,
  MAX_STORAGE_VALUE_BYTES,
} from './constants.js'
import { NotAllowedError } from './errors.js'
import type { FuelMeter } from './fuel.js'
import type { InvocationDescriptor } from './guest-protocol.js'
import { FUEL_COSTS, type SandboxLimits } from './limits.js'
import type { RandomSource } from './random.js'
import type { ContractKeyHost, InvocationHost } from './types.js'
import { canonicalValueProblem, utf8Length } from './value-check.js'

const utf8 = new TextEncoder()
const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const HEX_DATA = /^0x(?:[0-9a-fA-F]{2})*$/
const SIGNATURE_HEX = /^0x[0-9a-f]{130}$/
// Byte messages arrive one character (U+0000–U+00FF) per byte (see the prelude's `bytesText`).
const NOT_BYTE_TEXT = /[^\0-\xff]/
// Only unpaired surrogates match: UTF-8 cannot encode them, so a key holding one cannot be stored as
// itself (the state store refuses it) and a text message would be signed as something else.
const LONE_SURROGATE = /\p{Cs}/u

/** An error the guest sees (thrown into QuickJS with this name and message). */
export class GuestError extends Error {
  constructor(name: string, message: string) {
    super(message)
    this.name = name
  }
}

export type GuestOutcome = { ok: true; resultText: string } | { ok: false; failureJson: string }

export interface InvocationInit {
  readonly descriptor: InvocationDescriptor
  readonly argsText: string
  readonly limits: SandboxLimits
  readonly host: InvocationHost
  readonly meter: FuelMeter
  /** ctx.random bytes: deterministic for commands, real for queries. */
  readonly random: RandomSource
  /** What `Date.now()` returns inside the sandbox. */
  readonly now: () => number
  /** The contract's keys (`ctx.keys`); without them `ctx.keys` throws. */
  readonly keys?: ContractKeyHost | undefined
}

export class InvocationState {
  readonly descriptor: InvocationDescriptor
  readonly argsText: string
  readonly limits: SandboxLimits
  readonly now: () => number
  outcome: GuestOutcome | undefined
  /** A rule the contract broke; it fails the invocation even if the contract caught the error. */
  violation: NotAllowedError | undefined
  /** A failure of the caller's own callbacks (storage, emit, log). */
  hostFailure: unknown
  private readonly host: InvocationHost
  private readonly meter: FuelMeter
  private readonly random: RandomSource
  private readonly keys: ContractKeyHost | undefined
  private readonly hostTasks: Promise<void>[] = []

  constructor(init: InvocationInit) {
    this.descriptor = init.descriptor
    this.argsText = init.argsText
    this.limits = init.limits
    this.host = init.host
    this.meter = init.meter
    this.random = init.random
    this.now = init.now
    this.keys = init.keys
  }

  private get writable(): boolean {
    const kind = this.descriptor.kind
    return kind === 'init' || kind === 'command' || kind === 'apply'
  }

  /** Queries and job runs: one worker, so they may reach the outside world (HTTP, secrets, RPC). */
  private get offChain(): boolean {
    return this.descriptor.kind === 'query' || this.descriptor.kind === 'job'
  }

  private onlyOffChain(what: string): void {
    if (this.offChain) return
    this.violation ??= new NotAllowedError(
      `${what} is not allowed in ${this.kindName()}: every worker replays it, so it must be deterministic. Use it in a query, or in a job (ctx.jobs.enqueue) whose apply() records the outcome.`,
    )
    throw new GuestError('NotAllowedError', this.violation.details ?? what)
  }

  private kindName(): string {
    const kind = this.descriptor.kind
    return kind === 'apply' ? "a job's apply()" : kind === 'job' ? "a job's run()" : `a ${kind}`
  }

  private charge(amount: number): void {
    if (!this.meter.charge(amount)) throw new GuestError('InternalError', 'out of fuel')
  }

  private notAllowed(what: string): never {
    this.violation ??= new NotAllowedError(
      `${what} is not allowed in ${this.kindName()}: ${this.descriptor.kind === 'job' ? 'run() is read-only; write in apply(), which receives its outcome' : 'queries are read-only'}.`,
    )
    throw new GuestError('NotAllowedError', this.violation.details ?? what)
  }

  private checkOpen(): void {
    if (this.outcome) throw new GuestError('Error', 'The invocation already finished')
  }

  private callHost<T>(call: () => T): T {
    try {
      return call()
    } catch (error) {
      this.hostFailure ??= error
      throw new GuestError('Error', 'The host failed to serve this call')
    }
  }

  private checkKey(key: string): number {
    if (LONE_SURROGATE.test(key)) {
      throw new GuestError(
        'TypeError',
        'Storage keys must be well-formed Unicode: this one contains an unpaired UTF-16 surrogate',
      )
    }
    const bytes = utf8Length(key)
    if (bytes > MAX_STORAGE_KEY_BYTES) {
      throw new GuestError(
        'RangeError',
        `Storage keys are at most ${MAX_STORAGE_KEY_BYTES} bytes (got ${bytes})`,
      )
    }
    return bytes
  }

  private checkValue(text: string, maxBytes: number, what: string): number {
    const bytes = utf8Length(text)
    if (bytes > maxBytes)
      throw new GuestError('RangeError', `${what} is ${bytes} bytes encoded, more than ${maxBytes}`)
    const problem = canonicalValueProblem(text)
    if (problem) throw new GuestError('TypeError', `${what} is not a valid value encoding: ${problem}`)
    return bytes
  }

  storageGet(key: string): string | undefined {
    this.checkOpen()
    this.charge(FUEL_COSTS.hostCall)
    this.checkKey(key)
    const text = this.callHost(() => this.host.storage.get(key))
    if (text !== undefined && typeof text !== 'string') {
      this.hostFailure ??= new TypeError(`storage.get returned a ${typeof text}, not a string`)
      throw new GuestError('Error', 'The host failed to serve this call')
    }
    if (text !== undefined) this.charge(utf8Length(text) * FUEL_COSTS.readByte)
    return text
  }

  storageHas(key: string): boolean {
    this.checkOpen()
    this.charge(FUEL_COSTS.hostCall)
    this.checkKey(key)
    return this.callHost(() => this.host.storage.get(key)) !== undefined
  }

  storageSet(key: string, valueText: string): void {
    this.checkOpen()
    if (!this.writable) this.notAllowed('ctx.storage.set')
    this.charge(FUEL_COSTS.hostCall)
    const keyBytes = this.checkKey(key)
    const valueBytes = this.checkValue(
      valueText,
      MAX_STORAGE_VALUE_BYTES,
      `The value of storage key "${key}"`,
    )
    this.charge((keyBytes + valueBytes) * FUEL_COSTS.storedByte)
    this.callHost(() => this.host.storage.set(key, valueText))
  }

  storageDelete(key: string): boolean {
    this.checkOpen()
    if (!this.writable) this.notAllowed('ctx.storage.delete')
    this.charge(FUEL_COSTS.hostCall)
    this.checkKey(key)
    return this.callHost(() => this.host.storage.delete(key))
  }

  emit(name: string, dataText: string): void {
    this.checkOpen()
    if (!this.writable) this.notAllowed('ctx.emit')
    this.charge(FUEL_COSTS.hostCall)
    const nameBytes = utf8Length(name)
    if (nameBytes === 0 || nameBytes > MAX_EVENT_NAME_BYTES) {
      throw new GuestError('RangeError', `Event names must have 1 to ${MAX_EVENT_NAME_BYTES} bytes`)
    }
    const dataBytes = this.checkValue(dataText, MAX_EVENT_DATA_BYTES, `The data of event "${name}"`)
    this.charge((nameBytes + dataBytes) * FUEL_COSTS.storedByte)
    const emit = this.host.emit
    if (emit) this.callHost(() => emit.call(this.host, name, dataText))
  }

  log(level: 'info' | 'warn' | 'error', message: string): void {
    this.checkOpen()
    this.charge(FUEL_COSTS.hostCall)
    const bounded = message.length > MAX_LOG_MESSAGE_CHARS ? message.slice(0, MAX_LOG_MESSAGE_CHARS) : message
    this.charge(utf8Length(bounded) * FUEL_COSTS.storedByte)
    const log = this.host.log
    if (log) this.callHost(() => log.call(this.host, level, this.redact(bounded)))
  }

  randomBytes(length: number): Uint8Array {
    this.checkOpen()
    this.charge(FUEL_COSTS.hostCall)
    if (!Number.isInteger(length) || length < 0 || length > MAX_RANDOM_BYTES) {
      throw new GuestError('RangeError', `At most ${MAX_RANDOM_BYTES} random bytes per call`)
    }
    this.charge(length * FUEL_COSTS.readByte)
    return this.random(length)
  }

  /** `ctx.keys.derive(path)`: 32 bytes, the same on every worker, in commands and in queries. */
  keysDerive(path: string): Uint8Array {
    this.checkOpen()
    this.charge(FUEL_COSTS.hostCall)
    if (!isContractUserKeyPath(path)) {
      throw new GuestError(
        'RangeError',
        `ctx.keys.derive(path): the path must be 1 to ${MAX_KEY_PATH_CHARS} printable ASCII characters other than space, in non-empty '/'-separated segments (like "wallets/0"), got ${JSON.stringify(path.slice(0, 64))}${path.length > 64 ? '…' : ''}`,
      )
    }
    this.charge(FUEL_COSTS.keyDerivation)
    const keys = this.contractKeys('ctx.keys.derive')
    const key = this.callHost(() => keys.derive(path))
    if (!(key instanceof Uint8Array) || key.length !== 32) {
      this.hostFailure ??= new TypeError('keys.derive did not return 32 bytes')
      throw new GuestError('Error', 'The host failed to serve this call')
    }
    return key
  }

  /**
   * `ctx.keys.sign(message)`: the EIP-191 signature of the message (text as UTF-8, or bytes passed one
   * character per byte) with the contract's key. RFC 6979, so the same on every worker.
   */
  keysSign(format: 'text' | 'bytes', message: string): `0x${string}` {
    this.checkOpen()
    this.charge(FUEL_COSTS.hostCall)
    if (format === 'bytes' && NOT_BYTE_TEXT.test(message)) {
      throw new GuestError('TypeError', 'ctx.keys.sign: a byte message must have one character per byte')
    }
    if (format === 'text' && LONE_SURROGATE.test(message)) {
      throw new GuestError(
        'TypeError',
        'ctx.keys.sign(message): the text contains an unpaired UTF-16 surrogate',
      )
    }
    const length = format === 'bytes' ? message.length : utf8Length(message)
    if (length > MAX_SIGN_MESSAGE_BYTES) {
      throw new GuestError(
        'RangeError',
        `ctx.keys.sign(message): messages are at most ${MAX_SIGN_MESSAGE_BYTES} bytes (got ${length})`,
      )
    }
    this.charge(FUEL_COSTS.signature + length * FUEL_COSTS.signedByte)
    const keys = this.contractKeys('ctx.keys.sign')
    // Every unit of a byte message is at most U+00FF: 'latin1' maps each to the byte it stands for.
    const bytes = format === 'bytes' ? new Uint8Array(Buffer.from(message, 'latin1')) : utf8.encode(message)
    const signature = this.callHost(() => keys.sign(bytes))
    if (typeof signature !== 'string' || !SIGNATURE_HEX.test(signature)) {
      this.hostFailure ??= new TypeError('keys.sign did not return a 65-byte lowercase 0x hex signature')
      throw new GuestError('Error', 'The host failed to serve this call')
    }
    return signature as `0x${string}`
  }

  private contractKeys(what: string): ContractKeyHost {
    if (this.keys) return this.keys
    throw new GuestError('Error', `${what} is not available: this host runs the contract without its keys`)
  }

  /** Secret values (at least 4 characters) to redact from log lines and error messages, longest first. */
  private redactions: Array<[string, string]> | undefined

  /** `ctx.secrets`: a JSON object; only in queries and job runs. */
  secretsJson(): string {
    this.checkOpen()
    this.onlyOffChain('ctx.secrets')
    this.charge(FUEL_COSTS.hostCall)
    const secrets = this.host.secrets ? this.callHost(() => this.host.secrets?.() ?? {}) : {}
    return JSON.stringify(secrets)
  }

  /** Replaces every secret value in `text` with `[secret NAME]`. */
  redact(text: string): string {
    if (!this.host.secrets || !this.offChain) return text
    if (this.redactions === undefined) {
      let secrets: Readonly<Record<string, string>> = {}
      try {
        secrets = this.host.secrets()
      } catch {
        // Reported when the contract reads ctx.secrets; nothing to redact here.
      }
      this.redactions = Object.entries(secrets)
        .filter(([, value]) => typeof value === 'string' && value.length >= 4)
        .sort((a, b) => b[1].length - a[1].length)
        .map(([name, value]) => [value, `[secret ${name}]`])
    }
    let out = text
    for (const [value, mask] of this.redactions) if (out.includes(value)) out = out.split(value).join(mask)
    return out
  }

  /** `ctx.jobs.enqueue/every/cancel`: only where state may change (init, commands, apply). */
  jobs(op: string, json: string): string {
    this.checkOpen()
    if (!this.writable) this.notAllowed(`ctx.jobs.${op}`)
    this.charge(FUEL_COSTS.hostCall + utf8Length(json) * FUEL_COSTS.storedByte)
    const jobs = this.host.jobs
    if (!jobs) throw new GuestError('Error', 'ctx.jobs is not available on this host')
    let request: { name?: unknown; args?: unknown; seconds?: unknown; id?: unknown }
    try {
      request = JSON.parse(json) as typeof request
    } catch {
      throw new GuestError('TypeError', 'ctx.jobs: malformed request')
    }
    const guestVisible = <T>(call: () => T): T => {
      try {
        return call()
      } catch (error) {
        if (error instanceof VeilError) throw new GuestError('RangeError', error.message)
        this.hostFailure ??= error
        throw new GuestError('Error', 'The host failed to serve this call')
      }
    }
    if (op === 'cancel') {
      if (typeof request.id !== 'string')
        throw new GuestError('TypeError', 'ctx.jobs.cancel(id) expects a string id')
      const id = request.id
      return String(guestVisible(() => jobs.cancel(id)))
    }
    const name = request.name
    const argsText = request.args
    if (typeof name !== 'string' || typeof argsText !== 'string') {
      throw new GuestError('TypeError', 'ctx.jobs: expected a job name and arguments')
    }
    this.checkValue(argsText, MAX_STORAGE_VALUE_BYTES, `The arguments of job "${name}"`)
    if (op === 'enqueue') return guestVisible(() => jobs.enqueue(name, argsText))
    if (op === 'every') {
      const seconds = request.seconds
      if (typeof seconds !== 'number')
        throw new GuestError('TypeError', 'ctx.jobs.every(seconds, …) expects a number')
      return guestVisible(() => jobs.every(seconds, name, argsText))
    }
    throw new GuestError('TypeError', `Unknown jobs operation ${JSON.stringify(op.slice(0, 16))}`)
  }

  /**
   * Host I/O the guest awaits: `fetch` and `evmCall` in queries and job runs, `evmSend` in job runs.
   * Refusals that depend only on the call (not allowed here) throw synchronously; everything else
   * settles the returned promise (a `GuestError` for the guest to see).
   */
  io(op: string, json: string, body: Uint8Array | undefined): Promise<{ json: string; body?: Uint8Array }> {
    this.checkOpen()
    const what =
      op === 'fetch' ? 'ctx.http.fetch' : op === 'evmCall' ? 'ctx.evm.call' : 'ctx.evm.sendTransaction'
    this.onlyOffChain(what)
    if (op === 'evmSend' && this.descriptor.kind !== 'job') {
      this.violation ??= new NotAllowedError(
        "ctx.evm.sendTransaction is only allowed in a job's run(): a query must not change anything, on or off chain.",
      )
      throw new GuestError('NotAllowedError', this.violation.details ?? what)
    }
    this.charge(FUEL_COSTS.hostCall + (body?.length ?? 0) * FUEL_COSTS.readByte)
    let request: Record<string, unknown>
    try {
      request = JSON.parse(json) as Record<string, unknown>
    } catch {
      throw new GuestError('TypeError', `${what}: malformed request`)
    }
    const failure = (error: unknown): never => {
      if (error instanceof VeilError) {
        const name = op === 'fetch' ? 'FetchError' : 'EvmError'
        throw new GuestError(name, `${error.code ?? 'FAILED'}: ${this.redact(error.message)}`)
      }
      this.hostFailure ??= error
      throw new GuestError('Error', 'The host failed to serve this call')
    }
    if (op === 'fetch') {
      const fetch = this.host.fetch
      if (!fetch)
        return Promise.reject(new GuestError('FetchError', 'UNAVAILABLE: this host has no HTTP egress'))
      const headers: Record<string, string> = {}
      const given = request.headers
      if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
        throw new GuestError('TypeError', `${what}: headers must be an object of strings`)
      }
      for (const [key, value] of Object.entries((given ?? {}) as Record<string, unknown>)) {
        if (typeof value !== 'string')
          throw new GuestError('TypeError', `${what}: header "${key}" must be a string`)
        headers[key] = value
      }
      if (typeof request.url !== 'string')
        throw new GuestError('TypeError', `${what}: the URL must be a string`)
      const call = {
        url: request.url,
        method: typeof request.method === 'string' ? request.method : 'GET',
        headers,
        ...(body ? { body } : {}),
      }
      return fetch.call(this.host, call).then((response) => {
        this.charge(response.body.length * FUEL_COSTS.readByte)
        const meta = {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
          url: response.url,
          redirected: response.redirected,
        }
        return { json: JSON.stringify(meta), body: response.body }
      }, failure)
    }
    const evm = this.host.evm
    if (!evm) return Promise.reject(new GuestError('EvmError', 'UNAVAILABLE: this host has no EVM endpoints'))
    const rpc = request.rpc
    if (typeof rpc !== 'string')
      throw new GuestError('TypeError', `${what}(rpc, …): rpc must be the name of an endpoint`)
    const to = request.to
    const data = request.data ?? '0x'
    if (typeof to !== 'string' || !ADDRESS.test(to))
      throw new GuestError('TypeError', `${what}: to must be a 0x-prefixed 20-byte address`)
    if (typeof data !== 'string' || !HEX_DATA.test(data))
      throw new GuestError('TypeError', `${what}: data must be 0x-prefixed hex bytes`)
    if (op === 'evmCall') {
      return evm
        .call(rpc, { to: to as `0x${string}`, data: data as `0x${string}` })
        .then((result) => ({ json: JSON.stringify(result) }), failure)
    }
    const value = request.value ?? '0'
    const gas = request.gas
    if (typeof value !== 'string' || !/^[0-9]{1,78}$/.test(value))
      throw new GuestError('TypeError', `${what}: value must be a non-negative integer (wei)`)
    if (gas !== undefined && (typeof gas !== 'string' || !/^[0-9]{1,20}$/.test(gas)))
      throw new GuestError('TypeError', `${what}: gas must be a non-negative integer`)
    return evm
      .sendTransaction(rpc, {
        to: to as `0x${string}`,
        data: data as `0x${string}`,
        value: BigInt(value),
        ...(gas ? { gas: BigInt(gas) } : {}),
      })
      .then((hash) => ({ json: JSON.stringify(hash) }), failure)
  }

  /**
   * Registers host work a guest promise waits on. The seam for promise-returning host functions (a
   * future `ctx.http.fetch`): such a function returns a guest promise, starts the host work, resolves the
   * guest promise from the task, and tracks the task here so the instance awaits it within the deadline.
   */
  trackHostTask(task: Promise<unknown>): void {
    this.hostTasks.push(
      task.then(
        () => undefined,
        () => undefined,
      ),
    )
  }

  /** The oldest host task still to await, if any. */
  nextHostTask(): Promise<void> | undefined {
    return this.hostTasks.shift()
  }

  succeed(resultText: string): void {
    this.checkOpen()
    this.outcome = { ok: true, resultText }
  }

  fail(failureJson: string): void {
    this.checkOpen()
    this.outcome = { ok: false, failureJson: this.redact(failureJson) }
  }
}
