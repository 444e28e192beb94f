/**
 * Strings across the guest boundary, by explicit length.
 *
 * quickjs-emscripten's `getString` and `newString` move strings as C strings, so U+0000 ended them: a key
 * `'a\0b'` reached the host as `'a'` and two keys shared one record. It also decoded with a non-fatal
 * `TextDecoder`, which replaced every unpaired surrogate with U+FFFD and dropped a leading U+FEFF, two more
 * ways for different strings to arrive equal. Everything the host reads from or hands to the guest as a
 * string goes through `GuestStrings` instead: it passes the byte length explicitly, using the functions
 * `wasm-strings.ts` adds to the binary (`JS_ToCStringLen2` and `JS_NewStringLen`).
 *
 * The bytes are UTF-8, with an unpaired surrogate in its 3-byte form (generalised UTF-8, as QuickJS writes
 * and reads it), so every string, NUL and unpaired surrogates included, crosses unit for unit in both
 * directions. Deciding which strings are acceptable (storage keys must be well-formed) is the caller's job.
 */
import { type JSValue, Lifetime, type QuickJSContext, type QuickJSHandle } from 'quickjs-emscripten-core'
import { GuestError } from './invocation.js'
import type { WasmStringFunctions } from './quickjs-wasm.js'

// Fatal: QuickJS's output is valid UTF-8 except for unpaired surrogates, decoded separately below.
// ignoreBOM: a leading U+FEFF is part of the string (the default decoder strips it).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const utf8 = new TextEncoder()
type JSValuePointer = JSValue['value']

/** UTF-16 units per `String.fromCharCode` call. */
const UNITS_PER_CHUNK = 8192

/** `String.prototype.isWellFormed` (Node 20, not in the ES2023 typings): no unpaired surrogate. */
function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed()
}

/**
 * Encodes `text` as UTF-8 with unpaired surrogates in their 3-byte form into `out`, which must hold
 * `Buffer.byteLength(text)` bytes (a U+FFFD replacement has the same 3 bytes). Returns the length.
 */
export function encodeGuestText(text: string, out: Uint8Array): number {
  if (isWellFormed(text)) return utf8.encodeInto(text, out).written
  let o = 0
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00)
        i++
      }
    }
    if (c < 0x80) {
      out[o++] = c
    } else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6)
      out[o++] = 0x80 | (c & 0x3f)
    } else if (c < 0x10000) {
      out[o++] = 0xe0 | (c >> 12)
      out[o++] = 0x80 | ((c >> 6) & 0x3f)
      out[o++] = 0x80 | (c & 0x3f)
    } else {
      out[o++] = 0xf0 | (c >> 18)
      out[o++] = 0x80 | ((c >> 12) & 0x3f)
      out[o++] = 0x80 | ((c >> 6) & 0x3f)
      out[o++] = 0x80 | (c & 0x3f)
    }
  }
  return o
}

/** Decodes what `encodeGuestText` (or QuickJS) wrote: UTF-8 with unpaired surrogates in their 3-byte form. */
export function decodeGuestText(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    // Only an unpaired surrogate makes QuickJS's output invalid UTF-8: decode it unit for unit.
  }
  const at = (i: number): number => (bytes[i] ?? 0) & 0x3f
  const units: number[] = []
  let out = ''
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i] as number
    let c: number
    if (b < 0x80) {
      c = b
      i += 1
    } else if (b < 0xe0) {
      c = ((b & 0x1f) << 6) | at(i + 1)
      i += 2
    } else if (b < 0xf0) {
      c = ((b & 0x0f) << 12) | (at(i + 1) << 6) | at(i + 2)
      i += 3
    } else {
      c = ((b & 0x07) << 18) | (at(i + 1) << 12) | (at(i + 2) << 6) | at(i + 3)
      i += 4
    }
    if (c >= 0x10000) units.push(0xd800 + ((c - 0x10000) >> 10), 0xdc00 + ((c - 0x10000) & 0x3ff))
    else units.push(c)
    if (units.length >= UNITS_PER_CHUNK) {
      out += String.fromCharCode(...units)
      units.length = 0
    }
  }
  return out + String.fromCharCode(...units)
}

/** Reads and creates guest strings of one QuickJS context by explicit length (see the module comment). */
export class GuestStrings {
  private readonly ctx: number
  /** A u32 the length of a read is written to; allocated once, before the snapshot. */
  private readonly lengthSlot: number
  private readonly copyValue: (value: JSValuePointer) => JSValuePointer
  private readonly freeValue: (value: JSValuePointer) => void

  constructor(
    private readonly context: QuickJSContext,
    private readonly memory: WebAssembly.Memory,
    private readonly wasm: WasmStringFunctions,
  ) {
    // quickjs-emscripten keeps the JSContext pointer private.
    this.ctx = (context as unknown as { ctx: { value: number } }).ctx.value
    this.lengthSlot = wasm.malloc(4)
    if (this.lengthSlot === 0) throw new Error('QuickJS could not allocate 4 bytes')
    this.copyValue = (value) => wasm.dupValue(this.ctx, value) as JSValuePointer
    this.freeValue = (value) => wasm.freeValue(this.ctx, value)
  }

  /**
   * The exact text of a guest string. `handle` must hold a string: for any other value QuickJS would
   * convert it, running guest code. Check the length first; this copies it all.
   */
  read(handle: QuickJSHandle): string {
    this.context.runtime.assertOwned(handle)
    const bytes = this.wasm.read(this.ctx, handle.value, this.lengthSlot)
    // QuickJS allocates a copy unless the string is ASCII; it could not.
    if (bytes === 0) throw new GuestError('InternalError', 'out of memory')
    try {
      const length = new DataView(this.memory.buffer).getUint32(this.lengthSlot, true)
      return decodeGuestText(new Uint8Array(this.memory.buffer, bytes, length))
    } finally {
      this.wasm.freeCString(this.ctx, bytes)
    }
  }

  /** A new guest string with exactly the units of `text`. */
  create(text: string): QuickJSHandle {
    const length = Buffer.byteLength(text, 'utf8')
    const bytes = this.wasm.malloc(Math.max(length, 1))
    if (bytes === 0) throw new GuestError('InternalError', 'out of memory')
    let value: number
    try {
      // Take the buffer after malloc: growing the memory replaces it.
      if (encodeGuestText(text, new Uint8Array(this.memory.buffer, bytes, length)) !== length) {
        throw new Error('guest string length mismatch')
      }
      value = this.wasm.create(this.ctx, bytes, length)
    } finally {
      this.wasm.free(bytes)
    }
    if (value === 0) throw new GuestError('InternalError', 'out of memory')
    return new Lifetime(value as JSValuePointer, this.copyValue, this.freeValue, this.context.runtime)
  }

  /**
   * A guest `Error` with this name and message: what quickjs-emscripten makes of an error a host function
   * throws, but with exact strings.
   */
  error(name: string, message: string): QuickJSHandle {
    const error = this.context.newError()
    for (const [key, text] of [
      ['name', name],
      ['message', message],
    ] as const) {
      const value = this.create(text)
      this.context.setProp(error, key, value)
      value.dispose()
    }
    return error
  }
}
