/**
 * Confidentiality of stored state: keyed hashing of state keys and AES-256-GCM sealing of values and
 * receipts under keys derived from the contract's state key.
 *
 * Keys. From the contract's state key (`veil/v1/state`, DESIGN §4) four independent subkeys are derived
 * with HKDF, so no key is ever used by two algorithms: `aead` (AES-256-GCM), `key-mac` (HMAC of state
 * keys), `nonce` (synthetic nonces) and `digest-salt` (salt of the digest elements).
 *
 * Sealed layout: nonce (12) ‖ ciphertext ‖ GCM tag (16). The associated data binds the record to its
 * place — (contract id, hkey) for state values, (tx hash, contract id) for receipts — so bytes copied to
 * another key or another contract fail to open instead of being read as that key's value.
 *
 * Nonces are synthetic (SIV-style): nonce = HMAC-SHA256(nonceKey, context ‖ AD ‖ plaintext)[0..12], where
 * the context is the hash of the block being committed. Invariants:
 * - GCM's catastrophic case (one key, one nonce, two plaintexts) needs an HMAC collision on distinct
 *   inputs, so the bound is the same ~q²/2^97 as for random nonces, but with no dependence on a TEE's RNG
 *   and no nonce counter that a chain reorganisation could replay with different contents.
 * - The same value rewritten in a later block gets an unrelated nonce (the block hash differs), so the disk
 *   does not show that a key returned to an earlier value; only a byte-identical rewrite within the same
 *   block content repeats bytes, which is the deterministic re-execution of that very block.
 * - Every worker of a cluster writes byte-identical records for the same block.
 * - Usage bound: NIST SP 800-38D caps one GCM key at 2^32 seals for a 2^-32 nonce-collision risk with
 *   96-bit pseudorandom nonces; that is 4·10^9 writes per contract before rotation is due.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto'
import { deriveContractStateKey, deriveSecret } from '@veil/crypto'
import { StateIntegrityError } from './errors.js'

export const NONCE_BYTES = 12
export const TAG_BYTES = 16

/** The subkeys of one contract's state key. Hold only in worker memory; never log or persist. */
export interface ContractStateKeys {
  readonly contractId: string
  readonly aeadKey: Buffer
  readonly keyMacKey: Buffer
  readonly nonceKey: Buffer
  readonly digestSalt: Buffer
}

const SUBKEY_LABELS = {
  aead: 'veil/v1/state/aead',
  keyMac: 'veil/v1/state/key-mac',
  nonce: 'veil/v1/state/nonce',
  digestSalt: 'veil/v1/state/digest-salt',
} as const

const AD_STATE = Buffer.from('veil/v1/state-value\0')
const AD_RECEIPT = Buffer.from('veil/v1/receipt\0')
const NONCE_DOMAIN = Buffer.from('veil/v1/nonce\0')

/** Derives a contract's storage subkeys from its 32-byte contract secret. */
export function deriveContractStateKeys(contractId: string, contractSecret: Uint8Array): ContractStateKeys {
  const stateKey = deriveContractStateKey(contractSecret)
  const sub = (label: string) => Buffer.from(deriveSecret(stateKey, label))
  return {
    contractId,
    aeadKey: sub(SUBKEY_LABELS.aead),
    keyMacKey: sub(SUBKEY_LABELS.keyMac),
    nonceKey: sub(SUBKEY_LABELS.nonce),
    digestSalt: sub(SUBKEY_LABELS.digestSalt),
  }
}

/** hkey: HMAC-SHA256 of a state key's UTF-8 bytes. Hides the key name, keeps lookups exact. */
export function hashStateKey(keys: ContractStateKeys, key: Uint8Array): Buffer {
  return createHmac('sha256', keys.keyMacKey).update(key).digest()
}

/** Associated data of a state value: binds the contract and the hashed key. */
export function stateAssociatedData(contractId: string, hkey: Uint8Array): Buffer {
  return Buffer.concat([AD_STATE, Uint8Array.of(contractId.length), Buffer.from(contractId, 'latin1'), hkey])
}

/** Associated data of a receipt: binds the transaction hash and the contract. */
export function receiptAssociatedData(txHash: Uint8Array, contractId: string): Buffer {
  return Buffer.concat([
    AD_RECEIPT,
    txHash,
    Uint8Array.of(contractId.length),
    Buffer.from(contractId, 'latin1'),
  ])
}

function u32(n: number): Buffer {
  const out = Buffer.allocUnsafe(4)
  out.writeUInt32BE(n)
  return out
}

/**
 * Seals `plaintext` for storage. `context` is the hash of the block being committed (see the nonce
 * invariants above); all arguments are bound, so equal inputs give equal bytes on every replica.
 */
export function seal(
  keys: ContractStateKeys,
  associatedData: Uint8Array,
  plaintext: Uint8Array,
  context: Uint8Array,
): Buffer {
  const nonce = createHmac('sha256', keys.nonceKey)
    .update(NONCE_DOMAIN)
    .update(u32(context.length))
    .update(context)
    .update(u32(associatedData.length))
    .update(associatedData)
    .update(plaintext)
    .digest()
    .subarray(0, NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', keys.aeadKey, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(associatedData)
  const head = cipher.update(plaintext)
  const tail = cipher.final()
  return Buffer.concat([nonce, head, tail, cipher.getAuthTag()])
}

/**
 * Opens bytes written by {@link seal}. Throws {@link StateIntegrityError} (naming `what`) when the bytes
 * were altered, moved to another key or contract, or sealed under another contract secret.
 */
export function open(
  keys: ContractStateKeys,
  associatedData: Uint8Array,
  sealed: Uint8Array,
  what: string,
): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES)
    throw new StateIntegrityError(what, 'sealed record is truncated')
  const nonce = sealed.subarray(0, NONCE_BYTES)
  const tag = sealed.subarray(sealed.length - TAG_BYTES)
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.aeadKey, nonce, { authTagLength: TAG_BYTES })
    decipher.setAAD(associatedData)
    decipher.setAuthTag(tag)
    const head = decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES))
    // Security invariant: `head` is unauthenticated until final() succeeds; it must not escape on failure.
    const tail = decipher.final()
    return tail.length === 0 ? head : Buffer.concat([head, tail])
  } catch (error) {
    throw new StateIntegrityError(
      what,
      `authentication failed for contract ${keys.contractId} (tampered, moved, or sealed under another secret)`,
      error,
    )
  }
}
