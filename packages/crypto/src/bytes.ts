/**
 * Internal byte helpers shared by the HPKE and signature modules. Browser-safe (no Node imports); not
 * exported from the package.
 */

import type { Hex } from '@veil/protocol'

const HEX_RE = /^0x(?:[0-9a-fA-F]{2})*$/
const utf8 = new TextEncoder()

/** An empty byte string; shared, never written to. */
export const EMPTY = new Uint8Array(0)

/** Bytes from a `0x` hex string or a Uint8Array (returned as is, not copied). Returns undefined if neither. */
export function parseBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value
  if (typeof value === 'string' && HEX_RE.test(value)) {
    const out = new Uint8Array((value.length - 2) / 2)
    for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(value.slice(2 + 2 * i, 4 + 2 * i), 16)
    return out
  }
  return undefined
}

/** `0x`-prefixed lowercase hex. */
export function toHex(bytes: Uint8Array): Hex {
  let out = '0x'
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0')
  return out as Hex
}

/** UTF-8 bytes of a string, or the bytes themselves. */
export function labelBytes(value: Uint8Array | string): Uint8Array {
  return typeof value === 'string' ? utf8.encode(value) : value
}

/** Concatenates byte strings into a new array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** I2OSP(n, 2) of RFC 8017 / RFC 9180: `n` as two big-endian bytes. */
export function u16be(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff)
}

/** True if a string contains an unpaired UTF-16 surrogate (which UTF-8 encodes as U+FFFD, losing information). */
export function hasLoneSurrogate(text: string): boolean {
  return /\p{Cs}/u.test(text)
}
