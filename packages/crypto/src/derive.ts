/**
 * Veil key derivation (DESIGN §4): one HKDF-SHA256 tree rooted in the KMS master secret.
 *
 * ```
 * master secret ─ veil/v1/cluster/<clusterId> ─▶ cluster secret
 * cluster secret ─ veil/v1/contract/<contractId> ─▶ contract secret
 * contract secret ─ veil/v1/state      ─▶ state key (encrypted storage, state digest salt)
 *                 ─ veil/v1/random     ─▶ seed of the deterministic `ctx.random`
 *                 ─ veil/v1/x25519     ─▶ seed of the contract's X25519 key
 *                 ─ veil/v1/secp256k1  ─▶ seed of the contract's secp256k1 key
 *                 ─ veil/v1/user/<path> ─▶ user-derived keys (`ctx.keys`)
 * ```
 *
 * Every node is 32 bytes. Each step is `HKDF-SHA256(IKM = parent, salt = "veil/v1", info = label, L = 32)`.
 * Security invariant: a child reveals nothing about its parent or its siblings, so a worker holding one
 * cluster secret learns nothing about other clusters, and a leaked contract secret exposes one contract.
 * Labels are full strings (not just the id) so that no two levels or purposes can ever share an `info`.
 */

import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { VeilError } from '@veil/protocol'

/** Length in bytes of every secret in the derivation tree. */
export const SECRET_LENGTH = 32

/** HKDF salt shared by every Veil derivation: a fixed, public domain separator. */
export const DERIVATION_SALT = 'veil/v1'

/** The fixed labels under a contract secret. Ids and user paths are appended where the label ends in `/`. */
export const DERIVATION_LABELS = {
  cluster: 'veil/v1/cluster/',
  contract: 'veil/v1/contract/',
  state: 'veil/v1/state',
  random: 'veil/v1/random',
  x25519: 'veil/v1/x25519',
  secp256k1: 'veil/v1/secp256k1',
  user: 'veil/v1/user/',
} as const

/** Bad input to a derivation function; `argument` names the parameter that was wrong. */
export class KeyDerivationInputError extends VeilError {
  override name = 'KeyDerivationInputError'
  /** The parameter that was rejected, e.g. `parent` or `contractId`. */
  readonly argument: string

  constructor(fn: string, argument: string, details: string) {
    super(`${fn}: invalid ${argument}`, { code: 'KDF_INVALID_INPUT', details })
    this.argument = argument
  }
}

const encoder = new TextEncoder()
const SALT_BYTES = encoder.encode(DERIVATION_SALT)
// With the `u` flag only unpaired surrogates match \p{Cs}; a well-formed surrogate pair is one code point.
const LONE_SURROGATE = /\p{Cs}/u
// Ids: 1–128 printable ASCII characters other than '/', so an id can never extend a label's structure.
const ID_RE = /^[\x21-\x2e\x30-\x7e]{1,128}$/
// User paths: '/'-separated segments of id characters, no empty segment.
const USER_PATH_RE = /^[\x21-\x2e\x30-\x7e]+(?:\/[\x21-\x2e\x30-\x7e]+)*$/
/** Longest accepted user key path (`ctx.keys.derive`), in characters. */
export const MAX_USER_PATH_LENGTH = 256

/**
 * Plain HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info` to `length` bytes.
 * Exposed for test vectors and for protocols that fix their own salt; Veil keys use {@link deriveSecret}.
 */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!(ikm instanceof Uint8Array))
    throw new KeyDerivationInputError('hkdfSha256', 'ikm', 'must be a Uint8Array')
  if (!(salt instanceof Uint8Array))
    throw new KeyDerivationInputError('hkdfSha256', 'salt', 'must be a Uint8Array')
  if (!(info instanceof Uint8Array))
    throw new KeyDerivationInputError('hkdfSha256', 'info', 'must be a Uint8Array')
  if (!Number.isSafeInteger(length) || length < 1 || length > 255 * 32) {
    throw new KeyDerivationInputError('hkdfSha256', 'length', `must be an integer in 1..8160, got ${length}`)
  }
  return hkdf(sha256, ikm, salt, info, length)
}

/**
 * Derives the 32-byte child of `parent` named by `label` (HKDF-SHA256, salt `veil/v1`, info = UTF-8 label).
 *
 * @example
 * const stateKey = deriveSecret(contractSecret, 'veil/v1/state')
 */
