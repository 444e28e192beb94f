import { x25519 } from '@noble/curves/ed25519.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import {
  deriveClusterSecret,
  deriveContractEncryptionSeed,
  deriveContractSecret,
  deriveContractSigningSeed,
} from './derive.js'

/**
 * DEVELOPMENT ONLY, PUBLICLY KNOWN: SHA-256 of `veil/v1/dev-master-secret (public, development only)`.
 * Stands in for the KMS master secret on dev networks, so every worker derives the same contract keys
 * through the production derivation tree. Anything protected by it is not confidential.
 */
export const DEV_MASTER_SECRET: Uint8Array = hexToBytes(
  'f813928c1305b82d05ccee2ed1f8e86d7fd15d920559188c7249e705b1defd99',
)

/** A contract's own keys, derived from its contract secret. */
export interface ContractKeys {
  /** Commands are HPKE-sealed to this key (published on the ledger with `setContractKeys`). */
  x25519PrivateKey: Uint8Array
  x25519PublicKey: Uint8Array
  /** The contract's secp256k1 signing key and its Ethereum address (`ctx.contract.address`). */
  signingKey: Uint8Array
  address: `0x${string}`
}

const N = secp256k1.Point.CURVE().n

/**
 * Derives a contract's X25519 and secp256k1 keys from its 32-byte contract secret
 * (`veil/v1/x25519`, `veil/v1/secp256k1`).
 */
export function deriveContractKeys(contractSecret: Uint8Array): ContractKeys {
  const x25519PrivateKey = deriveContractEncryptionSeed(contractSecret)
  // Reduce into [1, n-1]; a 32-byte HKDF output is ≥ n with probability < 2^-127.
  const scalar = (BigInt(`0x${bytesToHex(deriveContractSigningSeed(contractSecret))}`) % (N - 1n)) + 1n
  const signingKey = hexToBytes(scalar.toString(16).padStart(64, '0'))
  const publicKey = secp256k1.getPublicKey(signingKey, false)
  const address = `0x${bytesToHex(keccak_256(publicKey.subarray(1)).subarray(12))}` as const
  return { x25519PrivateKey, x25519PublicKey: x25519.getPublicKey(x25519PrivateKey), signingKey, address }
}

/** DEVELOPMENT ONLY: a contract's keys on a dev network (from {@link DEV_MASTER_SECRET}). */
export function devContractKeys(clusterId: string, contractId: string): ContractKeys {
  return deriveContractKeys(
    deriveContractSecret(deriveClusterSecret(DEV_MASTER_SECRET, clusterId), contractId),
  )
}
