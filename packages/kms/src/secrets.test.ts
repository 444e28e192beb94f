import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { privateKeyToAddress } from '@veil/crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { KMS_SECRET_FILES, openKmsSecrets } from './secrets.js'
import { randomWithMaster, simulatedTee, tempDir } from './test-support.js'

let dir: string
beforeEach(() => {
  dir = tempDir('veil-kms-secrets-')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'NONE',
    (error: { code?: string }) => error.code,
  )

/** Every byte written under `dir`, file by file. */
function filesUnder(root: string): Buffer[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => readFileSync(join(entry.parentPath, entry.name)))
}

describe('KMS secrets', () => {
  it('generates the master secret and identity on first start and writes them only sealed', async () => {
    const master = new Uint8Array(randomBytes(32))
    const secrets = await openKmsSecrets({
      dataDir: dir,
      tee: simulatedTee(),
      randomBytes: randomWithMaster(master),
    })
    expect(secrets.created).toBe(true)
    expect(secrets.masterSecret).toEqual(master)
    expect(secrets.identityKey).toHaveLength(32)
    expect(secrets.address).toBe(privateKeyToAddress(secrets.identityKey))
    for (const file of Object.values(KMS_SECRET_FILES)) {
      expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600)
    }
    // No plaintext on disk, in raw bytes or as hex or base64 text; no temp files left behind.
    const forms = [secrets.masterSecret, secrets.identityKey].flatMap((secret) => {
      const bytes = Buffer.from(secret)
      return [bytes, Buffer.from(bytes.toString('hex')), Buffer.from(bytes.toString('base64url'))]
    })
    const files = filesUnder(dir)
    expect(files).toHaveLength(2)
    for (const content of files) for (const form of forms) expect(content.includes(form)).toBe(false)
  })

  it('unseals the same secrets on restart', async () => {
    const first = await openKmsSecrets({ dataDir: dir, tee: simulatedTee(), randomBytes })
    const again = await openKmsSecrets({
      dataDir: dir,
      tee: simulatedTee(),
      randomBytes: () => {
        throw new Error('a restart must not draw new secrets')
      },
    })
    expect(again.created).toBe(false)
    expect(again.masterSecret).toEqual(first.masterSecret)
    expect(again.address).toBe(first.address)
  })

  it('refuses a data dir copied to another machine (SEAL_KEY_MISMATCH), saying what to do', async () => {
    await openKmsSecrets({ dataDir: dir, tee: simulatedTee(7), randomBytes })
    const elsewhere = openKmsSecrets({ dataDir: dir, tee: simulatedTee(8), randomBytes })
    await expect(elsewhere).rejects.toMatchObject({
      code: 'SEAL_KEY_MISMATCH',
      hint: expect.stringMatching(/machine that sealed/),
    })
  })

  it('does not open a file sealed for the other purpose', async () => {
    await openKmsSecrets({ dataDir: dir, tee: simulatedTee(), randomBytes })
    const master = join(dir, KMS_SECRET_FILES.master)
    const identity = join(dir, KMS_SECRET_FILES.identity)
    renameSync(master, `${master}.x`)
    renameSync(identity, master)
    renameSync(`${master}.x`, identity)
    expect(await codeOf(openKmsSecrets({ dataDir: dir, tee: simulatedTee(), randomBytes }))).toBe(
      'SEAL_KEY_MISMATCH',
    )
  })

  it('refuses an identity whose master secret is gone instead of creating a new master', async () => {
    await openKmsSecrets({ dataDir: dir, tee: simulatedTee(), randomBytes })
    rmSync(join(dir, KMS_SECRET_FILES.master))
    expect(await codeOf(openKmsSecrets({ dataDir: dir, tee: simulatedTee(), randomBytes }))).toBe(
      'KMS_DATA_INCOMPLETE',
    )
  })

  it('completes a first start that stopped after sealing the master secret', async () => {
    const first = await openKmsSecrets({ dataDir: dir, tee: simulatedTee(), randomBytes })
    rmSync(join(dir, KMS_SECRET_FILES.identity))
    const again = await openKmsSecrets({ dataDir: dir, tee: simulatedTee(), randomBytes })
    expect(again.masterSecret).toEqual(first.masterSecret)
    expect(again.address).not.toBe(first.address)
  })
})
