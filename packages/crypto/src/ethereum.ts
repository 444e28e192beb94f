/**
 * Ethereum-style secp256k1 signatures over 32-byte hashes (EIP-712 digests), addresses and keccak256,
 * on `@noble/curves` and `@noble/hashes`. Pure and browser-safe.
 *
 * Signatures are 65 bytes `r ‖ s ‖ v` with `v ∈ {27, 28}` and a low `s` (EIP-2): exactly what
 * OpenZeppelin's `ECDSA.recover` (and so `Registry.verifyAnswer`) accepts. {@link recoverAddress} applies
 * the same rules, so a signature accepted off chain is accepted on chain and vice versa.
 */

import { secp256k1 } from '@noble/curves/secp256k1.js'
import { type Address, type Hex, isAddress, VeilError } from '@veil/protocol'
import { parseBytes, toHex } from './bytes.js'
import { keccak256Unchecked as keccak_256 } from './keccak.js'

const N = secp256k1.Point.Fn.ORDER
const HALF_N = N >> 1n
/** Length of a signature `r ‖ s ‖ v`. */
export const SIGNATURE_LENGTH = 65

/** A 32-byte value (hash, private key): `0x` hex or bytes. */
export type Bytes32 = Hex | Uint8Array

/** Bad input to a signature function; `argument` names the parameter that was wrong. */
export class SignatureInputError extends VeilError {
  override name = 'SignatureInputError'
  readonly argument: string

  constructor(fn: string, argument: string, details: string) {
    super(`${fn}: invalid ${argument}`, { code: 'SIGNATURE_INVALID_INPUT', details })
    this.argument = argument
  }
}

/** A well-formed signature that does not recover to an address (bad v, high s, r/s out of range, no point). */
export class SignatureInvalidError extends VeilError {
  override name = 'SignatureInvalidError'

  constructor(details: string) {
    super('invalid signature', { code: 'SIGNATURE_INVALID', details })
  }
}

/** keccak256 (the pre-standard SHA-3 Ethereum uses). */
export function keccak256(data: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array))
    throw new SignatureInputError('keccak256', 'data', 'must be a Uint8Array')
  return keccak_256(data)
}

/** EIP-55 mixed-case checksum form of an address (any case in). */
export function checksumAddress(address: Address): Address {
  if (!isAddress(address)) {
    throw new SignatureInputError('checksumAddress', 'address', 'must be a 0x-prefixed 20-byte hex address')
  }
  return checksum(address.slice(2).toLowerCase())
}

function checksum(lowerHex40: string): Address {
  const hash = keccak_256(new TextEncoder().encode(lowerHex40))
  let out = '0x'
  for (let i = 0; i < 40; i++) {
    const char = lowerHex40[i] ?? ''
    const nibble = ((hash[i >> 1] ?? 0) >> (i % 2 === 0 ? 4 : 0)) & 0x0f
    out += nibble >= 8 ? char.toUpperCase() : char
  }
  return out as Address
}

/**
 * The Ethereum address of a secp256k1 public key (33-byte compressed or 65-byte uncompressed).
 *
 * @example
 * publicKeyToAddress(secp256k1.getPublicKey(privateKey)) // '0x…' (EIP-55)
 */
export function publicKeyToAddress(publicKey: Uint8Array): Address {
  if (!(publicKey instanceof Uint8Array) || (publicKey.length !== 33 && publicKey.length !== 65)) {
    throw new SignatureInputError(
      'publicKeyToAddress',
      'publicKey',
      'must be a 33- or 65-byte secp256k1 point',
    )
  }
  let uncompressed: Uint8Array
  try {
    uncompressed = secp256k1.Point.fromBytes(publicKey).toBytes(false)
  } catch (cause) {
    throw new SignatureInputError(
      'publicKeyToAddress',
      'publicKey',
      `is not a point on secp256k1 (${String(cause)})`,
    )
  }
  return pointBytesToAddress(uncompressed)
}

/** The Ethereum address of a 32-byte secp256k1 private key. */
export function privateKeyToAddress(privateKey: Bytes32): Address {
  const key = checkPrivateKey('privateKeyToAddress', privateKey)
  return pointBytesToAddress(secp256k1.getPublicKey(key, false))
}

/** keccak256(X ‖ Y)[12..32] of an uncompressed point 0x04 ‖ X ‖ Y. */
/** @internal */
export function pointBytesToAddress(uncompressed: Uint8Array): Address {
  return checksum(toHex(keccak_256(uncompressed.subarray(1)).subarray(12)).slice(2))
}

/**
 * Signs a 32-byte hash (an EIP-712 digest) with RFC 6979 deterministic ECDSA. Returns `0x r ‖ s ‖ v`,
 * 65 bytes, `v = 27 + recovery`, low `s`.
 *
 * @example
 * const signature = signTypedHash(workerKey, hashAnswer(domain, answer))
 */
export function signTypedHash(privateKey: Bytes32, hash: Bytes32): Hex {
  const key = checkPrivateKey('signTypedHash', privateKey)
  return signChecked(key, checkHash('signTypedHash', hash))
}

/**
 * @internal Signs a checked 32-byte hash with a checked key. Fully deterministic: contracts sign inside
 * commands, where every worker must produce the same bytes.
 */
