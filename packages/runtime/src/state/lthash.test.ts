import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LTHASH_BYTES, LtHash, ltHashElement } from './lthash.js'

const element = fc.uint8Array({ maxLength: 48 })
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe('LtHash', () => {
  it('expands an element deterministically to 1024 lanes', () => {
    const a = ltHashElement(Buffer.from('veil'))
    expect(a).toHaveLength(1024)
    expect(ltHashElement(Buffer.from('veil'))).toEqual(a)
    expect(ltHashElement(Buffer.from('veim'))).not.toEqual(a)
  })

  it('is order-independent', () => {
    fc.assert(
      fc.property(fc.array(element, { maxLength: 12 }), fc.infiniteStream(fc.nat()), (items, random) => {
        const forward = LtHash.empty()
        for (const item of items) forward.insert(item)
        const shuffled: Uint8Array[] = [...items]
        const rand = random[Symbol.iterator]()
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = (rand.next().value as number) % (i + 1)
          const held = shuffled[i] as Uint8Array
          shuffled[i] = shuffled[j] as Uint8Array
          shuffled[j] = held
        }
        const backward = LtHash.empty()
        for (const item of shuffled) backward.insert(item)
        expect(backward.digest()).toBe(forward.digest())
      }),
    )
  })

  it('removing undoes inserting, in any interleaving', () => {
    fc.assert(
      fc.property(fc.array(element, { maxLength: 8 }), element, (base, extra) => {
        const hash = LtHash.empty()
        for (const item of base) hash.insert(item)
        const before = hash.digest()
        hash.insert(extra)
        expect(hash.digest()).not.toBe(before)
        hash.remove(extra)
        expect(hash.digest()).toBe(before)
      }),
    )
  })

  it('is a multiset hash: multiplicity counts', () => {
    const once = LtHash.empty()
    once.insert(Buffer.from('a'))
    const twice = once.clone()
    twice.insert(Buffer.from('a'))
    expect(twice.digest()).not.toBe(once.digest())
    expect(twice.equals(once)).toBe(false)
  })

  it('distinguishes different multisets', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(element, { minLength: 1, maxLength: 6, selector: toHex }),
        element,
        (items, other) => {
          fc.pre(!items.some((item) => toHex(item) === toHex(other)))
          const a = LtHash.empty()
          const b = LtHash.empty()
          for (const item of items) a.insert(item)
          for (const item of items.slice(1)) b.insert(item)
          b.insert(other)
          expect(b.digest()).not.toBe(a.digest())
        },
      ),
    )
  })

  it('serialises lanes little-endian and round-trips', () => {
    const hash = LtHash.empty()
    hash.insert(Buffer.from('x'))
    const bytes = hash.toBytes()
    expect(bytes).toHaveLength(LTHASH_BYTES)
    const lanes = ltHashElement(Buffer.from('x'))
    expect((bytes[0] as number) | ((bytes[1] as number) << 8)).toBe(lanes[0])
    const back = LtHash.fromBytes(bytes)
    expect(back.equals(hash)).toBe(true)
    expect(back.digest()).toBe(hash.digest())
    expect(() => LtHash.fromBytes(new Uint8Array(10))).toThrow(RangeError)
  })

  it('clones are independent', () => {
    const a = LtHash.empty()
    const b = a.clone()
    b.insert(Buffer.from('y'))
    expect(a.equals(LtHash.empty())).toBe(true)
  })

  it('publishes a domain-separated SHA-256 of the vector', () => {
    expect(LtHash.empty().digest()).toMatch(/^0x[0-9a-f]{64}$/)
    // All-zero vector; pins the digest of an empty store.
    expect(LtHash.empty().digest()).toBe(
      `0x${createHash('sha256').update('veil/v1/state-digest\0').update(new Uint8Array(LTHASH_BYTES)).digest('hex')}`,
    )
  })
})
