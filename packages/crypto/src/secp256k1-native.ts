/**
 * secp256k1 through bitcoin-core's libsecp256k1 (the `secp256k1` npm package's N-API binding, whose
 * prebuilt binaries ship inside the npm package) for the worker's hot paths: answer signatures and
 * the recovery of query `auth` signatures. On this project's reference machine a signature costs
 * ~75 µs there against ~600 µs in OpenSSL's generic curve code and ~900 µs in `@noble/curves`.
 *
 * The binding is optional. Where no prebuilt binary fits the platform (or it fails its self-test),
 * {@link nativeSecp256k1} returns undefined and callers keep the portable implementations, which produce
 * the same results: libsecp256k1's default nonce is RFC 6979 with HMAC-SHA256, as in `signTypedHash`,
 * so the two sign byte-identically.
 */

import { createRequire } from 'node:module'
import type { Address, Hex } from '@veil/protocol'
import { toHex } from './bytes.js'
import {
  type Bytes32,
  checkHash,
  checkPrivateKey,
  pointBytesToAddress,
  privateKeyToAddress,
  SIGNATURE_LENGTH,
  signChecked,
  signTypedHash,
  type TypedHashSigner,
} from './ethereum.js'

/** The part of the `secp256k1` package's binding used here. */
export interface Secp256k1Binding {
  ecdsaSign(message: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number }
  ecdsaRecover(signature: Uint8Array, recid: number, message: Uint8Array, compressed: boolean): Uint8Array
}

let loaded: Secp256k1Binding | null | undefined

/**
 * The native binding after a known-answer self-test, or undefined where it cannot load. Set
 * `VEIL_SECP256K1=js` to refuse it (to compare, or to rule it out when diagnosing).
 */
export function nativeSecp256k1(): Secp256k1Binding | undefined {
  if (loaded === undefined) loaded = process.env.VEIL_SECP256K1 === 'js' ? null : load()
  return loaded ?? undefined
}

function load(): Secp256k1Binding | null {
  let binding: Secp256k1Binding
  try {
    // `secp256k1/bindings` is the native half only (the package's main falls back to pure-JS elliptic).
    binding = createRequire(import.meta.url)('secp256k1/bindings') as Secp256k1Binding
  } catch {
    return null
  }
  try {
    const key = new Uint8Array(32).fill(0x4c)
    const hash = new Uint8Array(32).fill(0x2a)
    const { signature, recid } = binding.ecdsaSign(hash, key)
    if (encode(signature, recid) !== signTypedHash(key, hash)) return null
    const recovered = binding.ecdsaRecover(signature, recid, hash, false)
    return pointBytesToAddress(recovered) === privateKeyToAddress(key) ? binding : null
  } catch {
    return null
  }
}

function encode(signature: Uint8Array, recid: number): Hex {
  const out = new Uint8Array(SIGNATURE_LENGTH)
  out.set(signature, 0)
  out[64] = 27 + recid
  return toHex(out)
}

/**
 * A {@link TypedHashSigner} on libsecp256k1, or undefined where the binding is unavailable. Same output
 * as `createTypedHashSigner` (RFC 6979, low s, v ∈ {27, 28}).
 *
 * @example
 * const signer = createNativeSigner(identityKey) ?? createPrecomputedSigner(identityKey)
 */
export function createNativeSigner(privateKey: Bytes32): TypedHashSigner | undefined {
  const binding = nativeSecp256k1()
  if (binding === undefined) return undefined
  const key = Uint8Array.from(checkPrivateKey('createNativeSigner', privateKey))
  const address = privateKeyToAddress(key)
  return Object.freeze({
    address,
    signTypedHash(hash: Bytes32): Hex {
      const digest = checkHash('signTypedHash', hash)
      const { signature, recid } = binding.ecdsaSign(digest, key)
      // Recovery ids 2 and 3 (R.x ≥ n, probability ~2^-128) have no Ethereum `v`; the portable signer
      // re-signs with additional data for that case.
      return recid > 1 ? signChecked(key, digest) : encode(signature, recid)
    },
  })
}

/**
 * Recovers the uncompressed public key's address on libsecp256k1, for a signature that
 * `recoverAddress` has already range-checked (r, s, v). Undefined where the binding is unavailable.
 * @internal
 */
export function nativeRecover(): ((digest: Uint8Array, signature: Uint8Array) => Address) | undefined {
  const binding = nativeSecp256k1()
  if (binding === undefined) return undefined
  return (digest, signature) =>
    pointBytesToAddress(
      binding.ecdsaRecover(signature.subarray(0, 64), (signature[64] ?? 27) - 27, digest, false),
    )
}
