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

interface Definition {
  readonly init: Handler | undefined
  readonly commands: Readonly<Record<string, Handler>>
  readonly queries: Readonly<Record<string, Handler>>
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

function createCtx(d: InvocationDescriptor): Record<string, unknown> {
  const log = Object.assign((...parts: unknown[]) => writeLog('info', parts), {
    info: (...parts: unknown[]) => writeLog('info', parts),
    warn: (...parts: unknown[]) => writeLog('warn', parts),
    error: (...parts: unknown[]) => writeLog('error', parts),
  })
  return {
    contract: Object.freeze({ id: d.contractId, address: d.contractAddress }),
    caller: d.caller,
    block: Object.freeze({
      number: BigInt(d.block.number),
      timestamp: d.block.timestamp,
      hash: d.block.hash,
    }),
    storage: Object.freeze({
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
    }),
    random(length: unknown): Uint8Array {
      if (
        typeof length !== 'number' ||
        !Number.isInteger(length) ||
        length < 0 ||
        length > MAX_RANDOM_BYTES
      ) {
        throw new RangeError(`ctx.random(length) expects an integer between 0 and ${MAX_RANDOM_BYTES}`)
      }
      return randomBytes(length)
    },
    emit(name: unknown, data?: unknown): void {
      if (typeof name !== 'string') throw new TypeError('Event names must be strings')
      host.emit(name, encodeValue(data === undefined ? null : data, `event ${jsonStringify(name)}`))
    },
    log,
    keys,
  }
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
  }
  const shape: ContractShape = {
    commands: Object.keys(definition.commands),
    queries: Object.keys(definition.queries),
    hasInit: definition.init !== undefined,
  }
  return jsonStringify(shape)
}

/**
 * Parses 32 lowercase hex digits into four words, branch-free, so that the fuel an invocation uses does
 * not depend on its (query-time, real) random seed.
 */
function parseSeed(hex: string): [number, number, number, number] {
  const words: [number, number, number, number] = [0, 0, 0, 0]
  for (let i = 0; i < 32; i++) {
    const c = hex.charCodeAt(i)
    const w = i >> 3
    words[w] = (((words[w] as number) << 4) | ((c & 15) + 9 * (c >> 6))) >>> 0
  }
  return words
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
    const table =
      d.kind === 'command' ? definition?.commands : d.kind === 'query' ? definition?.queries : undefined
    const handler = d.kind === 'init' ? definition?.init : table?.[d.method]
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
    const result = apply(
      handler,
      d.kind === 'init' ? definition : table,
      d.kind === 'init' ? [ctx, args[0]] : [ctx, ...args],
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
