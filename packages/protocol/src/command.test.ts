import { describe, expect, it } from 'vitest'
import {
  decodeCommandPayload,
  decodeInitPayload,
  encodeCommandPayload,
  encodeInitPayload,
  PayloadError,
  PayloadFormat,
} from './command.js'

describe('command payloads', () => {
  it('round-trips a call with bigint and bytes arguments', () => {
    const payload = encodeCommandPayload({ method: 'add', args: [5n, new Uint8Array([1, 2]), { a: 1 }] })
    expect(payload[0]).toBe(PayloadFormat.plain)
    expect(decodeCommandPayload(payload)).toEqual({
      format: 'plain',
      value: { method: 'add', args: [5n, new Uint8Array([1, 2]), { a: 1 }] },
    })
  })

  it('hands sealed payloads back unopened', () => {
    const decoded = decodeCommandPayload(new Uint8Array([PayloadFormat.sealed, 9, 9]))
    expect(decoded).toEqual({ format: 'sealed', body: new Uint8Array([9, 9]) })
  })

  it.each([
    ['empty', new Uint8Array(0), /unknown payload format/],
    ['unknown format', new Uint8Array([7, 1]), /unknown payload format/],
    ['bad utf8', new Uint8Array([0, 0xff, 0xfe]), /UTF-8/],
    ['bad json', new Uint8Array([0, 0x7b]), /not valid Veil JSON/],
    ['not an object', new TextEncoder().encode('\u0000[1]'), /object/],
    ['bad method', new TextEncoder().encode('\u0000{"method":"a b","args":[]}'), /invalid method name/],
    ['args not array', new TextEncoder().encode('\u0000{"method":"a","args":1}'), /must be an array/],
  ])('rejects %s with a PayloadError', (_name, payload, message) => {
    expect(() => decodeCommandPayload(payload)).toThrow(PayloadError)
    expect(() => decodeCommandPayload(payload)).toThrow(message)
  })

  it('refuses to encode a bad method name', () => {
    expect(() => encodeCommandPayload({ method: '', args: [] })).toThrow(/invalid method name/)
    expect(() => encodeCommandPayload({ method: 'x'.repeat(129), args: [] })).toThrow(/invalid method name/)
  })

  it('encodes init arguments, with empty meaning none', () => {
    expect(encodeInitPayload(undefined)).toEqual(new Uint8Array(0))
    expect(decodeInitPayload(new Uint8Array(0))).toEqual({ format: 'plain', value: undefined })
    expect(decodeInitPayload(encodeInitPayload({ start: 5n }))).toEqual({
      format: 'plain',
      value: { start: 5n },
    })
  })
})
