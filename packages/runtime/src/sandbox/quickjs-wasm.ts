/**
 * Binding to the exact QuickJS build the runtime ships (`@jitl/quickjs-wasmfile-release-sync` 0.32.0,
 * QuickJS 2025-09-13, pinned in package.json). It compiles the metered binary once per process and
 * instantiates it with a few Emscripten imports replaced:
 *
 * - the interrupt import also serves the loop meter (argument 0 is the meter's sentinel),
 * - the clock (`emscripten_date_now`) reads the invocation's clock, so `Date` is the block timestamp in
 *   commands without any JavaScript-level patching,
 * - local time is UTC and the environment is empty, so neither the host's time zone nor its
 *   `process.argv` can change results or the heap layout,
 * - stdout/stderr writes are swallowed and aborts throw without printing.
 *
 * It also adds length-explicit string functions to the binary (`wasm-strings.ts`) and hands them out with
 * the allocator, for `guest-strings.ts`.
 *
 * The import and export names are Emscripten's minified names for this build; `instantiateQuickJS`
 * checks they exist and fails loudly when the dependency is upgraded without updating this table.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import releaseSync from '@jitl/quickjs-wasmfile-release-sync'
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core'
import { METER_EXPORT, meterWasm, STACK_LOW_EXPORT } from './wasm-meter.js'
import {
  addStringExports,
  STRING_NEW_EXPORT,
  STRING_READ_EXPORT,
  type StringFfiExports,
} from './wasm-strings.js'

/**
 * The package's types describe its CommonJS build (where the variant is `module.exports.default`); under
 * ESM the default import is the variant itself. Accept both.
 */
function syncVariant(): QuickJSSyncVariant {
  const imported: unknown = releaseSync
  const candidate =
    typeof imported === 'object' && imported !== null && 'importFFI' in imported
      ? imported
      : (imported as { default?: unknown }).default
  return candidate as QuickJSSyncVariant
}

/** Emscripten import names (module "a") of the pinned build. */
const IMPORTS = {
  module: 'a',
  interrupt: 'i',
  dateNow: 'p',
  localtime: 'm',
  tzset: 'n',
  environGet: 'e',
  environSizesGet: 'f',
  fdWrite: 'c',
  assertFail: 'b',
  abort: 'q',
  procExit: 'r',
} as const

/** Emscripten export name of `emscripten_stack_get_current` (stackSave) in the pinned build. */
const STACK_SAVE_EXPORT = 'Oa'
/**
 * Emscripten export names of the FFI's C-string functions in the pinned build; `instantiateQuickJS` checks
 * that the FFI calls exactly these exports.
 */
const STRING_FFI_EXPORTS: StringFfiExports = { newString: '_', getString: '$' }
/**
 * The shadow stack's size in the pinned build (`-s STACK_SIZE=5MB` in quickjs-emscripten's
 * templates/Variant.mk). wasm-ld lays out static data, then `.bss`, then the stack, which grows down from
 * the stack pointer's initial value; so [top - STACK_BYTES, top) is the stack and everything static lies
 * below it. The snapshot restore relies on that to skip the unused part of the stack; a test checks that
 * no constant address the code loads from lies inside this range.
 */
export const STACK_BYTES = 5 * 1024 * 1024

/** Thrown (through WebAssembly frames) when the QuickJS build aborts or calls exit(). */
export class WasmAbort extends Error {
  override name = 'WasmAbort'
}

/** Callbacks one instance provides to its WebAssembly imports. Set after instantiation. */
export interface WasmHooks {
  /** Called every `CHUNK` loop iterations of one function; may throw to abort the running call. */
  onMeter(): void
  /** Milliseconds since the epoch, for QuickJS's `Date`. */
  now(): number
}

/**
 * Strings by explicit length (`wasm-strings.ts`) and the C allocator. Pointers and lengths are byte
 * offsets into the instance's memory; `ctx` is the `JSContext*`.
 */
