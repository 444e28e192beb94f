import { shake256 } from '@noble/hashes/sha3.js'
import { describe, expect, it } from 'vitest'
import { deterministicRandom, mathRandomSeed } from './random.js'

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
