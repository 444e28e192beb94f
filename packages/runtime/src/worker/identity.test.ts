import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { x25519 } from '@noble/curves/ed25519.js'
import { afterAll, describe, expect, it } from 'vitest'
import { loadOrCreateIdentity } from './identity.js'

const dir = mkdtempSync(join(tmpdir(), 'veil-identity-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('worker identity', () => {
  it('is created once and kept across restarts, readable only by its owner', () => {
    const first = loadOrCreateIdentity(dir, (n) => new Uint8Array(randomBytes(n)))
    const again = loadOrCreateIdentity(dir, () => {
      throw new Error('must not generate again')
    })
    expect(again.address).toBe(first.address)
    expect(again.x25519PublicKey).toEqual(first.x25519PublicKey)
    expect(first.x25519PublicKey).toEqual(x25519.getPublicKey(first.x25519PrivateKey))
    expect(statSync(join(dir, 'identity.json')).mode & 0o777).toBe(0o600)
  })

  it('is derived from the injected randomness', () => {
    const sevens = (n: number) => new Uint8Array(n).fill(7)
    const a = loadOrCreateIdentity(mkdtempSync(join(dir, 'det-')), sevens)
    const b = loadOrCreateIdentity(mkdtempSync(join(dir, 'det-')), sevens)
    const c = loadOrCreateIdentity(mkdtempSync(join(dir, 'det-')), (n) => new Uint8Array(n).fill(8))
    expect(a.address).toBe(b.address)
    expect(a.address).not.toBe(c.address)
    expect(a.x25519PublicKey).toEqual(x25519.getPublicKey(new Uint8Array(32).fill(7)))
  })

  it('refuses a damaged identity file with a fix', () => {
    const d = mkdtempSync(join(dir, 'bad-'))
    writeFileSync(join(d, 'identity.json'), '{"version":1}')
    expect(() => loadOrCreateIdentity(d, (n) => new Uint8Array(n))).toThrow(
      /unreadable[\s\S]*Fix: restore the file/,
    )
  })
})
