/**
 * The guest prelude: evaluated in every sandbox instance before the contract bundle, once, before the
 * memory snapshot. It
 *
 * - captures the host functions (`__veilHost`) and removes them from the global object,
 * - installs what bundled npm code commonly expects: TextEncoder/TextDecoder, atob/btoa, console,
 *   crypto.getRandomValues/randomUUID, queueMicrotask, self; and a seeded Math.random,
 * - exposes `describe` and `dispatch` to the host through `__veilPrelude` (which the host deletes).
 *
 * Values are encoded and decoded here with the very same `@veil/protocol` source the host uses, so a
 * result's getters, toJSON, Proxy traps and toString run inside the sandbox, under its limits.
 */
import { decodeValue, encodeValue } from '@veil/protocol'
import {
  KEY_PATH_PATTERN,
  MAX_KEY_PATH_CHARS,
  MAX_LOG_MESSAGE_CHARS,
  MAX_RANDOM_BYTES,
  MAX_SIGN_MESSAGE_BYTES,
} from '../constants.js'
import type {
  ContractShape,
  GuestFailure,
  GuestHost,
  InvocationDescriptor,
  PreludeExports,
} from '../guest-protocol.js'
import { atob, btoa } from './base64.js'
import { formatLogMessage } from './inspect.js'
import { Xoshiro128 } from './prng.js'
import { SandboxTextDecoder, SandboxTextEncoder } from './text.js'
import { describeThrown } from './thrown.js'

type Handler = (this: unknown, ...args: unknown[]) => unknown

interface JobDefinition {
  readonly run: Handler
  readonly apply: Handler
}

interface Definition {
  readonly init: Handler | undefined
  readonly commands: Readonly<Record<string, Handler>>
  readonly queries: Readonly<Record<string, Handler>>
  readonly jobs: Readonly<Record<string, JobDefinition>>
}

const global = globalThis as unknown as Record<string, unknown>
const host = global.__veilHost as GuestHost
delete global.__veilHost

// Contract code runs after this file and may replace built-ins; keep the few the dispatcher relies on.
const { apply } = Reflect
const promiseThen = Promise.prototype.then
const promiseResolve = Promise.resolve.bind(Promise)
const jsonParse = JSON.parse
const jsonStringify = JSON.stringify
const isArray = Array.isArray
const fromCharCode = String.fromCharCode
const stringReplace = String.prototype.replace
const regexpTest = RegExp.prototype.test
const ByteArray = Uint8Array
const subarray = Uint8Array.prototype.subarray
const LONE_SURROGATE = /\p{Cs}/u
// Units that are 2 and 3 bytes in UTF-8 (well-formed text: a surrogate pair is 2 + 2 bytes).
const TWO_OR_MORE_BYTES = /[^\0-\x7f]/g
const THREE_BYTES = /[\u0800-\ud7ff\ue000-\uffff]/g
/** Bytes per `String.fromCharCode` call: bounds the arguments QuickJS puts on its stack. */
const BYTES_PER_CHUNK = 1024

/** True while a handler may call the host (between dispatch and finish). */
let active = false
let definition: Definition | undefined
const prng = new Xoshiro128([0, 0, 0, 0])

function defineGlobal(name: string, value: unknown): void {
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false })
}

function writeLog(level: 'info' | 'warn' | 'error', parts: readonly unknown[]): void {
  host.log(level, formatLogMessage(parts, MAX_LOG_MESSAGE_CHARS))
}

function randomBytes(length: number): Uint8Array {
  if (!active) {
    // Bytes drawn while the module loads would be baked into the snapshot and repeat in every call.
    throw new Error('Randomness is not available while the contract module loads; draw it inside a handler')
  }
  return new Uint8Array(host.randomBytes(length))
}

Object.defineProperty(Math, 'random', {
  value: function random(): number {
    return prng.nextDouble()
  },
  writable: true,
  configurable: true,
  enumerable: false,
})