export function signChecked(key: Uint8Array, hash: Uint8Array): Hex {
  // RFC 6979: the nonce is a function of (key, hash), so no RNG failure can ever repeat it across messages.
  let recovered = secp256k1.sign(hash, key, { prehash: false, lowS: true, format: 'recovered' })
  // Recovery ids 2 and 3 (R.x ≥ n, probability ~2^-128) have no Ethereum `v`: re-sign with another nonce,
  // still a function of (key, hash, attempt) (RFC 6979 §3.6 additional data), so the result stays
  // deterministic.
  for (let attempt = 1; (recovered[0] ?? 0) > 1; attempt++) {
    const extraEntropy = new Uint8Array(32)
    new DataView(extraEntropy.buffer).setUint32(28, attempt)
    recovered = secp256k1.sign(hash, key, { prehash: false, lowS: true, format: 'recovered', extraEntropy })
  }
  return encodeSignature(recovered.subarray(1, 33), recovered.subarray(33, 65), recovered[0] ?? 0)
}

/** @internal `0x r ‖ s ‖ (27 + recovery)`. */
export function encodeSignature(r: Uint8Array, s: Uint8Array, recovery: number): Hex {
  const out = new Uint8Array(SIGNATURE_LENGTH)
  out.set(r, 0)
  out.set(s, 32)
  out[64] = 27 + recovery
  return toHex(out)
}

/**
 * The address that signed `hash`. Accepts exactly what OpenZeppelin's `ECDSA.recover` accepts: 65 bytes,
 * `v ∈ {27, 28}`, `0 < r < n`, `0 < s ≤ n/2`. Throws {@link SignatureInvalidError} otherwise.
 *
 * @example
 * if (recoverAddress(digest, signature) !== expected) throw new Error('not signed by the worker')
 */
export function recoverAddress(hash: Bytes32, signature: Hex | Uint8Array): Address {
  const digest = checkHash('recoverAddress', hash)
  const bytes = parseBytes(signature)
  if (bytes === undefined || bytes.length !== SIGNATURE_LENGTH) {
    throw new SignatureInputError(
      'recoverAddress',
      'signature',
      `must be ${SIGNATURE_LENGTH} bytes (0x hex or bytes)`,
    )
  }
  const v = bytes[64] ?? 0
  if (v !== 27 && v !== 28) throw new SignatureInvalidError(`v must be 27 or 28, got ${v}`)
  const r = toBigInt(bytes.subarray(0, 32))
  const s = toBigInt(bytes.subarray(32, 64))
  if (r === 0n || r >= N) throw new SignatureInvalidError('r is out of range')
  if (s === 0n || s >= N) throw new SignatureInvalidError('s is out of range')
  // EIP-2: (r, n - s) is a second valid signature of the same hash; only the low one is accepted.
  if (s > HALF_N) throw new SignatureInvalidError('s is in the upper half of the curve order (malleable)')
  try {
    if (fastRecover !== undefined) return fastRecover(digest, bytes)
    const point = new secp256k1.Signature(r, s, v - 27).recoverPublicKey(digest)
    return pointBytesToAddress(point.toBytes(false))
  } catch (cause) {
    throw new SignatureInvalidError(`no public key recovers from it (${String(cause)})`)
  }
}

type Recover = (digest: Uint8Array, signature: Uint8Array) => Address
let fastRecover: Recover | undefined

/**
 * @internal Routes {@link recoverAddress}'s point recovery (after its range checks) to a faster
 * implementation with identical results: the Node entry installs libsecp256k1's where it loads.
 */
export function useSecp256k1Recovery(recover: Recover | undefined): void {
  fastRecover = recover
}

/** Signs 32-byte hashes with one key; {@link createTypedHashSigner} (pure) or the Node precomputing signer. */
export interface TypedHashSigner {
  /** The signer's EIP-55 address. */
  readonly address: Address
  /** Same contract as {@link signTypedHash}: `0x r ‖ s ‖ v`, v ∈ {27, 28}, low s. */
  signTypedHash(hash: Bytes32): Hex
}

/**
 * A {@link TypedHashSigner} holding one private key (a private copy): validates the key and derives its
 * address once.
 *
 * @example
 * const worker = createTypedHashSigner(identityKey)
 * const signature = signAnswer(worker, domain, answer)
 */
export function createTypedHashSigner(privateKey: Bytes32): TypedHashSigner {
  const key = Uint8Array.from(checkPrivateKey('createTypedHashSigner', privateKey))
  const address = pointBytesToAddress(secp256k1.getPublicKey(key, false))
  return Object.freeze({
    address,
    signTypedHash: (hash: Bytes32) => signChecked(key, checkHash('signTypedHash', hash)),
  })
}

/** @internal A 32-byte private key in [1, n-1]. */
export function checkPrivateKey(fn: string, value: unknown): Uint8Array {
  const bytes = parseBytes(value)
  if (bytes === undefined || bytes.length !== 32) {
    throw new SignatureInputError(fn, 'privateKey', 'must be 32 bytes (0x hex or bytes)')
  }
  const scalar = toBigInt(bytes)
  if (scalar === 0n || scalar >= N) {
    throw new SignatureInputError(fn, 'privateKey', 'must be in [1, n-1] of secp256k1')
  }
  return bytes
}

/** @internal A 32-byte hash. */
export function checkHash(fn: string, value: unknown, argument = 'hash'): Uint8Array {
  const bytes = parseBytes(value)
  if (bytes === undefined || bytes.length !== 32) {
    throw new SignatureInputError(fn, argument, 'must be 32 bytes (0x hex or bytes)')
  }
  return bytes
}

/** @internal Big-endian bytes → bigint. */
export function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(toHex(bytes))
}