export interface WasmStringFunctions {
  /**
   * `JS_ToCStringLen2(ctx, lengthOut, *value, 0)`: the UTF-8 bytes of the string `value` points to, their
   * length stored as a u32 at `lengthOut`; 0 when QuickJS failed (out of memory). Free with `freeCString`.
   */
  read(ctx: number, value: number, lengthOut: number): number
  /** `JS_NewStringLen(ctx, bytes, length)`, returned as a heap `JSValue*` like `QTS_NewString` does. */
  create(ctx: number, bytes: number, length: number): number
  /** `JS_FreeCString`, for what `read` returned. */
  freeCString(ctx: number, bytes: number): void
  /** `QTS_DupValuePointer` and `QTS_FreeValuePointer`, for the handles of created strings. */
  dupValue(ctx: number, value: number): number
  freeValue(ctx: number, value: number): void
  malloc(size: number): number
  free(pointer: number): void
}

/** The shadow stack: [low, high). It grows down from `high`; only frames at or above the pointer are live. */
export interface StackRegion {
  readonly low: number
  readonly high: number
}

export interface QuickJSWasmInstance {
  readonly module: QuickJSWASMModule
  readonly memory: WebAssembly.Memory
  /** The meter's i64 global of flushed loop iterations (see `wasm-meter.ts`). */
  readonly meter: WebAssembly.Global
  /** Current WebAssembly shadow-stack pointer. */
  readonly stackPointer: () => number
  /** Where the shadow stack lies in memory (the same for every instance of the build). */
  readonly stackRegion: StackRegion
  /**
   * The lowest stack pointer reached since the last `resetLowestStackPointer` (0 before the first
   * reset, meaning "the whole stack may have been written"). Nothing below it in the stack was written.
   */
  readonly lowestStackPointer: () => number
  /** Restarts the tracking from the current stack pointer. */
  readonly resetLowestStackPointer: () => void
  /** Strings by explicit length, see `WasmStringFunctions`. */
  readonly strings: WasmStringFunctions
  /** Replaceable targets of the overridden imports. */
  readonly hooks: WasmHooks
}

/** The compiled metered binary and the layout facts every instance shares. */
export interface MeteredQuickJS {
  readonly module: WebAssembly.Module
  readonly stackRegion: StackRegion
}

let compiled: Promise<MeteredQuickJS> | undefined

/** Compiles the metered QuickJS binary once per process. */
export function compileMeteredQuickJS(): Promise<MeteredQuickJS> {
  compiled ??= (async () => {
    const require = createRequire(import.meta.url)
    const path = require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm')
    const original = new Uint8Array(await readFile(path))
    const { bytes, stack, dataEnd } = meterWasm(
      addStringExports(original, STRING_FFI_EXPORTS),
      { module: IMPORTS.module, name: IMPORTS.interrupt },
      { stackPointerExport: STACK_SAVE_EXPORT },
    )
    if (!stack) throw new Error('QuickJS build mismatch: the stack pointer was not found')
    const stackRegion = { low: stack.top - STACK_BYTES, high: stack.top }
    // The static data must lie below the stack, and the stack must be where wasm-ld puts it (16-aligned).
    if (stackRegion.low < dataEnd || stackRegion.low % 16 !== 0 || stackRegion.high % 16 !== 0) {
      throw new Error(
        `QuickJS build mismatch: a ${STACK_BYTES}-byte stack below ${stack.top} overlaps static data ending at ${dataEnd}`,
      )
    }
    return { module: await WebAssembly.compile(bytes), stackRegion }
  })()
  // A failed compile must not poison every later engine of the process.
  compiled.catch(() => {
    compiled = undefined
  })
  return compiled
}

const PAGE = 65_536
/** The build's declared minimum memory (16 MiB); the imported memory cannot be smaller. */
const INITIAL_PAGES = 256

type ImportFunction = (...args: never[]) => unknown

