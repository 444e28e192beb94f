import { encodeValue } from '@veil/protocol'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalValueProblem, utf8Length } from './value-check.js'

describe('canonicalValueProblem', () => {
  it('accepts every canonical encoding', () => {
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(
        fc.constant(null),
        fc.boolean(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.string(),
        fc.bigInt(),
        fc.uint8Array(),
      ),
      node: fc.oneof(
        { depthSize: 'small' },
        tie('leaf'),
        fc.array(tie('node')),
        fc.dictionary(fc.string(), tie('node')),
      ),
    })).node
    fc.assert(fc.property(value, (v) => canonicalValueProblem(encodeValue(v)) === undefined))
  })

  it('refuses non-canonical or malformed texts', () => {
    expect(canonicalValueProblem('{"b":1,"a":2}')).toBe('not in canonical form')
    expect(canonicalValueProblem('[1, 2]')).toBe('not in canonical form')
    expect(canonicalValueProblem('1.0')).toBe('not in canonical form')
    expect(canonicalValueProblem('{')).toMatch(/not valid JSON/)
    expect(canonicalValueProblem('{"$nope":1}')).toMatch(/unknown tag/)
    expect(canonicalValueProblem(`${'['.repeat(100)}${']'.repeat(100)}`)).toMatch(/deeper than/)
    expect(canonicalValueProblem(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)).toMatch(/deeper than/)
  })

  it('measures UTF-8 lengths', () => {
    expect(utf8Length('abc')).toBe(3)
    expect(utf8Length('é€\u{1f600}')).toBe(2 + 3 + 4)
  })
})
