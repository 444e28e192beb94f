/**
 * Length-explicit string functions for the QuickJS binary: the basis of exact strings at the guest
 * boundary (see `guest-strings.ts`).
 *
 * Why: quickjs-emscripten's FFI moves strings as C strings. `QTS_GetString` returns the bytes of
 * `JS_ToCString` and drops their length, so the host reads up to the first NUL; `QTS_NewString` calls
 * `JS_NewString`, which measures its argument with `strlen`. A string holding U+0000 was cut short in both
 * directions: `ctx.storage.set('a\0b', v)` wrote key `a`.
 *
 * What: two exports that call the very QuickJS functions the FFI calls, with the length:
 *
 * - `veil_string_read(ctx, value, lengthOut) -> char*`: `JS_ToCStringLen2(ctx, lengthOut, *value, 0)`,
 *   the string's UTF-8 bytes (unpaired surrogates as their 3-byte form) with their length stored at
 *   `lengthOut`; free the bytes with `QTS_FreeCString`;
 * - `veil_string_new(ctx, bytes, length) -> JSValue*`: `JS_NewStringLen(ctx, bytes, length)` on the heap,
 *   like `QTS_NewString` returns it.
 *
 * How: the callees are found through the bodies of the FFI exports, which in the pinned build are exactly
 * `QTS_NewString(ctx, s) = jsvalue_to_heap(JS_NewString(ctx, s))`, `JS_NewString(ctx, s) =
 * JS_NewStringLen(ctx, s, strlen(s))`, `QTS_GetString(ctx, v) = JS_ToCString(ctx, *v)` and
 * `JS_ToCString(ctx, v) = JS_ToCStringLen2(ctx, NULL, v, 0)`; any other shape or signature stops the
 * rewrite. One function type, two functions and two exports are appended: no index moves.
 */
import {
  encodeString,
  Reader,
  readCodeBodies,
  readExports,
  readImports,
  readSections,
  SECTION_CODE,
  SECTION_EXPORT,
  SECTION_FUNCTION,
  SECTION_IMPORT,
  SECTION_TYPE,
  section,
  u32,
  WasmRewriteError,
} from './wasm-meter.js'

/** `(ctx, value, lengthOut) -> char*`, see the module comment. */
export const STRING_READ_EXPORT = 'veil_string_read'
/** `(ctx, bytes, length) -> JSValue*`, see the module comment. */
export const STRING_NEW_EXPORT = 'veil_string_new'

/** Export names (minified in the build) of the FFI functions the new ones are derived from. */
export interface StringFfiExports {
  /** `QTS_NewString(ctx, char*) -> JSValue*`. */
  readonly newString: string
  /** `QTS_GetString(ctx, JSValueConst*) -> char*`. */
  readonly getString: string
}

const I32 = 0x7f
const I64 = 0x7e
const OP = { end: 0x0b, call: 0x10, localGet: 0x20, i64Load: 0x29, i32Const: 0x41 } as const

interface Signature {
  readonly params: readonly number[]
  readonly results: readonly number[]
}

function readSignatures(bytes: Uint8Array, start: number): Signature[] {
  const reader = new Reader(bytes, start)
  const count = reader.u32()
  const out: Signature[] = []
  for (let i = 0; i < count; i++) {
    if (reader.byte() !== 0x60) throw new WasmRewriteError('unsupported type form')
    const params: number[] = []
    for (let n = reader.u32(); n > 0; n--) params.push(reader.byte())
    const results: number[] = []
    for (let n = reader.u32(); n > 0; n--) results.push(reader.byte())
    out.push({ params, results })
  }
  return out
}

/** A body pattern: literal bytes, or the name under which the index of a `call` is captured. */
type Pattern = readonly (number | string)[]

