import { UsageError } from '@veil/protocol'
import { describe, expect, it } from 'vitest'
import { parseValueArg, showValue, taggedJson } from './values.js'

describe('parseValueArg', () => {
  it.each<[string, unknown]>([
    ['5', 5],
    ['-1.5', -1.5],
    ['"text"', 'text'],
    ['{"a":1}', { a: 1 }],
    ['[1,"x",null]', [1, 'x', null]],
    ['true', true],
    ['null', null],
    ['5n', 5n],
    ['-12n', -12n],
    ['{"$bigint":"123456789012345678901234567890"}', 123456789012345678901234567890n],
    ['{"$bytes":"AQI"}', Uint8Array.of(1, 2)],
    ['{"$$price":1}', { $price: 1 }],
    ['hello', 'hello'],
    ['hello world', 'hello world'],
    ['0x1234', '0x1234'],
    ['', ''],
  ])('%s', (text, value) => {
    expect(parseValueArg(text)).toEqual(value)
  })

  it('refuses broken JSON and unknown tags with a usage error', () => {
    expect(() => parseValueArg('{"a":')).toThrow(UsageError)
    expect(() => parseValueArg('[1,')).toThrow('not valid JSON')
    expect(() => parseValueArg('{"$nope":1}', 'arg 1')).toThrow('arg 1 is not a valid Veil value')
  })
})

describe('value output', () => {
  it('keeps bigint and bytes tags in JSON and shows canonical JSON to people', () => {
    expect(taggedJson({ n: 5n, b: Uint8Array.of(255) })).toEqual({ b: { $bytes: '_w' }, n: { $bigint: '5' } })
    expect(showValue({ n: 5n })).toBe('{"n":{"$bigint":"5"}}')
  })
})
