/**
 * Veil's one deterministic encoding for values that cross a boundary (contract arguments, results,
 * storage values, events): JSON plus `bigint` and `Uint8Array`.
 *
 * - Object keys are sorted (UTF-16 code unit order), so equal values encode to equal bytes everywhere.
 * - `bigint` → `{"$bigint":"<decimal>"}`; `Uint8Array` → `{"$bytes":"<base64url, no padding>"}`.
 * - Plain-object keys that start with `$` are escaped by doubling the `$`, so user data never collides
 *   with a tag.
 * - Numbers must be finite; `-0` encodes as `0`. `undefined` properties are dropped, `undefined` array
 *   items become `null`, a top-level `undefined` encodes as `null`.
 * - Anything else (Map, Set, Date, class instances, functions, symbols, cycles) is refused with the path
 *   to the offending value.
 *
 * This module must stay free of Node and DOM APIs: the same source is bundled into the sandbox prelude,
 * so that guest and host encode identically.
 */

export const MAX_VALUE_DEPTH = 64

export class ValueEncodingError extends Error {
  override name = 'ValueEncodingError'
  readonly path: string
  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`)
    this.path = path
  }
}

export type VeilValue =
  | null
  | boolean
  | number
  | string
  | bigint
  | Uint8Array
  | VeilValue[]
  | { [key: string]: VeilValue | undefined }

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

export function bytesToBase64url(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number)
    out +=
      B64.charAt(n >>> 18) + B64.charAt((n >>> 12) & 63) + B64.charAt((n >>> 6) & 63) + B64.charAt(n & 63)
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = (bytes[i] as number) << 16
    out += B64.charAt(n >>> 18) + B64.charAt((n >>> 12) & 63)
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8)
    out += B64.charAt(n >>> 18) + B64.charAt((n >>> 12) & 63) + B64.charAt((n >>> 6) & 63)
  }
  return out
}

const B64_INDEX: Record<string, number> = {}
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charAt(i)] = i

/** Decodes unpadded base64url; throws on any other alphabet, padding or a dangling character. */
export function base64urlToBytes(text: string): Uint8Array {
  if (text.length % 4 === 1) throw new ValueEncodingError('base64url', 'invalid length')
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let o = 0
  let acc = 0
  let bits = 0
  for (let i = 0; i < text.length; i++) {
    const v = B64_INDEX[text.charAt(i)]
    if (v === undefined) throw new ValueEncodingError('base64url', `invalid character at ${i}`)
    acc = (acc << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >>> bits) & 0xff
    }
  }
  // Non-canonical encodings (non-zero leftover bits) would give two texts for one value.
  if ((acc & ((1 << bits) - 1)) !== 0)
    throw new ValueEncodingError('base64url', 'non-canonical trailing bits')
  return out
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function escapeKey(key: string): string {
  return key.charCodeAt(0) === 36 /* $ */ ? `$${key}` : key
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'symbol') return 'a symbol'
  if (value instanceof Map) return 'a Map (use an object or an array of pairs)'
  if (value instanceof Set) return 'a Set (use an array)'
  if (value instanceof Date) return 'a Date (use getTime() or toISOString())'
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return 'a binary view other than Uint8Array'
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === 'string' && name ? `an instance of ${name}` : 'a non-plain object'
}

function encodeInto(value: unknown, path: string, depth: number, stack: object[]): string {
  switch (typeof value) {
    case 'undefined':
      return 'null'
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) throw new ValueEncodingError(path, `${value} is not a finite number`)
      return Object.is(value, -0) ? '0' : String(value)
    case 'string':
      return JSON.stringify(value)
    case 'bigint':
      return `{"$bigint":"${value.toString()}"}`
    case 'object': {
      if (value === null) return 'null'
      if (depth >= MAX_VALUE_DEPTH)
        throw new ValueEncodingError(path, `nested deeper than ${MAX_VALUE_DEPTH} levels`)
      if (stack.includes(value)) throw new ValueEncodingError(path, 'circular reference')
      if (value instanceof Uint8Array && Object.getPrototypeOf(value) === Uint8Array.prototype) {
        return `{"$bytes":"${bytesToBase64url(value)}"}`
      }
      stack.push(value)
      let out: string
      if (Array.isArray(value)) {
        const parts: string[] = []
        for (let i = 0; i < value.length; i++)
          parts.push(encodeInto(value[i], `${path}[${i}]`, depth + 1, stack))
        out = `[${parts.join(',')}]`
      } else {
        if (!isPlainObject(value)) throw new ValueEncodingError(path, `${describe(value)} cannot be encoded`)
        const keys = Object.keys(value).sort()
        const parts: string[] = []
        for (const key of keys) {
          const item = (value as Record<string, unknown>)[key]
          if (item === undefined) continue
          parts.push(
            `${JSON.stringify(escapeKey(key))}:${encodeInto(item, `${path}.${key}`, depth + 1, stack)}`,
          )
        }
        out = `{${parts.join(',')}}`
      }
      stack.pop()
      return out
    }
    default:
      throw new ValueEncodingError(path, `${describe(value)} cannot be encoded`)
  }
}

/** Encodes a value to Veil's canonical JSON text. `path` names the root in error messages. */
export function encodeValue(value: unknown, path = 'value'): string {
  return encodeInto(value, path, 0, [])
}

/**
 * The path of the node being revived, as its keys from the root: kept as a stack and turned into text
 * only for an error (building `root.a[3].b` for every node cost more than the rest of decoding).
 */
function pathText(root: string, keys: readonly (string | number)[]): string {
  let out = root
  for (const key of keys) out += typeof key === 'number' ? `[${key}]` : `.${key}`
  return out
}

function reviveNode(node: unknown, root: string, keys: (string | number)[]): unknown {
  if (node === null || typeof node !== 'object') return node
  if (Array.isArray(node)) {
    const out = new Array<unknown>(node.length)
    for (let i = 0; i < node.length; i++) {
      keys.push(i)
      out[i] = reviveNode(node[i], root, keys)
      keys.pop()
    }
    return out
  }
  const record = node as Record<string, unknown>
  const names = Object.keys(record)
  if (names.length === 1) {
    const tag = names[0]
    const payload = record[tag as string]
    if (tag === '$bigint') {
      if (typeof payload !== 'string' || !/^-?(0|[1-9][0-9]*)$/.test(payload) || payload === '-0') {
        throw new ValueEncodingError(pathText(root, keys), 'malformed $bigint')
      }
      return BigInt(payload)
    }
    if (tag === '$bytes') {
      if (typeof payload !== 'string') throw new ValueEncodingError(pathText(root, keys), 'malformed $bytes')
      return base64urlToBytes(payload)
    }
  }
  const out: Record<string, unknown> = {}
  for (const key of names) {
    const escaped = key.charCodeAt(0) === 36
    if (escaped && key.charCodeAt(1) !== 36) {
      throw new ValueEncodingError(pathText(root, keys), `unknown tag or unescaped key "${key}"`)
    }
    const plainKey = escaped ? key.slice(1) : key
    keys.push(plainKey)
    const value = reviveNode(record[key], root, keys)
    keys.pop()
    if (plainKey === '__proto__') {
      // defineProperty, not assignment: a key named "__proto__" must stay data, never a prototype.
      Object.defineProperty(out, plainKey, { value, enumerable: true, writable: true, configurable: true })
    } else {
      out[plainKey] = value
    }
  }
  return out
}

/** Decodes Veil canonical JSON text. Throws `ValueEncodingError` on malformed input. */
export function decodeValue(text: string, path = 'value'): unknown {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new ValueEncodingError(path, `not valid JSON (${(error as Error).message})`)
  }
  return reviveNode(parsed, path, [])
}
