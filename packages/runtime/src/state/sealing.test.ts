import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { StateIntegrityError } from './errors.js'
import {
  deriveContractStateKeys,
  hashStateKey,
  NONCE_BYTES,
  open,
  receiptAssociatedData,
  seal,
  stateAssociatedData,
  TAG_BYTES,
} from './sealing.js'
import { testSecrets } from './testing.js'

const secrets = testSecrets()
const keysA = deriveContractStateKeys('1', secrets.contractSecret('1'))
const keysB = deriveContractStateKeys('2', secrets.contractSecret('2'))
const blockHash = Buffer.alloc(32, 7)
const otherBlock = Buffer.alloc(32, 8)
const hk = (key: string) => hashStateKey(keysA, Buffer.from(key))

describe('deriveContractStateKeys', () => {
  it('derives four distinct subkeys, different per contract', () => {
    const all = [keysA, keysB]
      .flatMap((k) => [k.aeadKey, k.keyMacKey, k.nonceKey, k.digestSalt])
      .map((b) => b.toString('hex'))
    expect(new Set(all).size).toBe(8)
    for (const key of all) expect(key).toHaveLength(64)
  })

  it('hashes state keys per contract', () => {
    expect(hashStateKey(keysA, Buffer.from('n'))).toHaveLength(32)
    expect(hashStateKey(keysA, Buffer.from('n'))).toEqual(hashStateKey(keysA, Buffer.from('n')))
    expect(hashStateKey(keysA, Buffer.from('n'))).not.toEqual(hashStateKey(keysB, Buffer.from('n')))
    expect(hashStateKey(keysA, Buffer.from('n'))).not.toEqual(hashStateKey(keysA, Buffer.from('m')))
  })
})

describe('seal / open', () => {
  it('round-trips any value with its associated data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string(), (plaintext, key) => {
        const ad = stateAssociatedData('1', hk(key))
        const sealed = seal(keysA, ad, plaintext, blockHash)
        expect(sealed).toHaveLength(NONCE_BYTES + plaintext.length + TAG_BYTES)
        expect(new Uint8Array(open(keysA, ad, sealed, 'value'))).toEqual(plaintext)
      }),
    )
  })

  it('is deterministic for equal inputs and fresh for another block or value', () => {
    const ad = stateAssociatedData('1', hk('n'))
    const a = seal(keysA, ad, Buffer.from('"v"'), blockHash)
    expect(seal(keysA, ad, Buffer.from('"v"'), blockHash)).toEqual(a)
    const laterBlock = seal(keysA, ad, Buffer.from('"v"'), otherBlock)
    const otherValue = seal(keysA, ad, Buffer.from('"w"'), blockHash)
    // Synthetic nonces: a different block or plaintext never reuses the nonce.
    expect(laterBlock.subarray(0, NONCE_BYTES)).not.toEqual(a.subarray(0, NONCE_BYTES))
    expect(otherValue.subarray(0, NONCE_BYTES)).not.toEqual(a.subarray(0, NONCE_BYTES))
  })

  it('refuses a value moved to another key, another contract, or a receipt slot', () => {
    const sealed = seal(keysA, stateAssociatedData('1', hk('balance')), Buffer.from('100'), blockHash)
    const attempts: Array<[typeof keysA, Buffer]> = [
      [keysA, stateAssociatedData('1', hk('other'))],
      [keysA, stateAssociatedData('2', hk('balance'))],
      [keysB, stateAssociatedData('2', hashStateKey(keysB, Buffer.from('balance')))],
      [keysA, receiptAssociatedData(Buffer.alloc(32, 1), '1')],
    ]
    for (const [keys, ad] of attempts) {
      expect(() => open(keys, ad, sealed, 'state value')).toThrow(StateIntegrityError)
    }
  })

  it('refuses any tampered byte or truncation', () => {
    const ad = stateAssociatedData('1', hk('n'))
    const sealed = seal(keysA, ad, Buffer.from('{"a":1}'), blockHash)
    for (let i = 0; i < sealed.length; i++) {
      const copy = Buffer.from(sealed)
      copy[i] = (copy[i] as number) ^ 0x01
      expect(() => open(keysA, ad, copy, 'state value')).toThrow(/failed its integrity check/)
    }
    expect(() => open(keysA, ad, sealed.subarray(0, 20), 'state value')).toThrow(/truncated/)
  })

  it('binds receipts to their transaction hash', () => {
    const ad = receiptAssociatedData(Buffer.alloc(32, 1), '1')
    const sealed = seal(keysA, ad, Buffer.from('ok'), blockHash)
    expect(open(keysA, ad, sealed, 'receipt').toString()).toBe('ok')
    expect(() => open(keysA, receiptAssociatedData(Buffer.alloc(32, 2), '1'), sealed, 'receipt')).toThrow(
      StateIntegrityError,
    )
  })
})
