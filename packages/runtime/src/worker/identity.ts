import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { x25519 } from '@noble/curves/ed25519.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
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

const FILE = 'identity.json'

/**
 * Loads the worker's identity from its data dir, creating it on first start from `randomBytes`.
 *
 * Until TEE sealing lands (trust issue), the keys are stored unsealed in a 0600 file: acceptable only on
 * a development network, and documented as such.
 */
export function loadOrCreateIdentity(
  dataDir: string,
  randomBytes: (n: number) => Uint8Array,
): WorkerIdentity {
  const path = join(dataDir, FILE)
  if (existsSync(path)) return parseIdentity(path)
  const file: IdentityFile = {
    version: 1,
    secp256k1PrivateKey: bytesToHex(randomSecp256k1Key(randomBytes)),
    x25519PrivateKey: bytesToHex(randomBytes(32)),
  }
  const tmp = `${path}.tmp`
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
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

function parseIdentity(path: string): WorkerIdentity {
  let file: IdentityFile
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as IdentityFile
    if (
      file.version !== 1 ||
      !/^[0-9a-f]{64}$/.test(file.secp256k1PrivateKey) ||
      !/^[0-9a-f]{64}$/.test(file.x25519PrivateKey)
    ) {
      throw new Error('unexpected fields')
    }
  } catch (error) {
    throw new VeilError(`the worker identity in ${path} is unreadable`, {
      code: 'IDENTITY_INVALID',
      details: (error as Error).message,
      hint: 'restore the file from a backup; deleting it makes this worker a new, unregistered identity',
      cause: error,
    })
  }
  return fromFile(file)
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
