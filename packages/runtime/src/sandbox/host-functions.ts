/**
 * The QuickJS side of the host functions: converts guest handles to host values (with size checks
 * before copying), delegates to the current `InvocationState`, and converts the answers back. Strings
 * cross by explicit length (`GuestStrings`), never as C strings, so every character arrives.
 *
 * They are created once per instance, before the snapshot: creating functions per invocation would leak
 * entries in quickjs-emscripten's host-reference map, which lives outside the restored memory.
 */
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core'
import {
  MAX_EVENT_DATA_BYTES,
  MAX_EVENT_NAME_BYTES,
  MAX_FAILURE_CHARS,
  MAX_FETCH_BODY_BYTES,
  MAX_IO_REQUEST_CHARS,
  MAX_JOB_REQUEST_CHARS,
  MAX_KEY_PATH_CHARS,
  MAX_LOG_MESSAGE_CHARS,
  MAX_SIGN_MESSAGE_BYTES,
  MAX_STORAGE_KEY_BYTES,
  MAX_STORAGE_VALUE_BYTES,
} from './constants.js'
import type { FuelMeter } from './fuel.js'
import type { GuestFailure, GuestHost } from './guest-protocol.js'
import type { GuestStrings } from './guest-strings.js'
import { GuestError, type InvocationState } from './invocation.js'

export interface HostFunctionTarget {
  /** The running invocation; undefined while the module loads or between invocations. */
  current(): InvocationState | undefined
  readonly meter: FuelMeter
}

/** Length (UTF-16 units) of a guest string, read without copying it (`getLength` ignores primitives). */
export function guestStringLength(context: QuickJSContext, handle: QuickJSHandle): number {
  const length = context.getProp(handle, 'length')
  const value = context.typeof(length) === 'number' ? context.getNumber(length) : Number.NaN
  length.dispose()
  return value
}

type Implementation = (state: InvocationState, args: readonly QuickJSHandle[]) => QuickJSHandle | undefined

function stringArg(
  context: QuickJSContext,
  strings: GuestStrings,
  args: readonly QuickJSHandle[],
  index: number,
  maxChars: number,
  what: string,
): string {
  const handle = args[index]
  if (!handle || context.typeof(handle) !== 'string')
    throw new GuestError('TypeError', `${what} must be a string`)
  // Check the length before copying: the host never copies more than the cap out of the sandbox.
  const length = guestStringLength(context, handle)
  if (!(length <= maxChars)) {
    throw new GuestError('RangeError', `${what} is longer than ${maxChars} characters`)
  }
  return strings.read(handle)
}

function numberArg(
  context: QuickJSContext,
  args: readonly QuickJSHandle[],
  index: number,
  what: string,
): number {
  const handle = args[index]
  if (!handle || context.typeof(handle) !== 'number')
    throw new GuestError('TypeError', `${what} must be a number`)
  return context.getNumber(handle)
}

function messageFormat(format: string): 'text' | 'bytes' {
  if (format === 'text' || format === 'bytes') return format
  throw new GuestError('TypeError', `Unknown message format ${JSON.stringify(format.slice(0, 16))}`)
}

function logLevel(level: string): 'info' | 'warn' | 'error' {
  if (level === 'info' || level === 'warn' || level === 'error') return level
  throw new GuestError('TypeError', `Unknown log level ${JSON.stringify(level.slice(0, 16))}`)
}

