import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { HPKE_KDF_ID, HPKE_KEM_ID, type HpkeAead, type HpkeSuite, hpkeAeadFromId } from './hpke.js'
import { decap, deriveX25519KeyPair, encap, keySchedule, nodeHpke, suiteOf } from './hpke-node.js'
import { webHpke } from './hpke-web.js'

// RFC 9180 Appendix A, as extracted into the shared test data (field names of the official vector file).
interface Vector {
  mode: number
  kem_id: number
  kdf_id: number
  aead_id: number
  info: string
  ikmE: string
  pkEm: string
  skEm: string
  ikmR: string
  pkRm: string
  skRm: string
  enc: string
  shared_secret: string
  key_schedule_context: string
  secret: string
  key: string
  base_nonce: string
  exporter_secret: string
  encryptions?: Array<{ sequence_number: number; aad: string; ct: string; nonce: string; pt: string }>
  exports: Array<{ exporter_context: string; L: number; exported_value: string }>
}

const FILE = new URL('../../../../shared/testdata/hpke/rfc9180-x25519-sha256-vectors.json', import.meta.url)
const ALL = JSON.parse(readFileSync(FILE, 'utf8')) as Vector[]
const hex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'))
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

// Applicable: base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, and an AEAD Veil supports. PSK, Auth
// and AuthPSK vectors exercise modes Veil does not implement.
const BASE = ALL.filter(
  (v) => v.mode === 0 && v.kem_id === HPKE_KEM_ID && v.kdf_id === HPKE_KDF_ID && hpkeAeadFromId(v.aead_id),
)
const cases = BASE.map((v) => ({ name: hpkeAeadFromId(v.aead_id) as HpkeAead, v }))

describe('RFC 9180 vectors (shared testdata)', () => {
  it('holds the three base-mode vectors Veil applies, and nothing applicable is left out', () => {
    expect(ALL).toHaveLength(12)
    expect(cases.map((c) => c.name).sort()).toEqual(['aes-128-gcm', 'chacha20-poly1305', 'export-only'])
    // Every vector that is not applied is in a mode Veil does not implement.
    expect(ALL.filter((v) => !BASE.includes(v)).every((v) => v.mode !== 0)).toBe(true)
    const encryptions = BASE.reduce((n, v) => n + (v.encryptions?.length ?? 0), 0)
    const exports = BASE.reduce((n, v) => n + v.exports.length, 0)
    expect({ encryptions, exports }).toEqual({ encryptions: 12, exports: 9 })
  })
})

describe('node HPKE internals reproduce every intermediate value', () => {
  it.each(cases)('$name: key pairs, enc, shared_secret, key, base_nonce, exporter_secret', ({ name, v }) => {
    const recipient = deriveX25519KeyPair(hex(v.ikmR))
    expect(toHex(recipient.privateKey)).toBe(v.skRm)
    expect(toHex(recipient.publicKey)).toBe(v.pkRm)
    const ephemeral = deriveX25519KeyPair(hex(v.ikmE))
    expect(toHex(ephemeral.privateKey)).toBe(v.skEm)
    expect(toHex(ephemeral.publicKey)).toBe(v.pkEm)

    const { enc, sharedSecret } = encap(hex(v.pkRm), hex(v.ikmE))
    expect(toHex(enc)).toBe(v.enc)
    expect(toHex(sharedSecret)).toBe(v.shared_secret)
    expect(toHex(decap(hex(v.enc), hex(v.skRm)))).toBe(v.shared_secret)

    const schedule = keySchedule(suiteOf(name), hex(v.shared_secret), hex(v.info))
    expect(toHex(schedule.key)).toBe(v.key)
    expect(toHex(schedule.baseNonce)).toBe(v.base_nonce)
    expect(toHex(schedule.exporterSecret)).toBe(v.exporter_secret)
  })
})

/** Runs one vector through the public, implementation-independent interface. */
async function checkVector(hpke: HpkeSuite, name: HpkeAead, v: Vector): Promise<number> {
  let checked = 0
  const recipientKeys = await hpke.deriveKeyPair(hex(v.ikmR))
  expect(toHex(recipientKeys.publicKey)).toBe(v.pkRm)
  expect(toHex(recipientKeys.privateKey)).toBe(v.skRm)

  const info = hex(v.info)
  const sender = await hpke.setupBaseS({
    recipientPublicKey: hex(v.pkRm),
    info,
    aead: name,
    ikmE: hex(v.ikmE),
  })
  expect(toHex(sender.enc)).toBe(v.enc)
  const recipient = await hpke.setupBaseR({
    recipientPrivateKey: hex(v.skRm),
    enc: sender.enc,
    info,
    aead: name,
  })

  // The vectors list sequence numbers 0, 1, 2, 4, 255, 256: fill the gaps with messages sealed and
  // opened through the same contexts, so both sides reach each listed sequence number in order.
  const encryptions = v.encryptions ?? []
  const last = encryptions.at(-1)?.sequence_number ?? -1
  for (let seq = 0; seq <= last; seq++) {
    const listed = encryptions.find((e) => e.sequence_number === seq)
    if (listed === undefined) {
      const filler = new TextEncoder().encode(`filler ${seq}`)
      expect(await recipient.open(await sender.seal(filler), hex(''))).toEqual(filler)
      continue
    }
    const ct = await sender.seal(hex(listed.pt), hex(listed.aad))
    expect(toHex(ct)).toBe(listed.ct)
    expect(toHex(await recipient.open(hex(listed.ct), hex(listed.aad)))).toBe(listed.pt)
    // The listed nonce is base_nonce XOR seq under the listed key: the raw AEAD opens the ct with it.
    const raw = { aead: name as Exclude<HpkeAead, 'export-only'>, key: hex(v.key), nonce: hex(listed.nonce) }
    expect(toHex(await hpke.aeadOpen({ ...raw, ciphertext: hex(listed.ct), aad: hex(listed.aad) }))).toBe(
      listed.pt,
    )
    checked++
  }

  for (const e of v.exports) {
    expect(toHex(await sender.export(hex(e.exporter_context), e.L))).toBe(e.exported_value)
    expect(toHex(await recipient.export(hex(e.exporter_context), e.L))).toBe(e.exported_value)
    checked++
  }
  return checked
}

describe.each([
  ['node', nodeHpke],
  ['web', webHpke],
] as const)('%s HPKE reproduces every base-mode vector', (_, hpke) => {
  it.each(cases)('$name: enc, every encryption, every export', async ({ name, v }) => {
    const checked = await checkVector(hpke, name, v)
    expect(checked).toBe((v.encryptions?.length ?? 0) + v.exports.length)
  })

  it.each(cases.filter((c) => c.name !== 'export-only'))(
    '$name: single-shot seal/open of the first message',
    async ({ name, v }) => {
      const first = v.encryptions?.[0]
      if (first === undefined) throw new Error('vector without encryptions')
      const aead = name as Exclude<HpkeAead, 'export-only'>
      const info = hex(v.info)
      const sealed = await hpke.seal({
        recipientPublicKey: hex(v.pkRm),
        info,
        aead,
        ikmE: hex(v.ikmE),
        plaintext: hex(first.pt),
        aad: hex(first.aad),
      })
      expect(toHex(sealed.enc)).toBe(v.enc)
      expect(toHex(sealed.ciphertext)).toBe(first.ct)
      const opened = await hpke.open({
        recipientPrivateKey: hex(v.skRm),
        enc: hex(v.enc),
        info,
        aead,
        ciphertext: hex(first.ct),
        aad: hex(first.aad),
      })
      expect(toHex(opened)).toBe(first.pt)
    },
  )
})
