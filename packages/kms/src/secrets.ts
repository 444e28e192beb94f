/**
 * The KMS's two secrets, created inside its TEE on first start and sealed to disk with the TEE's sealing
 * key: the 32-byte **master secret** (root of every cluster secret and contract key, docs/protocol.md
 * "Key derivation") and the secp256k1 **identity key** (the KMS signer's Ethereum account, which signs
 * provisioning answers and sends the KMS's ledger transactions).
 *
 * Security invariants: neither secret is ever written unsealed (SealedFiles writes temp + fsync + rename,
 * 0600); a data dir copied to another machine does not unseal (`SEAL_KEY_MISMATCH`); and a data dir that
 * holds an identity but lost its master secret is refused rather than given a new master, which would
 * silently change every cluster secret and contract key of the network.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { SealedFiles, TeeError, type TeeProvider } from '@veil/attestation'
import { privateKeyToAddress } from '@veil/crypto'
import type { Address } from '@veil/protocol'
import { KmsError } from './errors.js'

/** Sealing labels: a file sealed for one purpose never opens as the other. */
export const KMS_SEAL_LABELS = {
  master: 'veil/v1/seal/kms-master',
  identity: 'veil/v1/seal/kms-identity',
} as const

/** File names inside the data dir. */
export const KMS_SECRET_FILES = {
  master: 'kms-master.sealed',
  identity: 'kms-identity.sealed',
} as const

const SECRET_LENGTH = 32
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

export interface KmsSecrets {
  /** The 32-byte master secret. It never leaves the KMS process unsealed. */
  readonly masterSecret: Uint8Array
  /** The identity's 32-byte secp256k1 private key. */
  readonly identityKey: Uint8Array
  /** The identity's Ethereum address (EIP-55): the KMS signer the registry owner adds. */
  readonly address: Address
  /** True when this call generated the secrets (first start), false when it unsealed them. */
  readonly created: boolean
}

export interface OpenKmsSecretsOptions {
  dataDir: string
  tee: TeeProvider
  /** Randomness from inside the TEE. On first start the master secret is drawn first, then the identity. */
  randomBytes: (length: number) => Uint8Array
}

/**
 * Unseals the KMS's secrets from `dataDir`, or on first start generates and seals them.
 *
 * @example
 * const secrets = await openKmsSecrets({ dataDir, tee, randomBytes })
 * secrets.address // '0x…' — add it with registry.addKmsSigner
 */
export async function openKmsSecrets(options: OpenKmsSecretsOptions): Promise<KmsSecrets> {
  const { dataDir, tee } = options
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const files = new SealedFiles(tee)
  const masterPath = join(dataDir, KMS_SECRET_FILES.master)
  const identityPath = join(dataDir, KMS_SECRET_FILES.identity)

  let masterSecret = await unseal(files, masterPath, KMS_SEAL_LABELS.master, 'the KMS master secret')
  let identityKey = await unseal(files, identityPath, KMS_SEAL_LABELS.identity, 'the KMS identity key')
  let created = false

  if (masterSecret === undefined && identityKey !== undefined) {
    throw new KmsError('KMS_DATA_INCOMPLETE', 'the KMS data dir holds an identity but no master secret', {
      details: `${masterPath} is missing`,
      hint: 'restore the sealed master secret from a backup of this machine; a new master secret would change every cluster secret and contract key of the network',
    })
  }
  if (masterSecret === undefined) {
    masterSecret = randomSecret(options.randomBytes)
    await files.write(masterPath, KMS_SEAL_LABELS.master, masterSecret)
    created = true
  }
  // Missing alone only after a crash between the two writes of a first start (the master is written first).
  if (identityKey === undefined) {
    identityKey = randomIdentityKey(options.randomBytes)
    await files.write(identityPath, KMS_SEAL_LABELS.identity, identityKey)
    created = true
  }
  checkSecret(masterSecret, masterPath)
  checkIdentityKey(identityKey, identityPath)
  return { masterSecret, identityKey, address: privateKeyToAddress(identityKey), created }
}

async function unseal(
  files: SealedFiles,
  path: string,
  label: string,
  what: string,
): Promise<Uint8Array | undefined> {
  if (!existsSync(path)) return undefined
  try {
    return await files.read(path, label)
  } catch (error) {
    if (error instanceof TeeError && error.code === 'SEAL_KEY_MISMATCH') {
      throw new TeeError('SEAL_KEY_MISMATCH', `${what} in ${path} does not unseal in this TEE`, {
        details:
          'it was sealed on another machine or by another TEE (a KMS data dir copied from elsewhere), or it was altered',
        hint: 'run the KMS on the machine that sealed its data dir. Do not start over with an empty data dir unless you mean to create a new network: a new master secret changes every cluster secret and contract key',
        cause: error,
      })
    }
    throw error
  }
}

function randomSecret(randomBytes: (length: number) => Uint8Array): Uint8Array {
  const secret = Uint8Array.from(randomBytes(SECRET_LENGTH))
  if (secret.length !== SECRET_LENGTH)
    throw new KmsError('KMS_SECRET_INVALID', `randomBytes(${SECRET_LENGTH}) returned ${secret.length} bytes`)
  return secret
}

function randomIdentityKey(randomBytes: (length: number) => Uint8Array): Uint8Array {
  // Rejection sampling: a key must be in [1, n-1]; a uniformly random 32-byte string almost always is.
  for (let attempt = 0; attempt < 64; attempt++) {
    const key = randomSecret(randomBytes)
    if (isScalar(key)) return key
  }
  throw new KmsError('KMS_SECRET_INVALID', 'randomBytes keeps returning invalid secp256k1 keys', {
    details: 'no key in [1, n-1] after 64 draws: the randomness source is broken',
  })
}

function isScalar(key: Uint8Array): boolean {
  const value = BigInt(`0x${Buffer.from(key).toString('hex')}`)
  return value > 0n && value < SECP256K1_N
}

function checkSecret(secret: Uint8Array, path: string): void {
  if (secret.length !== SECRET_LENGTH)
    throw new KmsError(
      'KMS_SECRET_INVALID',
      `${path} holds ${secret.length} bytes, expected ${SECRET_LENGTH}`,
    )
}

function checkIdentityKey(key: Uint8Array, path: string): void {
  checkSecret(key, path)
  if (!isScalar(key))
    throw new KmsError('KMS_SECRET_INVALID', `${path} does not hold a valid secp256k1 private key`)
}