/** Matches `body` exactly against `pattern`; returns the captured call targets, or undefined. */
function matchBody(body: Uint8Array, pattern: Pattern): Map<string, number> | undefined {
  const reader = new Reader(body)
  const captured = new Map<string, number>()
  try {
    for (const item of pattern) {
      if (typeof item === 'number') {
        if (reader.byte() !== item) return undefined
      } else {
        if (reader.byte() !== OP.call) return undefined
        captured.set(item, reader.u32())
      }
    }
  } catch {
    return undefined
  }
  return reader.pos === body.length ? captured : undefined
}

/** Where a vector's entries start: after its count. */
function afterCount(bytes: Uint8Array, start: number): number {
  const reader = new Reader(bytes, start)
  reader.u32()
  return reader.pos
}

function sameSignature(a: Signature | undefined, b: Signature): boolean {
  return (
    a !== undefined &&
    a.params.length === b.params.length &&
    a.params.every((p, i) => p === b.params[i]) &&
    a.results.length === b.results.length &&
    a.results.every((r, i) => r === b.results[i])
  )
}

// biome-ignore format: one WebAssembly instruction per group reads better than one byte per line
const QTS_NEW_STRING: Pattern = [
  0, // no locals
  OP.localGet, 0, OP.localGet, 1, 'JS_NewString', 'jsvalue_to_heap', OP.end,
]
// biome-ignore format: one WebAssembly instruction per group reads better than one byte per line
const JS_NEW_STRING: Pattern = [
  0,
  OP.localGet, 0, OP.localGet, 1, OP.localGet, 1, 'strlen', 'JS_NewStringLen', OP.end,
]
// biome-ignore format: one WebAssembly instruction per group reads better than one byte per line
const QTS_GET_STRING: Pattern = [
  0,
  OP.localGet, 0, OP.localGet, 1, OP.i64Load, 3, 0, 'JS_ToCString', OP.end,
]
// biome-ignore format: one WebAssembly instruction per group reads better than one byte per line
const JS_TO_C_STRING: Pattern = [
  0,
  OP.localGet, 0, OP.i32Const, 0, OP.localGet, 1, OP.i32Const, 0, 'JS_ToCStringLen2', OP.end,
]

/** What the callees must look like (wasm32: pointers and size_t are i32, a JSValue is a NaN-boxed i64). */
const SIGNATURES: Record<string, Signature> = {
  JS_NewString: { params: [I32, I32], results: [I64] },
  jsvalue_to_heap: { params: [I64], results: [I32] },
  strlen: { params: [I32], results: [I32] },
  JS_NewStringLen: { params: [I32, I32, I32], results: [I64] },
  JS_ToCString: { params: [I32, I64], results: [I32] },
  JS_ToCStringLen2: { params: [I32, I32, I64, I32], results: [I32] },
}

