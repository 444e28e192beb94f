/**
 * UTF-8 TextEncoder and TextDecoder for the sandbox (QuickJS has neither). Guest-side code: it runs
 * inside QuickJS, so it may only use ECMAScript built-ins.
 */

const REPLACEMENT = 0xfffd
const CHUNK = 8192

/** Encodes a string as UTF-8; lone surrogates become U+FFFD, as in the WHATWG Encoding standard. */
export function utf8Encode(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 3)
  let o = 0
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00)
        i++
      } else {
        c = REPLACEMENT
      }
    }
    if (c < 0x80) {
      out[o++] = c
    } else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6)
      out[o++] = 0x80 | (c & 63)
    } else if (c < 0x10000) {
      out[o++] = 0xe0 | (c >> 12)
      out[o++] = 0x80 | ((c >> 6) & 63)
      out[o++] = 0x80 | (c & 63)
    } else {
      out[o++] = 0xf0 | (c >> 18)
      out[o++] = 0x80 | ((c >> 12) & 63)
      out[o++] = 0x80 | ((c >> 6) & 63)
      out[o++] = 0x80 | (c & 63)
    }
  }
  return out.slice(0, o)
}

/**
 * Decodes UTF-8. Invalid sequences become U+FFFD per maximal subpart (WHATWG), or throw a TypeError
 * when `fatal` is set.
 */
export function utf8Decode(bytes: Uint8Array, fatal: boolean): string {
  const units: number[] = []
  let out = ''
  let i = 0
  const bad = (): void => {
    if (fatal) throw new TypeError('The encoded data was not valid UTF-8')
    units.push(REPLACEMENT)
  }
  while (i < bytes.length) {
    const b = bytes[i] as number
    i++
    if (b < 0x80) {
      units.push(b)
    } else {
      let need = 0
      let lower = 0x80
      let upper = 0xbf
      let cp = 0
      if (b >= 0xc2 && b <= 0xdf) {
        need = 1
        cp = b & 0x1f
      } else if (b >= 0xe0 && b <= 0xef) {
        need = 2
        cp = b & 0x0f
        if (b === 0xe0) lower = 0xa0
        if (b === 0xed) upper = 0x9f
      } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3
        cp = b & 0x07
        if (b === 0xf0) lower = 0x90
        if (b === 0xf4) upper = 0x8f
      } else {
        bad()
      }
      let ok = need > 0
      for (let k = 0; k < need; k++) {
        const next = bytes[i]
        if (next === undefined || next < lower || next > upper) {
          ok = false
          break
        }
        cp = (cp << 6) | (next & 0x3f)
        lower = 0x80
        upper = 0xbf
        i++
      }
      if (need > 0 && !ok) bad()
      else if (ok) {
        if (cp >= 0x10000) {
          cp -= 0x10000
          units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff))
        } else {
          units.push(cp)
        }
      }
    }
    if (units.length >= CHUNK) {
      out += String.fromCharCode.apply(null, units)
      units.length = 0
    }
  }
  return out + String.fromCharCode.apply(null, units)
}

/** Returns the bytes viewed by an ArrayBuffer, a typed array or a DataView. */
export function viewBytes(input: unknown): Uint8Array {
  if (input === undefined) return new Uint8Array(0)
  if (input instanceof ArrayBuffer) return new Uint8Array(input)
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
  throw new TypeError('The "input" argument must be an ArrayBuffer or an ArrayBufferView')
}

/** `TextEncoder` (UTF-8 only, as in the standard). */
export class SandboxTextEncoder {
  get encoding(): string {
    return 'utf-8'
  }

  encode(input: unknown = ''): Uint8Array {
    return utf8Encode(String(input))
  }

  encodeInto(source: unknown, destination: Uint8Array): { read: number; written: number } {
    const text = String(source)
    let read = 0
    let written = 0
    for (let i = 0; i < text.length; ) {
      const code = text.codePointAt(i) ?? 0
      const units = code > 0xffff ? 2 : 1
      const encoded = utf8Encode(text.slice(i, i + units))
      if (written + encoded.length > destination.length) break
      destination.set(encoded, written)
      written += encoded.length
      read += units
      i += units
    }
    return { read, written }
  }
}

const UTF8_LABELS = [
  'utf-8',
  'utf8',
  'unicode-1-1-utf-8',
  'unicode11utf8',
  'unicode20utf8',
  'x-unicode20utf8',
]

/** `TextDecoder` for UTF-8 (the only encoding contracts need); other labels throw a RangeError. */
export class SandboxTextDecoder {
  readonly fatal: boolean
  readonly ignoreBOM: boolean

  constructor(label: unknown = 'utf-8', options: { fatal?: unknown; ignoreBOM?: unknown } = {}) {
    const normalized = String(label).trim().toLowerCase()
    if (!UTF8_LABELS.includes(normalized)) {
      throw new RangeError(`The encoding "${String(label)}" is not supported in the sandbox (only UTF-8)`)
    }
    this.fatal = Boolean(options.fatal)
    this.ignoreBOM = Boolean(options.ignoreBOM)
  }

  get encoding(): string {
    return 'utf-8'
  }

  decode(input?: unknown, options: { stream?: unknown } = {}): string {
    if (options.stream) throw new TypeError('Streaming decode is not supported in the sandbox')
    let bytes = viewBytes(input)
    if (!this.ignoreBOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
      bytes = bytes.subarray(3)
    return utf8Decode(bytes, this.fatal)
  }
}