function importFunction(imports: WebAssembly.Imports, name: string): ImportFunction {
  const value = imports[IMPORTS.module]?.[name]
  if (typeof value !== 'function') {
    throw new Error(`QuickJS build mismatch: import ${IMPORTS.module}.${name} is not a function`)
  }
  return value as ImportFunction
}

/** Writes the fields of a C `struct tm` for `seconds` since the epoch, in UTC. */
function writeUtcTm(memory: WebAssembly.Memory, seconds: number, tm: number): void {
  const heap = new Int32Array(memory.buffer)
  const date = new Date(seconds * 1000)
  const base = tm >> 2
  heap[base] = date.getUTCSeconds()
  heap[base + 1] = date.getUTCMinutes()
  heap[base + 2] = date.getUTCHours()
  heap[base + 3] = date.getUTCDate()
  heap[base + 4] = date.getUTCMonth()
  heap[base + 5] = date.getUTCFullYear() - 1900
  heap[base + 6] = date.getUTCDay()
  heap[base + 7] = Math.floor((date.getTime() - Date.UTC(date.getUTCFullYear(), 0, 1)) / 86_400_000)
  heap[base + 8] = 0 // tm_isdst
  heap[base + 9] = 0 // tm_gmtoff
}

function writeCString(memory: WebAssembly.Memory, pointer: number, text: string): void {
  const bytes = new TextEncoder().encode(`${text}\0`)
  new Uint8Array(memory.buffer).set(bytes, pointer)
}

/**
 * Instantiates the metered QuickJS build on a fresh memory of at most `maxMemoryBytes`.
 * The returned hooks must be replaced before QuickJS code runs.
 */
export async function instantiateQuickJS(maxMemoryBytes: number): Promise<QuickJSWasmInstance> {
  const { module: wasmModule, stackRegion } = await compileMeteredQuickJS()
  const maximum = Math.min(65_536, Math.max(INITIAL_PAGES, Math.ceil(maxMemoryBytes / PAGE)))
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum })
  const hooks: WasmHooks = {
    // Replaced by the owner; until then only trusted startup code runs.
    onMeter() {},
    now: () => 0,
  }
  let instance: WebAssembly.Instance | undefined

  const instantiateWasm = (
    imports: WebAssembly.Imports,
    onSuccess: (instance: WebAssembly.Instance, module?: WebAssembly.Module) => void,
  ): WebAssembly.Exports => {
    const env = imports[IMPORTS.module]
    if (!env) throw new Error(`QuickJS build mismatch: no import module "${IMPORTS.module}"`)
    const interrupt = importFunction(imports, IMPORTS.interrupt) as (rt: number) => number
    for (const name of Object.values(IMPORTS)) if (name !== IMPORTS.module) importFunction(imports, name)

    env[IMPORTS.interrupt] = (rt: number): number => {
      if (rt === 0) {
        hooks.onMeter()
        return 0
      }
      return interrupt(rt)
    }
    env[IMPORTS.dateNow] = (): number => hooks.now()
    env[IMPORTS.localtime] = (time: bigint | number, tm: number): void => {
      const seconds = Number(time)
      writeUtcTm(memory, Number.isSafeInteger(seconds) ? seconds : 0, tm)
    }
    env[IMPORTS.tzset] = (timezone: number, daylight: number, stdName: number, dstName: number): void => {
      const heap = new Int32Array(memory.buffer)
      heap[timezone >> 2] = 0
      heap[daylight >> 2] = 0
      writeCString(memory, stdName, 'UTC')
      writeCString(memory, dstName, 'UTC')
    }
    env[IMPORTS.environSizesGet] = (countPointer: number, sizePointer: number): number => {
      const heap = new Uint32Array(memory.buffer)
      heap[countPointer >> 2] = 0
      heap[sizePointer >> 2] = 0
      return 0
    }
    env[IMPORTS.environGet] = (): number => 0
    env[IMPORTS.fdWrite] = (_fd: number, iov: number, iovCount: number, written: number): number => {
      const heap = new Uint32Array(memory.buffer)
      let total = 0
      for (let i = 0; i < iovCount; i++) total += heap[(iov + i * 8 + 4) >> 2] ?? 0
      heap[written >> 2] = total
      return 0
    }
    const abort = (): never => {
      throw new WasmAbort('QuickJS aborted')
    }
    env[IMPORTS.assertFail] = abort
    env[IMPORTS.abort] = abort
    env[IMPORTS.procExit] = abort

    instance = new WebAssembly.Instance(wasmModule, imports)
    onSuccess(instance, wasmModule)
    return instance.exports
  }

  const module = await newQuickJSWASMModuleFromVariant(
    newVariant(syncVariant(), {
      wasmMemory: memory,
      emscriptenModule: { wasmMemory: memory, instantiateWasm },
    }),
  )
  if (!instance) throw new Error('QuickJS build mismatch: instantiateWasm was not used')
  const meter = instance.exports[METER_EXPORT]
  const stackLow = instance.exports[STACK_LOW_EXPORT]
  const stackSave = instance.exports[STACK_SAVE_EXPORT]
  if (!(meter instanceof WebAssembly.Global)) throw new Error('metered QuickJS lacks its meter global')
  if (!(stackLow instanceof WebAssembly.Global)) throw new Error('metered QuickJS lacks its stack-low global')
  if (typeof stackSave !== 'function')
    throw new Error(`QuickJS build mismatch: no export ${STACK_SAVE_EXPORT}`)
  const stackPointer = (): number => Number(stackSave())
  return {
    module,
    memory,
    meter,
    stackPointer,
    stackRegion,
    // i32 globals read back signed; stack addresses are below 2^31 but read them unsigned anyway.
    lowestStackPointer: () => (stackLow.value as number) >>> 0,
    resetLowestStackPointer: () => {
      stackLow.value = stackPointer()
    },
    hooks,
    strings: stringFunctions(module, instance.exports),
  }
}