/** Defines `globalThis.__veilHost` (see `GuestHost`); the prelude captures and deletes it. */
export function installHostFunctions(
  context: QuickJSContext,
  strings: GuestStrings,
  target: HostFunctionTarget,
): void {
  const bool = (value: boolean): QuickJSHandle => (value ? context.true : context.false)
  const text = (args: readonly QuickJSHandle[], index: number, maxChars: number, what: string): string =>
    stringArg(context, strings, args, index, maxChars, what)
  const implementations: Record<keyof GuestHost, Implementation> = {
    storageGet(state, args) {
      const value = state.storageGet(text(args, 0, MAX_STORAGE_KEY_BYTES, 'The storage key'))
      return value === undefined ? undefined : strings.create(value)
    },
    storageHas: (state, args) =>
      bool(state.storageHas(text(args, 0, MAX_STORAGE_KEY_BYTES, 'The storage key'))),
    storageSet(state, args) {
      const key = text(args, 0, MAX_STORAGE_KEY_BYTES, 'The storage key')
      state.storageSet(key, text(args, 1, MAX_STORAGE_VALUE_BYTES, `The value of storage key "${key}"`))
      return undefined
    },
    storageDelete: (state, args) =>
      bool(state.storageDelete(text(args, 0, MAX_STORAGE_KEY_BYTES, 'The storage key'))),
    emit(state, args) {
      const name = text(args, 0, MAX_EVENT_NAME_BYTES, 'The event name')
      state.emit(name, text(args, 1, MAX_EVENT_DATA_BYTES, `The data of event "${name}"`))
      return undefined
    },
    log(state, args) {
      const level = logLevel(text(args, 0, 16, 'The log level'))
      state.log(level, text(args, 1, MAX_LOG_MESSAGE_CHARS, 'The log message'))
      return undefined
    },
    randomBytes(state, args) {
      const bytes = state.randomBytes(numberArg(context, args, 0, 'length'))
      return context.newArrayBuffer(bytes.slice().buffer)
    },
    keysDerive(state, args) {
      const key = state.keysDerive(text(args, 0, MAX_KEY_PATH_CHARS, 'The key path'))
      return context.newArrayBuffer(key.slice().buffer)
    },
    keysSign(state, args) {
      const format = messageFormat(text(args, 0, 16, 'The message format'))
      // A message of at most MAX_SIGN_MESSAGE_BYTES bytes has at most as many UTF-16 units.
      const message = text(args, 1, MAX_SIGN_MESSAGE_BYTES, 'The message')
      return strings.create(state.keysSign(format, message))
    },
    secrets: (state) => strings.create(state.secretsJson()),
    jobs(state, args) {
      const op = text(args, 0, 16, 'The jobs operation')
      return strings.create(state.jobs(op, text(args, 1, MAX_JOB_REQUEST_CHARS, 'The jobs request')))
    },
    io(state, args) {
      const op = text(args, 0, 16, 'The I/O operation')
      const json = text(args, 1, MAX_IO_REQUEST_CHARS, 'The request')
      const bodyHandle = args[2]
      let body: Uint8Array | undefined
      if (bodyHandle && context.typeof(bodyHandle) === 'object') {
        const size = context.getProp(bodyHandle, 'byteLength')
        const bytes = context.typeof(size) === 'number' ? context.getNumber(size) : Number.NaN
        size.dispose()
        if (!(bytes <= MAX_FETCH_BODY_BYTES)) {
          throw new GuestError('RangeError', `Request bodies are at most ${MAX_FETCH_BODY_BYTES} bytes`)
        }
        const buffer = context.getArrayBuffer(bodyHandle)
        body = buffer.value.slice()
        buffer.dispose()
      }
      const task = state.io(op, json, body) // throws GuestError synchronously for what is not allowed
      const deferred = context.newPromise()
      // The guest promise is settled only while this invocation still runs: after it ended, the memory is
      // (or will be) restored to the snapshot and the deferred's handles point at nothing.
      const live = () => target.current() === state && !state.outcome
      state.trackHostTask(
        task.then(
          (value) => {
            if (!live()) return
            const handle =
              value.body === undefined
                ? strings.create(value.json)
                : (() => {
                    const array = context.newArray()
                    const jsonHandle = strings.create(value.json)
                    const bodyBuffer = context.newArrayBuffer(value.body.slice().buffer)
                    context.setProp(array, 0, jsonHandle)
                    context.setProp(array, 1, bodyBuffer)
                    jsonHandle.dispose()
                    bodyBuffer.dispose()
                    return array
                  })()
            deferred.resolve(handle)
            handle.dispose()
          },
          (error: unknown) => {
            if (!live()) return
            const { name, message } =
              error instanceof GuestError ? error : { name: 'Error', message: 'The host failed this request' }
            const handle = strings.error(name, message)
            deferred.reject(handle)
            handle.dispose()
          },
        ),
      )
      return deferred.handle
    },
    succeed(state, args) {
      const max = state.limits.maxResultBytes
      const handle = args[0]
      const length = handle && context.typeof(handle) === 'string' ? guestStringLength(context, handle) : 0
      if (length > max) {
        const failure: GuestFailure = {
          type: 'invalid-result',
          message: `the encoded result has ${length} characters, more than the limit of ${max} bytes`,
        }
        state.fail(JSON.stringify(failure))
        return undefined
      }
      state.succeed(text(args, 0, max, 'The result'))
      return undefined
    },
    fail(state, args) {
      state.fail(text(args, 0, MAX_FAILURE_CHARS, 'The failure report'))
      return undefined
    },
  }

  const hostObject = context.newObject()
  for (const [name, implementation] of Object.entries(implementations)) {
    const fn = context.newFunction(name, (...args: QuickJSHandle[]) => {
      target.meter.hostDepth++
      try {
        const state = target.current()
        if (!state) throw new GuestError('Error', `${name} is not available while the contract module loads`)
        return implementation(state, args)
      } catch (error) {
        // quickjs-emscripten would rebuild the error with C strings, cutting a message at a NUL (one
        // quoting a storage key, say): throw it as a guest Error made with exact strings instead.
        if (error instanceof GuestError) throw strings.error(error.name, error.message)
        throw error
      } finally {
        target.meter.hostDepth--
      }
    })
    context.setProp(hostObject, name, fn)
    fn.dispose()
  }
  context.setProp(context.global, '__veilHost', hostObject)
  hostObject.dispose()
}
