import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keccak256 } from './ethereum.js'
import { keccakImplementation, keccakReady, nobleKeccak256 } from './keccak.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const utf8 = new TextEncoder()

describe('keccak256', () => {
  it('runs on WebAssembly once loaded', async () => {
    await keccakReady
    expect(keccakImplementation()).toBe('wasm')
  })

  it('matches the published values', async () => {
    await keccakReady
    expect(hex(keccak256(new Uint8Array()))).toBe(
      'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
    )
    // The ERC-20 Transfer event topic.
    expect(hex(keccak256(utf8.encode('Transfer(address,address,uint256)')))).toBe(
      'ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef',
    )
  })

  it('equals noble on any input, across block boundaries', async () => {
    await keccakReady
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (data) => {
        expect(hex(keccak256(data))).toBe(hex(nobleKeccak256(data)))
      }),
      { numRuns: 500 },
    )
    for (const length of [135, 136, 137, 271, 272, 273]) {
      const data = new Uint8Array(length).map((_, i) => i)
      expect(hex(keccak256(data))).toBe(hex(nobleKeccak256(data)))
    }
  })

  it('returns a fresh array every call (callers may keep or overwrite it)', async () => {
    await keccakReady
    const a = keccak256(utf8.encode('a'))
    const copy = hex(a)
    keccak256(utf8.encode('b'))
    expect(hex(a)).toBe(copy) // not a view the next hash overwrites
    a.fill(0)
    expect(hex(keccak256(utf8.encode('a')))).toBe(copy) // nor one the hasher reads back
  })

  it('still refuses what is not bytes', () => {
    expect(() => keccak256('abc' as unknown as Uint8Array)).toThrow(/must be a Uint8Array/)
  })
})
