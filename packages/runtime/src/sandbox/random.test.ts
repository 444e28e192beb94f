import { shake256 } from '@noble/hashes/sha3.js'
import { describe, expect, it } from 'vitest'
import { deterministicRandom, mathRandomSeed, pooledRandom } from './random.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

describe('command randomness', () => {
  it('derives the Math.random seed as SHAKE256(domain ‖ seed), 16 bytes', () => {
    for (let i = 0; i < 20; i++) {
      const seed = Uint8Array.from({ length: 32 }, (_, k) => (k * 31 + i * 7) & 0xff)
      const expected = shake256
        .create({ dkLen: 16 })
        .update(new TextEncoder().encode('veil/sandbox/math.random/v1'))
        .update(seed)
        .digest()
      expect(mathRandomSeed(seed)).toBe(hex(expected))
    }
  })

  it('streams ctx.random bytes from the seed as given at creation', () => {
    const seed = new Uint8Array(32).fill(5)
    const a = deterministicRandom(seed)
    seed.fill(6) // the caller reuses its buffer: the stream must not change
    const b = deterministicRandom(new Uint8Array(32).fill(5))
    expect(hex(Uint8Array.from([...a(3), ...a(5)]))).toBe(hex(b(8)))
  })
})

describe('pooled system randomness', () => {
  it('never hands out the same bytes twice, across refills', () => {
    const random = pooledRandom(256)
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const draw = hex(random(16)) // 16 random bytes: a repeat would be a pool bug, not chance
      expect(seen.has(draw)).toBe(false)
      seen.add(draw)
    }
  })

  it('returns copies the pool never touches again', () => {
    const random = pooledRandom(64)
    const first = random(16)
    const kept = hex(first)
    for (let i = 0; i < 20; i++) random(16) // several refills
    expect(hex(first)).toBe(kept)
  })

  it('serves exact lengths, including empty and larger than the pool', () => {
    const random = pooledRandom(64)
    expect(random(0).length).toBe(0)
    expect(random(13).length).toBe(13)
    expect(random(1000).length).toBe(1000)
    expect(random(64).length).toBe(64)
  })

  it('refuses a bad length without disturbing what it hands out next', () => {
    const random = pooledRandom(256)
    const seen = new Set<string>()
    for (const bad of [-1, -16, Number.NaN, 1.5, Number.POSITIVE_INFINITY]) {
      expect(() => random(bad)).toThrow(RangeError)
      const draw = random(16)
      expect(draw.length).toBe(16)
      expect(seen.has(hex(draw))).toBe(false)
      seen.add(hex(draw))
    }
  })

  it('looks uniform (every byte value appears)', () => {
    const random = pooledRandom()
    const counts = new Array<number>(256).fill(0)
    for (let i = 0; i < 1000; i++) for (const byte of random(32)) counts[byte] = (counts[byte] ?? 0) + 1
    // 32,000 bytes: each value is expected 125 times; missing one would be a 1-in-10^50 event.
    expect(counts.every((c) => c > 50)).toBe(true)
  })
})
