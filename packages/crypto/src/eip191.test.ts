import fc from 'fast-check'
import { type Hex, hashMessage, recoverMessageAddress, toHex, verifyMessage } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { hashPersonalMessage, recoverPersonalMessageAddress, signPersonalMessage } from './eip191.js'
import { privateKeyToAddress, SignatureInputError, SignatureInvalidError } from './ethereum.js'

const KEY: Hex = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318'
const viemMessage = (message: string | Uint8Array) =>
  typeof message === 'string' ? message : { raw: message }

describe('EIP-191 personal messages', () => {
  it('hashes like viem’s hashMessage, for text and raw bytes', () => {
    expect(toHex(hashPersonalMessage('hello'))).toBe(hashMessage('hello'))
    expect(toHex(hashPersonalMessage(''))).toBe(hashMessage(''))
    expect(toHex(hashPersonalMessage('prix €'))).toBe(hashMessage('prix €'))
    const raw = Uint8Array.of(0, 1, 2, 255)
    expect(toHex(hashPersonalMessage(raw))).toBe(hashMessage({ raw }))
    // A text that looks like hex is still text (viem agrees).
    expect(toHex(hashPersonalMessage('0x1234'))).toBe(hashMessage('0x1234'))
  })

  it('signs exactly what viem’s signMessage signs (RFC 6979, low s, v = 27/28)', async () => {
    const account = privateKeyToAccount(KEY)
    for (const message of ['hello', '', 'ETH/USD 3150.25', 'a'.repeat(1000), Uint8Array.of(1, 2, 3)]) {
      const signature = signPersonalMessage(KEY, message)
      expect(signature).toBe(await account.signMessage({ message: viemMessage(message) }))
      expect(await recoverMessageAddress({ message: viemMessage(message), signature })).toBe(account.address)
    }
  })

  it('matches viem and round-trips for arbitrary keys and messages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => k.some((b) => b !== 0)),
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.uint8Array({ maxLength: 300 })),
        async (key, message) => {
          const account = privateKeyToAccount(toHex(key))
          const signature = signPersonalMessage(key, message)
          expect(signature).toBe(await account.signMessage({ message: viemMessage(message) }))
          expect(recoverPersonalMessageAddress(message, signature)).toBe(account.address)
          expect(
            await verifyMessage({ address: account.address, message: viemMessage(message), signature }),
          ).toBe(true)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('is deterministic and binds the message', () => {
    const a = signPersonalMessage(KEY, 'price 1')
    expect(signPersonalMessage(KEY, 'price 1')).toBe(a)
    expect(signPersonalMessage(KEY, new TextEncoder().encode('price 1'))).toBe(a)
    const other = signPersonalMessage(KEY, 'price 2')
    expect(other).not.toBe(a)
    expect(recoverPersonalMessageAddress('price 2', a)).not.toBe(privateKeyToAddress(KEY))
  })

  it('refuses bad keys, messages and tampered signatures, naming the argument', () => {
    expect(() => signPersonalMessage('0x00', 'x')).toThrow(SignatureInputError)
    expect(() => signPersonalMessage(new Uint8Array(32), 'x')).toThrow(/privateKey/)
    expect(() => signPersonalMessage(KEY, 42 as unknown as string)).toThrow(/message/)
    const signature = signPersonalMessage(KEY, 'x')
    const badV = `${signature.slice(0, -2)}1d` as Hex
    expect(() => recoverPersonalMessageAddress('x', badV)).toThrow(SignatureInvalidError)
  })
})
