import { existsSync, readFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { x25519 } from '@noble/curves/ed25519.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import type { SealedFiles } from '@veil/attestation'
import { type Hex, VeilError } from '@veil/protocol'
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'

/** A worker's keys: an Ethereum identity (signs answers and transactions) and an X25519 key (HPKE). */
export interface WorkerIdentity {
  account: PrivateKeyAccount
  address: Hex
  /** The raw secp256k1 key behind `account`, for signing answers without viem's overhead. */
  signingKey: Uint8Array
  x25519PrivateKey: Uint8Array
  x25519PublicKey: Uint8Array
}

interface IdentityFile {
  version: 1
  secp256k1PrivateKey: string
  x25519PrivateKey: string
}

/** The sealed identity, and the sealing label that ties it to this purpose. */
export const IDENTITY_FILE = 'identity.sealed'
const IDENTITY_LABEL = 'veil/v1/seal/worker-identity'
/** Where versions before TEE sealing kept the identity in clear. */
const LEGACY_FILE = 'identity.json'

/**
 * Loads the worker's identity from its data dir, sealed under the TEE's key, creating it on first start
 * from `randomBytes` (inside the TEE). A data dir copied to another machine does not unseal
 * (`SEAL_KEY_MISMATCH`). An unsealed identity left by an older version is sealed and its clear file deleted.
 */
export async function loadOrCreateIdentity(
  dataDir: string,
  randomBytes: (n: number) => Uint8Array,
  sealed: SealedFiles,
): Promise<WorkerIdentity> {
  const path = join(dataDir, IDENTITY_FILE)
  const existing = await sealed.read(path, IDENTITY_LABEL)
  if (existing) return fromFile(parseIdentity(new TextDecoder().decode(existing), path))
  const legacy = join(dataDir, LEGACY_FILE)
  const file: IdentityFile = existsSync(legacy)
    ? parseIdentity(readFileSync(legacy, 'utf8'), legacy)
    : {
        version: 1,
        secp256k1PrivateKey: bytesToHex(randomSecp256k1Key(randomBytes)),
        x25519PrivateKey: bytesToHex(randomBytes(32)),
      }
  await sealed.write(path, IDENTITY_LABEL, new TextEncoder().encode(JSON.stringify(file)))
  if (existsSync(legacy)) unlinkSync(legacy)
  return fromFile(file)
}

function randomSecp256k1Key(randomBytes: (n: number) => Uint8Array): Uint8Array {
  // Rejection sampling: a key must be in [1, n-1]; a uniformly random 32-byte string almost always is.
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
  for (;;) {
    const key = randomBytes(32)
    const value = BigInt(`0x${bytesToHex(key)}`)
    if (value > 0n && value < n) return key
  }
}

function parseIdentity(text: string, path: string): IdentityFile {
  try {
    const file = JSON.parse(text) as IdentityFile
    if (
      file.version !== 1 ||
      !/^[0-9a-f]{64}$/.test(file.secp256k1PrivateKey) ||
      !/^[0-9a-f]{64}$/.test(file.x25519PrivateKey)
    ) {
      throw new Error('unexpected fields')
    }
    return file
  } catch (error) {
    throw new VeilError(`the worker identity in ${path} is unreadable`, {
      code: 'IDENTITY_INVALID',
      details: (error as Error).message,
      hint: 'restore the file from a backup; deleting it makes this worker a new, unregistered identity',
      cause: error,
    })
  }
}

function fromFile(file: IdentityFile): WorkerIdentity {
  const account = privateKeyToAccount(`0x${file.secp256k1PrivateKey}`)
  const x25519PrivateKey = hexToBytes(file.x25519PrivateKey)
  return {
    account,
    address: account.address,
    signingKey: hexToBytes(file.secp256k1PrivateKey),
    x25519PrivateKey,
    x25519PublicKey: x25519.getPublicKey(x25519PrivateKey),
  }
}