export function deriveSecret(parent: Uint8Array, label: string): Uint8Array {
  assertSecret('deriveSecret', 'parent', parent)
  if (typeof label !== 'string' || label.length === 0) {
    throw new KeyDerivationInputError('deriveSecret', 'label', 'must be a non-empty string')
  }
  // A lone surrogate encodes to U+FFFD, so two different labels would derive the same key.
  if (LONE_SURROGATE.test(label)) {
    throw new KeyDerivationInputError('deriveSecret', 'label', 'contains an unpaired UTF-16 surrogate')
  }
  return hkdf(sha256, parent, SALT_BYTES, encoder.encode(label), SECRET_LENGTH)
}

/** Cluster secret: `veil/v1/cluster/<clusterId>` under the KMS master secret. */
export function deriveClusterSecret(masterSecret: Uint8Array, clusterId: string): Uint8Array {
  assertSecret('deriveClusterSecret', 'masterSecret', masterSecret)
  assertId('deriveClusterSecret', 'clusterId', clusterId)
  return deriveSecret(masterSecret, DERIVATION_LABELS.cluster + clusterId)
}

/** Contract secret: `veil/v1/contract/<contractId>` under the cluster secret. */
export function deriveContractSecret(clusterSecret: Uint8Array, contractId: string): Uint8Array {
  assertSecret('deriveContractSecret', 'clusterSecret', clusterSecret)
  assertId('deriveContractSecret', 'contractId', contractId)
  return deriveSecret(clusterSecret, DERIVATION_LABELS.contract + contractId)
}

/** The contract's state key (`veil/v1/state`): root of its storage encryption, key hashing and digest salt. */
export function deriveContractStateKey(contractSecret: Uint8Array): Uint8Array {
  assertSecret('deriveContractStateKey', 'contractSecret', contractSecret)
  return deriveSecret(contractSecret, DERIVATION_LABELS.state)
}

/** Seed of the contract's deterministic randomness (`veil/v1/random`); mix in block and tx data per use. */
export function deriveContractRandomSeed(contractSecret: Uint8Array): Uint8Array {
  assertSecret('deriveContractRandomSeed', 'contractSecret', contractSecret)
  return deriveSecret(contractSecret, DERIVATION_LABELS.random)
}

/** 32-byte seed of the contract's X25519 key (`veil/v1/x25519`), usable directly as an X25519 private key. */
export function deriveContractEncryptionSeed(contractSecret: Uint8Array): Uint8Array {
  assertSecret('deriveContractEncryptionSeed', 'contractSecret', contractSecret)
  return deriveSecret(contractSecret, DERIVATION_LABELS.x25519)
}

/**
 * 32-byte seed of the contract's secp256k1 key (`veil/v1/secp256k1`). The signer turns it into a scalar
 * (it must reject or reduce the ~2^-128 chance of a value ≥ the group order); this module does not.
 */
export function deriveContractSigningSeed(contractSecret: Uint8Array): Uint8Array {
  assertSecret('deriveContractSigningSeed', 'contractSecret', contractSecret)
  return deriveSecret(contractSecret, DERIVATION_LABELS.secp256k1)
}

/**
 * Whether `path` is a valid user key path: 1–256 printable ASCII characters other than space, in
 * non-empty `/`-separated segments (`wallets/0`, `oracle`).
 */
export function isContractUserKeyPath(path: unknown): boolean {
  return typeof path === 'string' && path.length <= MAX_USER_PATH_LENGTH && USER_PATH_RE.test(path)
}

/** A user-derived key (`veil/v1/user/<path>`), e.g. `path = 'wallets/0'`, for `ctx.keys`. */
export function deriveContractUserKey(contractSecret: Uint8Array, path: string): Uint8Array {
  assertSecret('deriveContractUserKey', 'contractSecret', contractSecret)
  if (!isContractUserKeyPath(path)) {
    throw new KeyDerivationInputError(
      'deriveContractUserKey',
      'path',
      `must be 1–${MAX_USER_PATH_LENGTH} printable ASCII characters in non-empty '/'-separated segments`,
    )
  }
  return deriveSecret(contractSecret, DERIVATION_LABELS.user + path)
}

function assertSecret(fn: string, argument: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new KeyDerivationInputError(fn, argument, 'must be a Uint8Array')
  if (value.length !== SECRET_LENGTH) {
    throw new KeyDerivationInputError(fn, argument, `must be ${SECRET_LENGTH} bytes, got ${value.length}`)
  }
}

function assertId(fn: string, argument: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || !ID_RE.test(value)) {
    throw new KeyDerivationInputError(fn, argument, "must be 1–128 printable ASCII characters other than '/'")
  }
}
