import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type AeadName,
  HPKE_EXPORT_LABELS,
  HpkeInputError,
  HpkeOpenError,
  type HpkeSuite,
  type X25519KeyPair,
} from './hpke.js'
import { generateX25519KeyPair, nodeHpke } from './hpke-node.js'
import { webHpke } from './hpke-web.js'

const AEADS: AeadName[] = ['aes-128-gcm', 'chacha20-poly1305']
const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max })
const keys: X25519KeyPair[] = Array.from({ length: 4 }, () => generateX25519KeyPair())
const flip = (data: Uint8Array, bit: number) => {
  const out = Uint8Array.from(data)
  const index = bit >> 3
  out[index] = (out[index] ?? 0) ^ (1 << (bit & 7))
  return out
}

/** Awaits `promise` and asserts it failed with the opaque open error, and nothing more. */
async function expectCannotOpen(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(HpkeOpenError)
  const open = error as HpkeOpenError
  expect(open.message).toBe('cannot open')
  expect(open.code).toBe('HPKE_OPEN_FAILED')
  expect(open.cause).toBeUndefined()
  expect(open.details).toBeUndefined()
}

describe.each([
  ['node', nodeHpke],
  ['web', webHpke],
] as const)('%s HPKE properties', (_, hpke: HpkeSuite) => {
  const runs = { numRuns: 40 }

  it('round-trips any plaintext, aad and info, for both AEADs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...AEADS),
        fc.constantFrom(...keys),
        bytes(600),
        bytes(64),
        fc.oneof(
          bytes(100),
          fc.string({ maxLength: 40 }).filter((s) => !/\p{Cs}/u.test(s)),
        ),
        async (aead, key, plaintext, aad, info) => {
          const sealed = await hpke.seal({ recipientPublicKey: key.publicKey, info, aead, plaintext, aad })
          expect(sealed.ciphertext.length).toBe(plaintext.length + 16)
          const opened = await hpke.open({
            recipientPrivateKey: key.privateKey,
            enc: sealed.enc,
            info,
            aead,
            ciphertext: sealed.ciphertext,
            aad,
          })
          expect(opened).toEqual(plaintext)
        },
      ),
      runs,
    )
  })

  it('rejects any flipped bit of enc, ciphertext or aad, with nothing but "cannot open"', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...AEADS),
        bytes(80),
        fc.uint8Array({ minLength: 1, maxLength: 24 }),
        fc.constantFrom('enc', 'ciphertext', 'aad'),
        fc.nat(),
        async (aead, plaintext, aad, target, seed) => {
          const [key] = keys as [X25519KeyPair]
          const info = 'veil/v1/test'
          const sealed = await hpke.seal({ recipientPublicKey: key.publicKey, info, aead, plaintext, aad })
          const params = { recipientPrivateKey: key.privateKey, info, aead, ...sealed, aad }
          const length = target === 'enc' ? 32 : target === 'aad' ? aad.length : sealed.ciphertext.length
          const bit = seed % (length * 8)
          if (target === 'enc') params.enc = flip(sealed.enc, bit)
          if (target === 'ciphertext') params.ciphertext = flip(sealed.ciphertext, bit)
          if (target === 'aad') params.aad = flip(aad, bit)
          await expectCannotOpen(hpke.open(params))
        },
      ),
      runs,
    )
  })

  it('does not open under another key or another info, and a truncated or extended ct fails', async () => {
    const [a, b] = keys as [X25519KeyPair, X25519KeyPair]
    for (const aead of AEADS) {
      const plaintext = new TextEncoder().encode('{"method":"balance","args":[]}')
      const sealed = await hpke.seal({ recipientPublicKey: a.publicKey, info: 'i', aead, plaintext })
      const good = { recipientPrivateKey: a.privateKey, info: 'i', aead, ...sealed }
      await expectCannotOpen(hpke.open({ ...good, recipientPrivateKey: b.privateKey }))
      await expectCannotOpen(hpke.open({ ...good, info: 'j' }))
      await expectCannotOpen(
        hpke.open({ ...good, aead: aead === 'aes-128-gcm' ? 'chacha20-poly1305' : 'aes-128-gcm' }),
      )
      await expectCannotOpen(hpke.open({ ...good, ciphertext: sealed.ciphertext.subarray(0, -1) }))
      await expectCannotOpen(hpke.open({ ...good, ciphertext: Uint8Array.from([...sealed.ciphertext, 0]) }))
      await expectCannotOpen(hpke.open({ ...good, aad: Uint8Array.of(0) }))
      expect(await hpke.open(good)).toEqual(plaintext)
    }
  })

  it('refuses low-order enc points as "cannot open"', async () => {
    const [key] = keys as [X25519KeyPair]
    // The all-zero point and the point of order 8 from RFC 7748 §6.1-style test data: the DH output is zero.
    const lowOrder = [new Uint8Array(32), Uint8Array.from([1, ...new Uint8Array(31)])]
    for (const enc of lowOrder) {
      await expectCannotOpen(
        hpke.setupBaseR({ recipientPrivateKey: key.privateKey, enc, info: '', aead: 'aes-128-gcm' }),
      )
    }
    await expect(
      hpke.setupBaseS({ recipientPublicKey: new Uint8Array(32), info: '', aead: 'aes-128-gcm' }),
    ).rejects.toMatchObject({ code: 'HPKE_INVALID_INPUT', argument: 'recipientPublicKey' })
  })

  it('agrees on exports on both sides, per label and length', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'aes-128-gcm' | 'chacha20-poly1305' | 'export-only'>(...AEADS, 'export-only'),
        fc.oneof(bytes(40), fc.constantFrom(HPKE_EXPORT_LABELS.response, HPKE_EXPORT_LABELS.receipt)),
        fc.integer({ min: 1, max: 300 }),
        async (aead, label, length) => {
          const [key] = keys as [X25519KeyPair]
          const sender = await hpke.setupBaseS({ recipientPublicKey: key.publicKey, info: 'x', aead })
          const recipient = await hpke.setupBaseR({
            recipientPrivateKey: key.privateKey,
            enc: sender.enc,
            info: 'x',
            aead,
          })
          const exported = await sender.export(label, length)
          expect(exported).toHaveLength(length)
          expect(await recipient.export(label, length)).toEqual(exported)
        },
      ),
      runs,
    )
  })

  it('keeps sequence numbers in step: many messages, a failed open does not advance', async () => {
    const [key] = keys as [X25519KeyPair]
    for (const aead of AEADS) {
      const sender = await hpke.setupBaseS({ recipientPublicKey: key.publicKey, info: 's', aead })
      const recipient = await hpke.setupBaseR({
        recipientPrivateKey: key.privateKey,
        enc: sender.enc,
        info: 's',
        aead,
      })
      const seen = new Set<string>()
      for (let i = 0; i < 20; i++) {
        const plaintext = new Uint8Array(16) // the same plaintext every time
        const ct = await sender.seal(plaintext)
        seen.add(Buffer.from(ct).toString('hex'))
        if (i % 5 === 0) await expectCannotOpen(recipient.open(flip(ct, 3)))
        expect(await recipient.open(ct)).toEqual(plaintext)
      }
      // A fresh nonce per message: the same plaintext never gives the same ciphertext.
      expect(seen.size).toBe(20)
    }
  })

  it('seals and opens raw AEAD messages under an exported key (the answer path)', async () => {
    const [key] = keys as [X25519KeyPair]
    for (const aead of AEADS) {
      const length = aead === 'aes-128-gcm' ? 16 : 32
      const sender = await hpke.setupBaseS({ recipientPublicKey: key.publicKey, info: 'q', aead })
      const worker = await hpke.setupBaseR({
        recipientPrivateKey: key.privateKey,
        enc: sender.enc,
        info: 'q',
        aead,
      })
      const answerKey = await worker.export(HPKE_EXPORT_LABELS.response, length)
      const nonce = new Uint8Array(12)
      const aad = new Uint8Array(32).fill(7)
      const plaintext = new TextEncoder().encode('{"ok":true,"result":1}')
      const ct = await hpke.aeadSeal({ aead, key: answerKey, nonce, plaintext, aad })
      const clientKey = await sender.export(HPKE_EXPORT_LABELS.response, length)
      expect(await hpke.aeadOpen({ aead, key: clientKey, nonce, ciphertext: ct, aad })).toEqual(plaintext)
      await expectCannotOpen(hpke.aeadOpen({ aead, key: clientKey, nonce, ciphertext: flip(ct, 0), aad }))
      await expectCannotOpen(hpke.aeadOpen({ aead, key: clientKey, nonce, ciphertext: ct }))
    }
  })

  it('names the bad argument', async () => {
    const [key] = keys as [X25519KeyPair]
    const base = { recipientPublicKey: key.publicKey, info: '', aead: 'aes-128-gcm' as const }
    const receive = {
      recipientPrivateKey: key.privateKey,
      enc: key.publicKey,
      info: '',
      aead: 'aes-128-gcm' as const,
    }
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => hpke.setupBaseS({ ...base, recipientPublicKey: new Uint8Array(31) }), 'recipientPublicKey'],
      [() => hpke.setupBaseS({ ...base, aead: 'aes-256-gcm' as never }), 'aead'],
      [() => hpke.setupBaseS({ ...base, info: 42 as never }), 'info'],
      [() => hpke.setupBaseS({ ...base, info: 'a\uD800' }), 'info'],
      [() => hpke.setupBaseS({ ...base, info: new Uint8Array(8193) }), 'info'],
      [() => hpke.setupBaseS({ ...base, ikmE: new Uint8Array(16) }), 'ikmE'],
      [() => hpke.setupBaseS(undefined as never), 'params'],
      [() => hpke.setupBaseR({ ...receive, recipientPrivateKey: new Uint8Array(33) }), 'recipientPrivateKey'],
      [() => hpke.setupBaseR({ ...receive, enc: new Uint8Array(0) }), 'enc'],
      [() => hpke.seal({ ...base, aead: 'export-only', plaintext: new Uint8Array(1) }), 'aead'],
      [() => hpke.seal({ ...base, plaintext: 'text' as never }), 'plaintext'],
      [() => hpke.seal({ ...base, plaintext: new Uint8Array(1), aad: [1] as never }), 'aad'],
      [() => hpke.open({ ...receive, ciphertext: new Uint8Array(15) }), 'ciphertext'],
      [() => hpke.deriveKeyPair(new Uint8Array(31)), 'ikm'],
      [
        () =>
          hpke.aeadSeal({
            aead: 'aes-128-gcm',
            key: new Uint8Array(32),
            nonce: new Uint8Array(12),
            plaintext: new Uint8Array(1),
          }),
        'key',
      ],
      [
        () =>
          hpke.aeadSeal({
            aead: 'chacha20-poly1305',
            key: new Uint8Array(32),
            nonce: new Uint8Array(8),
            plaintext: new Uint8Array(1),
          }),
        'nonce',
      ],
      [
        () =>
          hpke.aeadOpen({
            aead: 'export-only' as never,
            key: new Uint8Array(16),
            nonce: new Uint8Array(12),
            ciphertext: new Uint8Array(16),
          }),
        'aead',
      ],
      [async () => (await hpke.setupBaseS(base)).export('x', 0), 'length'],
      [async () => (await hpke.setupBaseS(base)).export('x', 255 * 32 + 1), 'length'],
      [async () => (await hpke.setupBaseS(base)).export(new Uint8Array(8193), 32), 'exporterContext'],
      [async () => (await hpke.setupBaseS({ ...base, aead: 'export-only' })).seal(new Uint8Array(1)), 'aead'],
    ]
    for (const [call, argument] of cases) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error, argument).toBeInstanceOf(HpkeInputError)
      expect((error as HpkeInputError).argument).toBe(argument)
      expect((error as HpkeInputError).code).toBe('HPKE_INVALID_INPUT')
      expect((error as Error).message).toContain(argument)
    }
  })

  it('generates and derives usable key pairs', async () => {
    const pair = await hpke.generateKeyPair()
    expect(pair.privateKey).toHaveLength(32)
    expect(pair.publicKey).toHaveLength(32)
    const derived = await hpke.deriveKeyPair(new Uint8Array(32).fill(9))
    expect(await hpke.deriveKeyPair(new Uint8Array(32).fill(9))).toEqual(derived)
    for (const key of [pair, derived]) {
      const plaintext = Uint8Array.of(1, 2, 3)
      const sealed = await hpke.seal({
        recipientPublicKey: key.publicKey,
        info: '',
        aead: 'aes-128-gcm',
        plaintext,
      })
      expect(
        await hpke.open({ recipientPrivateKey: key.privateKey, info: '', aead: 'aes-128-gcm', ...sealed }),
      ).toEqual(plaintext)
    }
  })
})
