import { secp256k1 } from '@noble/curves/secp256k1.js'
import fc from 'fast-check'
import { type Hex, toHex, recoverAddress as viemRecoverAddress } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { recoverAnswerSigner, signAnswer, VEIL_EIP712_TYPES } from './eip712.js'
import { recoverAddress, SignatureInputError } from './ethereum.js'
import { createPrecomputedSigner } from './signer-node.js'

const N = secp256k1.Point.Fn.ORDER
const KEY = `0x${'4c'.repeat(32)}` as Hex
const account = privateKeyToAccount(KEY)
const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('createPrecomputedSigner', () => {
  it('signs hashes that recover to its address (ours, viem, noble verify), v ∈ {27, 28}, low s', async () => {
    const signer = createPrecomputedSigner(KEY, { poolSize: 16, background: false })
    expect(signer.address).toBe(account.address)
    signer.fill()
    const publicKey = secp256k1.getPublicKey(Uint8Array.from(Buffer.from(KEY.slice(2), 'hex')))
    await fc.assert(
      fc.asyncProperty(hash32, async (hash) => {
        const signature = signer.signTypedHash(hash)
        expect(signature).toMatch(/^0x[0-9a-f]{130}$/)
        const bytes = Uint8Array.from(Buffer.from(signature.slice(2), 'hex'))
        expect([27, 28]).toContain(bytes[64])
        expect(BigInt(`0x${signature.slice(66, 130)}`) <= N / 2n).toBe(true)
        expect(recoverAddress(hash, signature)).toBe(account.address)
        expect(await viemRecoverAddress({ hash: toHex(hash), signature })).toBe(account.address)
        const recovered = Uint8Array.of((bytes[64] ?? 0) - 27, ...bytes.subarray(0, 64))
        expect(secp256k1.verify(recovered, hash, publicKey, { prehash: false, format: 'recovered' })).toBe(
          true,
        )
      }),
      { numRuns: 200 },
    )
    signer.dispose()
  })

  it('never reuses a nonce: the same hash signed twice gives two different r', () => {
    const signer = createPrecomputedSigner(KEY, { poolSize: 8, background: false })
    const hash = new Uint8Array(32).fill(5)
    const rs = new Set<string>()
    for (let i = 0; i < 40; i++) rs.add(signer.signTypedHash(hash).slice(2, 66)) // pool, then fresh nonces
    expect(rs.size).toBe(40)
    signer.dispose()
  })

  it('consumes one pooled nonce per signature, computes its own when empty, refills in the background', async () => {
    const signer = createPrecomputedSigner(KEY, { poolSize: 8 })
    expect(signer.available).toBe(0)
    for (let i = 0; i < 10 && signer.available < 8; i++) await tick()
    expect(signer.available).toBe(8)
    signer.signTypedHash(new Uint8Array(32))
    expect(signer.available).toBe(7)
    for (let i = 0; i < 8; i++) signer.signTypedHash(new Uint8Array(32).fill(i))
    expect(signer.available).toBe(0) // the last one computed its own nonce
    for (let i = 0; i < 10 && signer.available < 8; i++) await tick()
    expect(signer.available).toBe(8)
    signer.dispose()
    expect(signer.available).toBe(0)
    expect(() => signer.signTypedHash(new Uint8Array(32))).toThrow(/disposed/)
    expect(() => signer.fill()).toThrow(/disposed/)
  })

  it('makes its nonces in a worker thread with thread: true, and they sign like the others', async () => {
    const signer = createPrecomputedSigner(KEY, { poolSize: 24, thread: true })
    for (let i = 0; i < 500 && signer.available < 24; i++) await new Promise((r) => setTimeout(r, 10))
    expect(signer.available).toBe(24)
    const rs = new Set<string>()
    for (let i = 0; i < 24; i++) {
      const hash = new Uint8Array(32).fill(i)
      const signature = signer.signTypedHash(hash)
      expect(recoverAddress(hash, signature)).toBe(account.address)
      expect(BigInt(`0x${signature.slice(66, 130)}`) <= N / 2n).toBe(true)
      rs.add(signature.slice(2, 66))
    }
    expect(rs.size).toBe(24) // 24 nonces from the thread (or the event loop if it ran dry), none twice
    for (let i = 0; i < 500 && signer.available < 24; i++) await new Promise((r) => setTimeout(r, 10))
    expect(signer.available).toBe(24) // refilled by the thread
    signer.dispose()
    expect(signer.available).toBe(0)
    expect(() => signer.signTypedHash(new Uint8Array(32))).toThrow(/disposed/)
  })

  it('is a TypedHashSigner: Answer signatures recover like viem typed data', async () => {
    const signer = createPrecomputedSigner(KEY, { poolSize: 4, background: false })
    const domain = {
      chainId: 31337,
      verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    } as const
    const answer = {
      request: toHex(new Uint8Array(32).fill(1)),
      response: toHex(new Uint8Array(32).fill(2)),
      contractId: 7n,
      block: 99n,
    }
    const signature = signAnswer(signer, domain, answer)
    expect(recoverAnswerSigner(domain, answer, signature)).toBe(account.address)
    const { recoverTypedDataAddress } = await import('viem')
    expect(
      await recoverTypedDataAddress({
        domain: { name: 'Veil', version: '1', ...domain },
        types: VEIL_EIP712_TYPES,
        primaryType: 'Answer',
        message: answer,
        signature,
      }),
    ).toBe(account.address)
    signer.dispose()
  })

  it('validates its key and options', () => {
    expect(() => createPrecomputedSigner(`0x${'00'.repeat(32)}`)).toThrow(SignatureInputError)
    expect(() => createPrecomputedSigner(KEY, { poolSize: 0 })).toThrow(/poolSize/)
    const signer = createPrecomputedSigner(KEY, { background: false })
    expect(() => signer.signTypedHash('0x12')).toThrow(/hash/)
    signer.dispose()
  })
})