/** Appends `STRING_READ_EXPORT` and `STRING_NEW_EXPORT` to `wasm` (see the module comment). */
export function addStringExports(wasm: Uint8Array, ffi: StringFfiExports): Uint8Array<ArrayBuffer> {
  const fail = (why: string): never => {
    throw new WasmRewriteError(`cannot add the string exports: ${why}`)
  }
  const sections = readSections(wasm)
  const find = (id: number) => sections.find((s) => s.id === id) ?? fail(`the binary lacks section ${id}`)
  const typeSection = find(SECTION_TYPE)
  const functionSection = find(SECTION_FUNCTION)
  const exportSection = find(SECTION_EXPORT)
  const codeSection = find(SECTION_CODE)
  const imported = readImports(wasm, find(SECTION_IMPORT)).functions
  const signatures = readSignatures(wasm, typeSection.start)
  const functionReader = new Reader(wasm, functionSection.start)
  const declared = functionReader.u32()
  const functionTypes: number[] = []
  for (let i = 0; i < declared; i++) functionTypes.push(functionReader.u32())
  const bodies = readCodeBodies(wasm, codeSection)
  const exports = readExports(wasm, exportSection)
  for (const name of [STRING_READ_EXPORT, STRING_NEW_EXPORT]) {
    if (exports.some((e) => e.name === name)) fail(`the binary already exports ${name}`)
  }

  const callees = new Map<string, number>()
  const match = (what: string, index: number, pattern: Pattern): void => {
    const body = bodies[index - imported] ?? fail(`${what} is not a defined function`)
    const captured = matchBody(body, pattern) ?? fail(`${what} does not have the expected body`)
    for (const [name, callee] of captured) {
      if (!sameSignature(signatures[functionTypes[callee - imported] ?? -1], SIGNATURES[name] as Signature)) {
        fail(`the function ${what} calls as ${name} does not have the expected signature`)
      }
      callees.set(name, callee)
    }
  }
  const exported = (name: string): number =>
    exports.find((e) => e.kind === 0x00 && e.name === name)?.index ?? fail(`no exported function ${name}`)
  match(`QTS_NewString (${ffi.newString})`, exported(ffi.newString), QTS_NEW_STRING)
  match('JS_NewString', callees.get('JS_NewString') as number, JS_NEW_STRING)
  match(`QTS_GetString (${ffi.getString})`, exported(ffi.getString), QTS_GET_STRING)
  match('JS_ToCString', callees.get('JS_ToCString') as number, JS_TO_C_STRING)
  const call = (name: string): number[] => [OP.call, ...u32(callees.get(name) as number)]

  // biome-ignore format: one WebAssembly instruction per group reads better than one byte per line
  const readBody = [
    0,
    OP.localGet, 0, // ctx
    OP.localGet, 2, // size_t *plen
    OP.localGet, 1, OP.i64Load, 3, 0, // *value
    OP.i32Const, 0, // cesu8 = false
    ...call('JS_ToCStringLen2'),
    OP.end,
  ]
  // biome-ignore format: one WebAssembly instruction per group reads better than one byte per line
  const newBody = [
    0,
    OP.localGet, 0, OP.localGet, 1, OP.localGet, 2, // ctx, buf, len
    ...call('JS_NewStringLen'),
    ...call('jsvalue_to_heap'),
    OP.end,
  ]

  // (i32, i32, i32) -> i32, appended as a new type.
  const typeIndex = signatures.length
  const typesBody = [
    ...u32(signatures.length + 1),
    ...wasm.subarray(afterCount(wasm, typeSection.start), typeSection.end),
    0x60,
    3,
    I32,
    I32,
    I32,
    1,
    I32,
  ]
  const functionsBody = [
    ...u32(declared + 2),
    ...wasm.subarray(afterCount(wasm, functionSection.start), functionSection.end),
    ...u32(typeIndex),
    ...u32(typeIndex),
  ]
  const readIndex = imported + declared
  const newIndex = readIndex + 1
  const exportsBody = [
    ...u32(exports.length + 2),
    ...wasm.subarray(exports.entriesStart, exportSection.end),
    ...encodeString(STRING_READ_EXPORT),
    0x00,
    ...u32(readIndex),
    ...encodeString(STRING_NEW_EXPORT),
    0x00,
    ...u32(newIndex),
  ]
  const codeBody = [
    ...u32(bodies.length + 2),
    ...wasm.subarray(afterCount(wasm, codeSection.start), codeSection.end),
    ...u32(readBody.length),
    ...readBody,
    ...u32(newBody.length),
    ...newBody,
  ]

  const replaced = new Map<number, number[]>([
    [SECTION_TYPE, typesBody],
    [SECTION_FUNCTION, functionsBody],
    [SECTION_EXPORT, exportsBody],
    [SECTION_CODE, codeBody],
  ])
  const parts = sections.map((s) => section(s.id, replaced.get(s.id) ?? wasm.subarray(s.start, s.end)))
  const out = new Uint8Array(8 + parts.reduce((sum, part) => sum + part.length, 0))
  out.set(wasm.subarray(0, 8), 0)
  let offset = 8
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