type WasmFunction = (...args: number[]) => number

/** The string functions, checked against the FFI: it must call the exports they were derived from. */
function stringFunctions(module: QuickJSWASMModule, exports: WebAssembly.Exports): WasmStringFunctions {
  const ffi = module.getFFI()
  const exported = (name: string): WasmFunction => {
    const value = exports[name]
    if (typeof value !== 'function') throw new Error(`QuickJS build mismatch: no export ${name}`)
    return value as WasmFunction
  }
  if (
    (ffi.QTS_NewString as unknown) !== exported(STRING_FFI_EXPORTS.newString) ||
    (ffi.QTS_GetString as unknown) !== exported(STRING_FFI_EXPORTS.getString)
  ) {
    throw new Error(
      'QuickJS build mismatch: the FFI does not call the string exports the binary was rewritten from',
    )
  }
  // quickjs-emscripten keeps the Emscripten module private; its allocator is the C one QuickJS uses.
  const emscripten = (module as unknown as { module?: { _malloc?: unknown; _free?: unknown } }).module
  const malloc = emscripten?._malloc
  const free = emscripten?._free
  if (typeof malloc !== 'function' || typeof free !== 'function') {
    throw new Error('QuickJS build mismatch: the Emscripten module lacks _malloc/_free')
  }
  // The FFI's pointer types are branded numbers.
  return {
    read: exported(STRING_READ_EXPORT),
    create: exported(STRING_NEW_EXPORT),
    freeCString: (ctx, bytes) => ffi.QTS_FreeCString(ctx as never, bytes as never),
    dupValue: (ctx, value) => ffi.QTS_DupValuePointer(ctx as never, value as never),
    freeValue: (ctx, value) => ffi.QTS_FreeValuePointer(ctx as never, value as never),
    malloc: malloc as (size: number) => number,
    free: free as (pointer: number) => void,
  }
}
