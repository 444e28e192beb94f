import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { x25519 } from '@noble/curves/ed25519.js'
import { createSimulatedTee, SealedFiles } from '@veil/attestation'
import { afterAll, describe, expect, it } from 'vitest'
import { IDENTITY_FILE, loadOrCreateIdentity } from './identity.js'

const dir = mkdtempSync(join(tmpdir(), 'veil-identity-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const machine = (fill: number) =>
  new SealedFiles(
    createSimulatedTee({ measurement: new Uint8Array(32), platformSecret: new Uint8Array(32).fill(fill) }),
  )
const here = machine(1)

describe('worker identity', () => {
  it('is created once, sealed (0600, no key in clear), and kept across restarts', async () => {
    const first = await loadOrCreateIdentity(dir, (n) => new Uint8Array(randomBytes(n)), here)
    const again = await loadOrCreateIdentity(
      dir,
      () => {
        throw new Error('must not generate again')
      },
      here,
    )
    expect(again.address).toBe(first.address)
    expect(again.x25519PublicKey).toEqual(first.x25519PublicKey)
    expect(first.x25519PublicKey).toEqual(x25519.getPublicKey(first.x25519PrivateKey))
    const path = join(dir, IDENTITY_FILE)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const raw = readFileSync(path)
    expect(raw.includes(Buffer.from(Buffer.from(first.signingKey).toString('hex')))).toBe(false)
    expect(raw.includes(Buffer.from(first.signingKey))).toBe(false)
  })

  it('refuses to unseal on another machine, with a clear error', async () => {
    const error = await loadOrCreateIdentity(dir, (n) => new Uint8Array(n), machine(2)).catch(
      (e: unknown) => e,
    )
    expect(error).toMatchObject({ code: 'SEAL_KEY_MISMATCH' })
    expect(String(error)).toContain('copied')
  })

  it('is derived from the injected randomness', async () => {
    const sevens = (n: number) => new Uint8Array(n).fill(7)
    const a = await loadOrCreateIdentity(mkdtempSync(join(dir, 'det-')), sevens, here)
    const b = await loadOrCreateIdentity(mkdtempSync(join(dir, 'det-')), sevens, here)
    const c = await loadOrCreateIdentity(
      mkdtempSync(join(dir, 'det-')),
      (n) => new Uint8Array(n).fill(8),
      here,
    )
    expect(a.address).toBe(b.address)
    expect(a.address).not.toBe(c.address)
    expect(a.x25519PublicKey).toEqual(x25519.getPublicKey(new Uint8Array(32).fill(7)))
  })

  it('seals an identity left in clear by an older version, and deletes the clear file', async () => {
    const d = mkdtempSync(join(dir, 'legacy-'))
    const file = { version: 1, secp256k1PrivateKey: '11'.repeat(32), x25519PrivateKey: '22'.repeat(32) }
    writeFileSync(join(d, 'identity.json'), JSON.stringify(file))
    const identity = await loadOrCreateIdentity(d, () => new Uint8Array(32), here)
    expect(Buffer.from(identity.signingKey).toString('hex')).toBe('11'.repeat(32))
    expect(existsSync(join(d, 'identity.json'))).toBe(false)
    expect(existsSync(join(d, IDENTITY_FILE))).toBe(true)
  })

  it('refuses a damaged identity with a fix', async () => {
    const d = mkdtempSync(join(dir, 'bad-'))
    writeFileSync(join(d, 'identity.json'), '{"version":1}')
    await expect(loadOrCreateIdentity(d, (n) => new Uint8Array(n), here)).rejects.toThrow(
      /unreadable[\s\S]*Fix: restore the file/,
    )
  })
})
