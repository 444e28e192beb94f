import { createCipheriv, createDecipheriv } from 'node:crypto'
import {
  type AeadEncryptionContext,
  AeadId,
  type AeadInterface,
  Aes128Gcm,
  CipherSuite,
  DhkemX25519HkdfSha256,
  HkdfSha256,
} from '@hpke/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type AeadName, HPKE_EXPORT_LABELS, type HpkeSuite } from './hpke.js'
import { nodeHpke } from './hpke-node.js'
import { webHpke } from './hpke-web.js'

const bufferOf = (data: ArrayBufferLike | ArrayBufferView) =>
  ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data)

/** @hpke/core ships no ChaCha20-Poly1305; the test plugs one in on node:crypto, per its AEAD interface. */
class NodeChaCha20Poly1305 implements AeadInterface {
  readonly id = AeadId.Chacha20Poly1305
  readonly keySize = 32
  readonly nonceSize = 12
  readonly tagSize = 16
  createEncryptionContext(key: ArrayBufferLike | ArrayBufferView): AeadEncryptionContext {
    const k = Buffer.from(bufferOf(key))
    return {
      seal: async (iv, data, aad) => {
        const c = createCipheriv('chacha20-poly1305', k, bufferOf(iv), { authTagLength: 16 })
        c.setAAD(bufferOf(aad), { plaintextLength: bufferOf(data).length })
        return new Uint8Array(Buffer.concat([c.update(bufferOf(data)), c.final(), c.getAuthTag()])).buffer
      },
      open: async (iv, data, aad) => {
        const d = bufferOf(data)
        const c = createDecipheriv('chacha20-poly1305', k, bufferOf(iv), { authTagLength: 16 })
        c.setAuthTag(d.subarray(d.length - 16))
        c.setAAD(bufferOf(aad), { plaintextLength: d.length - 16 })
        return new Uint8Array(Buffer.concat([c.update(d.subarray(0, d.length - 16)), c.final()])).buffer
      },
    }
  }
}

// Independent @hpke/core suites, built here the way an SDK would, not shared with hpke-web.ts.
const core = {
  'aes-128-gcm': new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new Aes128Gcm(),
  }),
  'chacha20-poly1305': new CipherSuite({
    kem: new DhkemX25519HkdfSha256(),
    kdf: new HkdfSha256(),
    aead: new NodeChaCha20Poly1305(),
  }),
} satisfies Record<AeadName, CipherSuite>

const AEADS: AeadName[] = ['aes-128-gcm', 'chacha20-poly1305']
const message = fc.record({
  aead: fc.constantFrom(...AEADS),
  plaintext: fc.uint8Array({ maxLength: 400 }),
  aad: fc.uint8Array({ maxLength: 40 }),
  info: fc.uint8Array({ maxLength: 80 }),
})
const RUNS = { numRuns: 25 }

/** A recipient key pair made by @hpke/core, with its raw bytes. */
async function coreKeyPair(suite: CipherSuite) {
  const pair = await suite.kem.generateKeyPair()
  return {
    pair,
    privateKey: new Uint8Array(await suite.kem.serializePrivateKey(pair.privateKey)),
    publicKey: new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey)),
  }
}

describe.each([
  ['node', nodeHpke],
  ['web', webHpke],
] as const)('%s HPKE interoperates with @hpke/core', (_, hpke: HpkeSuite) => {
  it('ours seals → @hpke/core opens (and both export the same answer key)', async () => {
    await fc.assert(
      fc.asyncProperty(message, async ({ aead, plaintext, aad, info }) => {
        const suite = core[aead]
        const recipient = await coreKeyPair(suite)
        const sender = await hpke.setupBaseS({ recipientPublicKey: recipient.publicKey, info, aead })
        const ct = await sender.seal(plaintext, aad)
        const theirs = await suite.createRecipientContext({
          recipientKey: recipient.pair,
          enc: sender.enc,
          info,
        })
        expect(new Uint8Array(await theirs.open(ct, aad))).toEqual(plaintext)
        const length = aead === 'aes-128-gcm' ? 16 : 32
        expect(
          new Uint8Array(await theirs.export(new TextEncoder().encode(HPKE_EXPORT_LABELS.response), length)),
        ).toEqual(await sender.export(HPKE_EXPORT_LABELS.response, length))
      }),
      RUNS,
    )
  })

  it('@hpke/core seals → ours opens (and both export the same answer key)', async () => {
    await fc.assert(
      fc.asyncProperty(message, async ({ aead, plaintext, aad, info }) => {
        const suite = core[aead]
        const recipient = await hpke.generateKeyPair()
        const theirs = await suite.createSenderContext({
          recipientPublicKey: await suite.kem.importKey(
            'raw',
            new Uint8Array(recipient.publicKey).buffer,
            true,
          ),
          info,
        })
        const ct = new Uint8Array(await theirs.seal(plaintext, aad))
        const ours = await hpke.setupBaseR({
          recipientPrivateKey: recipient.privateKey,
          enc: new Uint8Array(theirs.enc),
          info,
          aead,
        })
        expect(await ours.open(ct, aad)).toEqual(plaintext)
        expect(await ours.export('veil/v1/receipt', 16)).toEqual(
          new Uint8Array(await theirs.export(new TextEncoder().encode('veil/v1/receipt'), 16)),
        )
      }),
      RUNS,
    )
  })

  it('several messages per context, both directions', async () => {
    for (const aead of AEADS) {
      const suite = core[aead]
      const recipient = await coreKeyPair(suite)
      const sender = await hpke.setupBaseS({ recipientPublicKey: recipient.publicKey, info: 'multi', aead })
      const theirs = await suite.createRecipientContext({
        recipientKey: recipient.pair,
        enc: sender.enc,
        info: new TextEncoder().encode('multi'),
      })
      for (let i = 0; i < 5; i++) {
        const plaintext = Uint8Array.of(i)
        expect(new Uint8Array(await theirs.open(await sender.seal(plaintext)))).toEqual(plaintext)
      }
      const theirSender = await suite.createSenderContext({
        recipientPublicKey: recipient.pair.publicKey,
        info: new TextEncoder().encode('multi'),
      })
      const ours = await hpke.setupBaseR({
        recipientPrivateKey: recipient.privateKey,
        enc: new Uint8Array(theirSender.enc),
        info: 'multi',
        aead,
      })
      for (let i = 0; i < 5; i++) {
        const plaintext = Uint8Array.of(i, i)
        expect(await ours.open(new Uint8Array(await theirSender.seal(plaintext)))).toEqual(plaintext)
      }
    }
  })
})

describe('node and web HPKE interoperate with each other', () => {
  it.each([
    ['node → web', nodeHpke, webHpke],
    ['web → node', webHpke, nodeHpke],
  ] as const)('%s', async (_, from, to) => {
    await fc.assert(
      fc.asyncProperty(message, async ({ aead, plaintext, aad, info }) => {
        const recipient = await to.generateKeyPair()
        const sealed = await from.seal({
          recipientPublicKey: recipient.publicKey,
          info,
          aead,
          plaintext,
          aad,
        })
        expect(
          await to.open({ recipientPrivateKey: recipient.privateKey, info, aead, ...sealed, aad }),
        ).toEqual(plaintext)
        const raw = {
          aead,
          key: new Uint8Array(aead === 'aes-128-gcm' ? 16 : 32).fill(1),
          nonce: new Uint8Array(12),
          aad,
        }
        const ct = await from.aeadSeal({ ...raw, plaintext })
        expect(await to.aeadOpen({ ...raw, ciphertext: ct })).toEqual(plaintext)
      }),
      RUNS,
    )
  })
})
