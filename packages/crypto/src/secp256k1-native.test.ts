import { arch, platform } from 'node:process'
import fc from 'fast-check'
import { type Hex, toHex, recoverAddress as viemRecoverAddress } from 'viem'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  createTypedHashSigner,
  privateKeyToAddress,
  recoverAddress,
  SignatureInvalidError,
  signTypedHash,
  useSecp256k1Recovery,
} from './ethereum.js'
import { createNativeSigner, nativeRecover, nativeSecp256k1 } from './secp256k1-native.js'

const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
// Private keys in [1, n-1]: 31 random bytes under a non-zero leading byte stay below n.
const key32 = fc
  .tuple(fc.integer({ min: 1, max: 0xfe }), fc.uint8Array({ minLength: 31, maxLength: 31 }))
  .map(([first, rest]) => Uint8Array.of(first, ...rest))

// The npm package ships prebuilt binaries for linux-x64 (glibc and musl), darwin-arm64 and win32-x64.
const prebuilt = (platform === 'linux' && arch === 'x64') || (platform === 'darwin' && arch === 'arm64')

describe('libsecp256k1 binding', () => {
  afterEach(() => {
    useSecp256k1Recovery(nativeRecover())
    vi.unstubAllEnvs()
    vi.resetModules()
  })

  it.runIf(prebuilt)('loads and passes its self-test where a prebuilt binary exists', () => {
    expect(nativeSecp256k1()).toBeDefined()
    expect(createNativeSigner(`0x${'11'.repeat(32)}`)).toBeDefined()
  })

  it('signs byte-identically to the portable RFC 6979 signer, and viem recovers the address', async () => {
    const binding = nativeSecp256k1()
    if (binding === undefined) return expect(prebuilt).toBe(false)
    await fc.assert(
      fc.asyncProperty(key32, hash32, async (key, hash) => {
        const native = createNativeSigner(key)
        expect(native?.address).toBe(createTypedHashSigner(key).address)
        const signature = native?.signTypedHash(hash) as Hex
        expect(signature).toBe(signTypedHash(key, hash))
        expect(await viemRecoverAddress({ hash: toHex(hash), signature })).toBe(privateKeyToAddress(key))
      }),
      { numRuns: 200 },
    )
  })

  it('recovers the same address as noble, and refuses what noble refuses', () => {
    if (nativeSecp256k1() === undefined) return expect(prebuilt).toBe(false)
    fc.assert(
      fc.property(key32, hash32, (key, hash) => {
        const signature = signTypedHash(key, hash)
        useSecp256k1Recovery(nativeRecover())
        const fast = recoverAddress(hash, signature)
        useSecp256k1Recovery(undefined)
        expect(fast).toBe(recoverAddress(hash, signature))
        expect(fast).toBe(privateKeyToAddress(key))
      }),
      { numRuns: 100 },
    )
    // r = the x of no curve point (x = 5 has no y on secp256k1): nothing recovers, on either path.
    const bad = `0x${'00'.repeat(31)}05${'00'.repeat(31)}01${'1b'}` as Hex
    const hash = new Uint8Array(32).fill(9)
    useSecp256k1Recovery(nativeRecover())
    expect(() => recoverAddress(hash, bad)).toThrow(SignatureInvalidError)
    useSecp256k1Recovery(undefined)
    expect(() => recoverAddress(hash, bad)).toThrow(SignatureInvalidError)
  })

  it('checks its inputs like the portable signer', () => {
    const signer = createNativeSigner(`0x${'22'.repeat(32)}`)
    if (signer === undefined) return expect(prebuilt).toBe(false)
    expect(() => signer.signTypedHash('0x1234')).toThrow(/must be 32 bytes/)
    expect(() => createNativeSigner(`0x${'00'.repeat(32)}`)).toThrow(/privateKey/)
  })

  it('is refused with VEIL_SECP256K1=js', async () => {
    vi.stubEnv('VEIL_SECP256K1', 'js')
    vi.resetModules()
    const fresh = await import('./secp256k1-native.js')
    expect(fresh.nativeSecp256k1()).toBeUndefined()
    expect(fresh.createNativeSigner(`0x${'33'.repeat(32)}`)).toBeUndefined()
  })
})
