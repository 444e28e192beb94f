/**
 * Secrets sealed to disk under a TEE sealing key: the worker's identity and cluster secret, the KMS's
 * master secret and signing key. A sealed file opens only with the same TEE's key for the same label, so a
 * data dir copied to another machine (another platform secret, another TD) refuses to unseal.
 *
 * File layout: magic "VEILSEAL" (8) ‖ version u8 = 1 ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16),
 * with associated data = magic ‖ version ‖ UTF-8 label, so a file sealed for one purpose does not open as
 * another. Writes are atomic (temp file, fsync, rename) and 0600.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { TeeError, type TeeProvider } from './provider.js'

const MAGIC = Buffer.from('VEILSEAL')
const VERSION = 1
const NONCE = 12
const TAG = 16

function associatedData(label: string): Buffer {
  return Buffer.concat([MAGIC, Uint8Array.of(VERSION), Buffer.from(label, 'utf8')])
}

/** Seals `plaintext` under `key` (32 bytes) for `label`. */
export function sealBytes(key: Uint8Array, label: string, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(NONCE)
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG })
  cipher.setAAD(associatedData(label))
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([MAGIC, Uint8Array.of(VERSION), nonce, body, cipher.getAuthTag()])
}

/** Opens bytes from {@link sealBytes}; throws `TeeError` (`SEALED_FILE_INVALID`, `SEAL_KEY_MISMATCH`). */
export function unsealBytes(
  key: Uint8Array,
  label: string,
  sealed: Uint8Array,
  what = 'sealed data',
): Uint8Array {
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
  if (bytes.length < MAGIC.length + 1 + NONCE + TAG || !bytes.subarray(0, MAGIC.length).equals(MAGIC))
    throw new TeeError('SEALED_FILE_INVALID', `${what} is not a Veil sealed file`, {
      hint: 'restore it from a backup of the same machine, or start with an empty data dir',
    })
  if (bytes[MAGIC.length] !== VERSION)
    throw new TeeError(
      'SEALED_FILE_INVALID',
      `${what} has sealed-file version ${bytes[MAGIC.length]}, expected ${VERSION}`,
    )
  const nonce = bytes.subarray(MAGIC.length + 1, MAGIC.length + 1 + NONCE)
  const body = bytes.subarray(MAGIC.length + 1 + NONCE, bytes.length - TAG)
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG })
    decipher.setAAD(associatedData(label))
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG))
    return new Uint8Array(Buffer.concat([decipher.update(body), decipher.final()]))
  } catch (error) {
    throw new TeeError('SEAL_KEY_MISMATCH', `${what} does not unseal with this TEE's sealing key`, {
      details:
        'it was sealed on another machine or by another TEE (a data dir copied from elsewhere), or it was altered',
      hint: 'run on the machine that sealed it; a copied data dir cannot be used elsewhere — start a new worker with an empty data dir instead',
      cause: error,
    })
  }
}

/** Reads and writes sealed files with one TEE provider's key per label. */
export class SealedFiles {
  constructor(private readonly tee: TeeProvider) {}

  /** The file's plaintext, or `undefined` when it does not exist. */
  async read(path: string, label: string): Promise<Uint8Array | undefined> {
    if (!existsSync(path)) return undefined
    const key = await this.tee.sealingKey(label)
    return unsealBytes(key, label, readFileSync(path), path)
  }

  /** Seals `plaintext` and writes it atomically (0600). */
  async write(path: string, label: string, plaintext: Uint8Array): Promise<void> {
    const key = await this.tee.sealingKey(label)
    const sealed = sealBytes(key, label, plaintext)
    const tmp = `${path}.tmp`
    const fd = openSync(tmp, 'w', 0o600)
    try {
      writeSync(fd, sealed)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
  }
}