defineGlobal('TextEncoder', SandboxTextEncoder)
defineGlobal('TextDecoder', SandboxTextDecoder)
defineGlobal('atob', atob)
defineGlobal('btoa', btoa)
defineGlobal('self', globalThis)
defineGlobal('queueMicrotask', (callback: unknown): void => {
  if (typeof callback !== 'function') throw new TypeError('queueMicrotask expects a function')
  apply(promiseThen, promiseResolve(undefined), [callback])
})

const consoleLog = (level: 'info' | 'warn' | 'error') =>
  function log(...parts: unknown[]): void {
    if (active) writeLog(level, parts)
  }
defineGlobal(
  'console',
  Object.freeze({
    log: consoleLog('info'),
    info: consoleLog('info'),
    debug: consoleLog('info'),
    warn: consoleLog('warn'),
    error: consoleLog('error'),
  }),
)

const INTEGER_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  BigInt64Array,
  BigUint64Array,
]

defineGlobal(
  'crypto',
  Object.freeze({
    getRandomValues<T extends ArrayBufferView>(array: T): T {
      if (!INTEGER_ARRAYS.some((kind) => array instanceof kind)) {
        throw new TypeError('getRandomValues expects an integer typed array')
      }
      if (array.byteLength > MAX_RANDOM_BYTES) {
        const error = new Error(`getRandomValues can fill at most ${MAX_RANDOM_BYTES} bytes`)
        error.name = 'QuotaExceededError'
        throw error
      }
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(randomBytes(array.byteLength))
      return array
    },
    randomUUID(): string {
      const b = randomBytes(16)
      b[6] = ((b[6] as number) & 0x0f) | 0x40
      b[8] = ((b[8] as number) & 0x3f) | 0x80
      let hex = ''
      for (let i = 0; i < 16; i++) hex += ((b[i] as number) + 0x100).toString(16).slice(1)
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    },
  }),
)

function matches(pattern: RegExp, text: string): boolean {
  return apply(regexpTest, pattern, [text]) as boolean
}

function withoutMatches(text: string, pattern: RegExp): string {
  return apply(stringReplace, text, [pattern, '']) as string
}

/** Bytes as a string for `GuestHost.keysSign`: one character (U+0000–U+00FF) per byte. Native work only. */
function bytesText(bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i += BYTES_PER_CHUNK) {
    out += apply(fromCharCode, null, apply(subarray, bytes, [i, i + BYTES_PER_CHUNK]) as Uint8Array)
  }
  return out
}

const keys = Object.freeze({
  derive(path: unknown): Uint8Array {
    if (typeof path !== 'string')
      throw new TypeError('ctx.keys.derive(path) expects a string, like "wallets/0"')
    if (path.length > MAX_KEY_PATH_CHARS || !matches(KEY_PATH_PATTERN, path)) {
      throw new RangeError(
        `ctx.keys.derive(path): the path must be 1 to ${MAX_KEY_PATH_CHARS} printable ASCII characters other than space, in non-empty '/'-separated segments (like "wallets/0"), got ${jsonStringify(path.length > 64 ? `${path.slice(0, 64)}…` : path)}`,
      )
    }
    return new ByteArray(host.keysDerive(path))
  },
  sign(message: unknown): string {
    if (typeof message === 'string') {
      // UTF-8 has no encoding for a lone surrogate (TextEncoder would sign U+FFFD instead): refuse it.
      if (message.length <= MAX_SIGN_MESSAGE_BYTES && matches(LONE_SURROGATE, message)) {
        throw new TypeError('ctx.keys.sign(message): the text contains an unpaired UTF-16 surrogate')
      }
      const length =
        message.length > MAX_SIGN_MESSAGE_BYTES
          ? message.length
          : message.length +
            (message.length - withoutMatches(message, TWO_OR_MORE_BYTES).length) +
            (message.length - withoutMatches(message, THREE_BYTES).length)
      if (length > MAX_SIGN_MESSAGE_BYTES) {
        throw new RangeError(
          `ctx.keys.sign(message): messages are at most ${MAX_SIGN_MESSAGE_BYTES} bytes (got ${length}${message.length > MAX_SIGN_MESSAGE_BYTES ? ' characters' : ' UTF-8 bytes'})`,
        )
      }
      return host.keysSign('text', message)
    }
    if (message instanceof ByteArray) {
      if (message.length > MAX_SIGN_MESSAGE_BYTES) {
        throw new RangeError(
          `ctx.keys.sign(message): messages are at most ${MAX_SIGN_MESSAGE_BYTES} bytes (got ${message.length})`,
        )
      }
      return host.keysSign('bytes', bytesText(message))
    }
    throw new TypeError('ctx.keys.sign(message) expects a string or a Uint8Array')
  },
})

