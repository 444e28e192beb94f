import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { base64urlToBytes, bytesToBase64url, decodeValue, encodeValue, ValueEncodingError } from './value.js'

const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ unit: 'grapheme' }),
  fc.bigInt(),
  fc.uint8Array({ maxLength: 40 }),
)
const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('node'), { maxLength: 5 }),
    fc.dictionary(fc.string(), tie('node'), { maxKeys: 5 }),
  ),
})).node

describe('encodeValue / decodeValue', () => {
  it('round-trips any value and is canonical', () => {
    fc.assert(
      fc.property(value, (v) => {
        const text = encodeValue(v)
        const back = decodeValue(text)
        expect(encodeValue(back)).toBe(text)
      }),
      { numRuns: 400 },
    )
  })

  it('sorts keys and tags bigint and bytes', () => {
    expect(encodeValue({ b: 1, a: [1n, new Uint8Array([1, 2, 255])] })).toBe(
      '{"a":[{"$bigint":"1"},{"$bytes":"AQL_"}],"b":1}',
    )
  })

  it('escapes user keys that look like tags', () => {
    const v = { $bigint: '5' }
    const text = encodeValue(v)
    expect(text).toBe('{"$$bigint":"5"}')
    expect(decodeValue(text)).toEqual(v)
  })

  it('keeps __proto__ as data', () => {
    const back = decodeValue('{"__proto__":{"polluted":true}}') as Record<string, unknown>
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.keys(back)).toEqual(['__proto__'])
  })

  it('normalises -0 and drops undefined properties', () => {
    expect(encodeValue({ a: -0, b: undefined, c: [undefined] })).toBe('{"a":0,"c":[null]}')
    expect(encodeValue(undefined)).toBe('null')
  })

  it.each([
    [new Map(), 'Map'],
    [new Set(), 'Set'],
    [new Date(0), 'Date'],
    [() => 1, 'function'],
    [Symbol('x'), 'symbol'],
    [Number.NaN, 'finite'],
    [Number.POSITIVE_INFINITY, 'finite'],
    [new Uint16Array(2), 'binary view'],
    [new (class Point {})(), 'Point'],
  ])('refuses %s with a path', (bad, reason) => {
    expect(() => encodeValue({ x: [bad] }, 'result')).toThrow(ValueEncodingError)
    expect(() => encodeValue({ x: [bad] }, 'result')).toThrow(new RegExp(`result\\.x\\[0\\].*${reason}`))
  })

  it('refuses cycles and excessive depth', () => {
    const a: Record<string, unknown> = {}
    a.self = a
    expect(() => encodeValue(a)).toThrow(/circular/)
    let deep: unknown = 1
    for (let i = 0; i < 70; i++) deep = [deep]
    expect(() => encodeValue(deep)).toThrow(/deeper than 64/)
  })

  it('rejects malformed input', () => {
    expect(() => decodeValue('{')).toThrow(/not valid JSON/)
    expect(() => decodeValue('{"$bigint":"01"}')).toThrow(/malformed \$bigint/)
    expect(() => decodeValue('{"$bytes":"!!"}')).toThrow(/invalid character/)
    expect(() => decodeValue('{"$other":1}')).toThrow(/unknown tag/)
  })
})

describe('base64url', () => {
  it('matches Node for every length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const ours = bytesToBase64url(bytes)
        expect(ours).toBe(Buffer.from(bytes).toString('base64url'))
        expect(base64urlToBytes(ours)).toEqual(bytes)
      }),
    )
  })

  it('refuses non-canonical trailing bits', () => {
    expect(() => base64urlToBytes('AR')).toThrow(/non-canonical/)
    expect(base64urlToBytes('AQ')).toEqual(new Uint8Array([1]))
  })
})