function checkKey(key: unknown): string {
  if (typeof key !== 'string') throw new TypeError('Storage keys must be strings')
  return key
}

const textDecoder = new SandboxTextDecoder()
const textEncoder = new SandboxTextEncoder()
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']

/** Rethrows a host I/O failure with its code (`FetchError: EGRESS_REFUSED: …` → `error.code`). */
function withCode(error: unknown): never {
  if (error instanceof Error && typeof error.message === 'string') {
    const colon = error.message.indexOf(': ')
    const code = colon > 0 ? error.message.slice(0, colon) : ''
    if (/^[A-Z][A-Z0-9_]*$/.test(code)) {
      Object.defineProperty(error, 'code', { value: code, enumerable: true })
    }
  }
  throw error
}

/** The headers of a `ctx.http.fetch` response: `get` (case-insensitive, joined with ', '), `has`, entries. */
class ResponseHeaders {
  readonly #entries: Array<[string, string]>
  constructor(entries: Array<[string, string]>) {
    this.#entries = entries.map(([k, v]) => [k.toLowerCase(), v])
  }
  get(name: string): string | null {
    const key = String(name).toLowerCase()
    const values = this.#entries.filter(([k]) => k === key).map(([, v]) => v)
    return values.length === 0 ? null : values.join(', ')
  }
  has(name: string): boolean {
    return this.get(name) !== null
  }
  entries(): Array<[string, string]> {
    return this.#entries.map(([k, v]) => [k, v])
  }
  forEach(callback: (value: string, key: string) => void): void {
    for (const [k, v] of this.#entries) callback(v, k)
  }
}

/** What `ctx.http.fetch` resolves with: the parts of a fetch `Response` a contract needs. */
class FetchResponse {
  readonly status: number
  readonly statusText: string
  readonly ok: boolean
  readonly url: string
  readonly redirected: boolean
  readonly headers: ResponseHeaders
  readonly #body: Uint8Array
  constructor(
    meta: {
      status: number
      statusText: string
      headers: Array<[string, string]>
      url: string
      redirected: boolean
    },
    body: Uint8Array,
  ) {
    this.status = meta.status
    this.statusText = meta.statusText
    this.ok = meta.status >= 200 && meta.status < 300
    this.url = meta.url
    this.redirected = meta.redirected
    this.headers = new ResponseHeaders(meta.headers)
    this.#body = body
  }
  async text(): Promise<string> {
    return textDecoder.decode(this.#body)
  }
  async json(): Promise<unknown> {
    return jsonParse(textDecoder.decode(this.#body))
  }
  async arrayBuffer(): Promise<ArrayBuffer> {
    return this.#body.slice().buffer
  }
  async bytes(): Promise<Uint8Array> {
    return this.#body.slice()
  }
}

function fetchFromGuest(url: unknown, init?: unknown): Promise<FetchResponse> {
  if (typeof url !== 'string') throw new TypeError('ctx.http.fetch(url, init?) expects the URL as a string')
  const options = (init ?? {}) as { method?: unknown; headers?: unknown; body?: unknown }
  if (typeof options !== 'object' || options === null)
    throw new TypeError('ctx.http.fetch: init must be an object')
  const method = options.method === undefined ? 'GET' : String(options.method).toUpperCase()
  if (!HTTP_METHODS.includes(method)) {
    throw new TypeError(
      `ctx.http.fetch: unsupported method ${jsonStringify(method)} (use one of ${HTTP_METHODS.join(', ')})`,
    )
  }
  const headers: Record<string, string> = {}
  const given = options.headers
  if (given !== undefined) {
    if (given === null || typeof given !== 'object')
      throw new TypeError('ctx.http.fetch: headers must be an object of strings')
    const pairs = isArray(given)
      ? (given as unknown[])
      : Object.keys(given).map((k) => [k, (given as Record<string, unknown>)[k]])
    for (const pair of pairs) {
      if (!isArray(pair) || pair.length !== 2)
        throw new TypeError('ctx.http.fetch: headers must be an object of strings')
      headers[String(pair[0])] = String(pair[1])
    }
  }
  let body: ArrayBuffer | undefined
  const given_body = options.body
  if (given_body !== undefined && given_body !== null) {
    if (typeof given_body === 'string') body = textEncoder.encode(given_body).slice().buffer
    else if (given_body instanceof ByteArray) body = given_body.slice().buffer
    else if (given_body instanceof ArrayBuffer) body = given_body.slice(0)
    else throw new TypeError('ctx.http.fetch: the body must be a string, a Uint8Array or an ArrayBuffer')
    if (method === 'GET' || method === 'HEAD')
      throw new TypeError(`ctx.http.fetch: a ${method} request cannot have a body`)
  }
  const request = jsonStringify({ url, method, headers })
  return apply(promiseThen, host.io('fetch', request, body), [
    (value: unknown) => {
      const [meta, bytes] = value as [string, ArrayBuffer]
      return new FetchResponse(jsonParse(meta), new ByteArray(bytes))
    },
    withCode,
  ]) as Promise<FetchResponse>
}

const http = Object.freeze({ fetch: fetchFromGuest })

function evmRequest(rpc: unknown, request: unknown, what: string): Record<string, unknown> {
  if (typeof rpc !== 'string')
    throw new TypeError(`${what}(rpc, …): rpc must be the name of an endpoint in the network config`)
  if (request === null || typeof request !== 'object')
    throw new TypeError(`${what}: the request must be an object`)
  return request as Record<string, unknown>
}

const evm = Object.freeze({
  call(rpc: unknown, request: unknown): Promise<string> {
    const { to, data } = evmRequest(rpc, request, 'ctx.evm.call')
    return apply(promiseThen, host.io('evmCall', jsonStringify({ rpc, to, data }), undefined), [
      (json: unknown) => jsonParse(json as string),
      withCode,
    ]) as Promise<string>
  },
  sendTransaction(rpc: unknown, tx: unknown): Promise<string> {
    const { to, data, value, gas } = evmRequest(rpc, tx, 'ctx.evm.sendTransaction')
    const request = {
      rpc,
      to,
      data,
      ...(value === undefined ? {} : { value: String(value) }),
      ...(gas === undefined ? {} : { gas: String(gas) }),
    }
    return apply(promiseThen, host.io('evmSend', jsonStringify(request), undefined), [
      (json: unknown) => jsonParse(json as string),
      withCode,
    ]) as Promise<string>
  },
})

const jobs = Object.freeze({
  enqueue(name: unknown, args?: unknown): string {
    if (typeof name !== 'string')
      throw new TypeError('ctx.jobs.enqueue(name, args?) expects the job name as a string')
    const argsText = encodeValue(args === undefined ? null : args, `job ${jsonStringify(name)} args`)
    return host.jobs('enqueue', jsonStringify({ name, args: argsText }))
  },
  every(seconds: unknown, name: unknown, args?: unknown): string {
    if (typeof seconds !== 'number')
      throw new TypeError('ctx.jobs.every(seconds, name, args?) expects seconds as a number')
    if (typeof name !== 'string')
      throw new TypeError('ctx.jobs.every(seconds, name, args?) expects the job name as a string')
    const argsText = encodeValue(args === undefined ? null : args, `job ${jsonStringify(name)} args`)
    return host.jobs('every', jsonStringify({ seconds, name, args: argsText }))
  },
  cancel(id: unknown): boolean {
    if (typeof id !== 'string')
      throw new TypeError('ctx.jobs.cancel(id) expects the timer id returned by ctx.jobs.every')
    return host.jobs('cancel', jsonStringify({ id })) === 'true'
  },
})

// The parts of ctx that do not depend on the invocation: built once, before the memory snapshot, so a
// dispatch only allocates what is its own (building all of it per call was a quarter of a trivial one).
const log = Object.freeze(
  Object.assign((...parts: unknown[]) => writeLog('info', parts), {
    info: (...parts: unknown[]) => writeLog('info', parts),
    warn: (...parts: unknown[]) => writeLog('warn', parts),
    error: (...parts: unknown[]) => writeLog('error', parts),
  }),
)

const storage = Object.freeze({
  get(key: unknown): unknown {
    const text = host.storageGet(checkKey(key))
    return text === undefined ? undefined : decodeValue(text, `storage[${jsonStringify(key)}]`)
  },
  has(key: unknown): boolean {
    return host.storageHas(checkKey(key))
  },
  set(key: unknown, value: unknown): void {
    const name = checkKey(key)
    host.storageSet(name, encodeValue(value, `storage[${jsonStringify(name)}]`))
  },
  delete(key: unknown): boolean {
    return host.storageDelete(checkKey(key))
  },
})

function random(length: unknown): Uint8Array {
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length > MAX_RANDOM_BYTES) {
    throw new RangeError(`ctx.random(length) expects an integer between 0 and ${MAX_RANDOM_BYTES}`)
  }
  return randomBytes(length)
}

function emit(name: unknown, data?: unknown): void {
  if (typeof name !== 'string') throw new TypeError('Event names must be strings')
  host.emit(name, encodeValue(data === undefined ? null : data, `event ${jsonStringify(name)}`))
}

/** `ctx.secrets` of the running invocation, read from the host on first use. */
let secrets: Readonly<Record<string, string>> | undefined

const secretsProperty: PropertyDescriptor = {
  get(): Readonly<Record<string, string>> {
    secrets ??= Object.freeze(jsonParse(host.secrets()) as Record<string, string>)
    return secrets
  },
  enumerable: false,
}

function createCtx(d: InvocationDescriptor): Record<string, unknown> {
  secrets = undefined
  const ctx: Record<string, unknown> = {
    contract: Object.freeze({ id: d.contractId, address: d.contractAddress }),
    caller: d.caller,
    block: Object.freeze({
      number: BigInt(d.block.number),
      timestamp: d.block.timestamp,
      hash: d.block.hash,
    }),
    storage,
    random,
    emit,
    log,
    keys,
    http,
    evm,
    jobs,
  }
  // Not enumerable: spreading or printing ctx in a command must not touch (and be refused) the secrets.
  Object.defineProperty(ctx, 'secrets', secretsProperty)
  return ctx
}

function readTable(value: unknown, label: string): Record<string, Handler> {
  const table: Record<string, Handler> = Object.create(null)
  if (value === undefined || value === null) return table
  if (typeof value !== 'object') throw new TypeError(`${label} must be an object of functions`)
  for (const name of Object.keys(value)) {
    const handler: unknown = (value as Record<string, unknown>)[name]
    if (typeof handler !== 'function') throw new TypeError(`${label}.${name} is not a function`)
    table[name] = handler as Handler
  }
  return table
}

function readJobs(value: unknown): Record<string, JobDefinition> {
  const table: Record<string, JobDefinition> = Object.create(null)
  if (value === undefined || value === null) return table
  if (typeof value !== 'object') throw new TypeError('jobs must be an object of { run, apply }')
  for (const name of Object.keys(value)) {
    const job: unknown = (value as Record<string, unknown>)[name]
    const { run, apply: applyOutcome } = (job ?? {}) as { run?: unknown; apply?: unknown }
    if (typeof run !== 'function' || typeof applyOutcome !== 'function') {
      throw new TypeError(`jobs.${name} must have a run(ctx, args) and an apply(ctx, outcome) function`)
    }
    table[name] = { run: run as Handler, apply: applyOutcome as Handler }
  }
  return table
}

function describe(): string {
  const loaded = global.__veilModule
  if (loaded === null || (typeof loaded !== 'object' && typeof loaded !== 'function')) {
    throw new TypeError(
      'The bundle did not define __veilModule (build it as an IIFE with globalName "__veilModule")',
    )
  }
  const exported: unknown = (loaded as { default?: unknown }).default
  if (exported === null || typeof exported !== 'object') {
    throw new TypeError(
      '__veilModule.default is not a contract definition (export default defineContract({...}))',
    )
  }
  const { init, commands, queries } = exported as { init?: unknown; commands?: unknown; queries?: unknown }
  if (init !== undefined && typeof init !== 'function') throw new TypeError('init must be a function')
  definition = {
    init: init as Handler | undefined,
    commands: readTable(commands, 'commands'),
    queries: readTable(queries, 'queries'),
    jobs: readJobs((exported as { jobs?: unknown }).jobs),
  }
  const shape: ContractShape = {
    commands: Object.keys(definition.commands),
    queries: Object.keys(definition.queries),
    hasInit: definition.init !== undefined,
    jobs: Object.keys(definition.jobs),
  }
  return jsonStringify(shape)
}

const parseInteger = Number.parseInt
const stringSlice = String.prototype.slice

/**
 * Parses 32 lowercase hex digits into four words. Each word is 8 digits for `parseInt`, which reads every
 * digit whatever its value, so the fuel an invocation uses does not depend on its (query-time, real)
 * random seed; a digit-by-digit loop here cost more than the rest of a trivial dispatch.
 */
function parseSeed(hex: string): [number, number, number, number] {
  const word = (i: number) => parseInteger(apply(stringSlice, hex, [8 * i, 8 * i + 8]) as string, 16) >>> 0
  return [word(0), word(1), word(2), word(3)]
}

function dispatch(descriptorJson: string, argsText: string): void {
  let finished = false
  const succeed = (resultText: string): void => {
    if (finished) return
    finished = true
    host.succeed(resultText)
  }
  const fail = (failure: GuestFailure): void => {
    if (finished) return
    finished = true
    host.fail(jsonStringify(failure))
  }
  const d = jsonParse(descriptorJson) as InvocationDescriptor
  prng.reseed(parseSeed(d.mathRandomSeed))
  active = true

  const settle = (value: unknown): void => {
    let text: string
    try {
      text = encodeValue(value, 'result')
    } catch (error) {
      fail({ type: 'invalid-result', message: describeThrown(error).message })
      return
    }
    if (text.length > d.maxResultBytes) {
      fail({
        type: 'invalid-result',
        message: `the encoded result has ${text.length} characters, more than the limit of ${d.maxResultBytes} bytes`,
      })
      return
    }
    succeed(text)
  }

  try {
    const job = d.kind === 'job' || d.kind === 'apply' ? definition?.jobs[d.method] : undefined
    const table =
      d.kind === 'command' ? definition?.commands : d.kind === 'query' ? definition?.queries : undefined
    const handler =
      d.kind === 'init'
        ? definition?.init
        : d.kind === 'job'
          ? job?.run
          : d.kind === 'apply'
            ? job?.apply
            : table?.[d.method]
    if (d.kind === 'init' && handler === undefined) {
      // A contract without init deploys with an empty state.
      succeed('null')
      return
    }
    if (handler === undefined) {
      fail({ type: 'unknown-method', message: `no ${d.kind} named ${jsonStringify(d.method)}` })
      return
    }
    let args: unknown
    try {
      args = decodeValue(argsText, 'args')
    } catch (error) {
      fail({ type: 'invalid-arguments', message: describeThrown(error).message })
      return
    }
    if (!isArray(args)) {
      fail({ type: 'invalid-arguments', message: 'the arguments must encode an array' })
      return
    }
    const ctx = createCtx(d)
    const single = d.kind === 'init' || d.kind === 'job' || d.kind === 'apply'
    const result = apply(
      handler,
      d.kind === 'init' ? definition : (job ?? table),
      single ? [ctx, args[0]] : [ctx, ...args],
    )
    if (result !== null && (typeof result === 'object' || typeof result === 'function')) {
      const then: unknown = (result as { then?: unknown }).then
      if (typeof then === 'function') {
        apply(promiseThen, promiseResolve(result), [settle, (error: unknown) => fail(describeThrown(error))])
        return
      }
    }
    settle(result)
  } catch (error) {
    fail(describeThrown(error))
  }
}

const exportsForHost: PreludeExports = { describe, dispatch }
defineGlobal('__veilPrelude', exportsForHost)
