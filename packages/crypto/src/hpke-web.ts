/**
 * HPKE (RFC 9180) for browsers: the same suite and {@link HpkeSuite} interface as `nodeHpke`, on
 * WebCrypto through `@hpke/core` (X25519, HKDF-SHA256, AES-128-GCM). WebCrypto has no ChaCha20-Poly1305,
 * so that AEAD comes from `@noble/ciphers` (audited, pure JS, loaded on first use) behind `@hpke/core`'s
 * AEAD interface.
 *
 * No Node-only imports: this module is what `@veil/crypto/web` ships to the SDK's browser bundle.
 * Needs WebCrypto X25519 (Chrome 133+, Firefox 130+, Safari 17+, Node 20+).
 */

import {
  type AeadEncryptionContext,
  AeadId,
  type AeadInterface,
  Aes128Gcm,
  CipherSuite,
  DhkemX25519HkdfSha256,
  ExportOnly,
  HkdfSha256,
  type RecipientContext,
  type SenderContext,
} from '@hpke/core'
import { EMPTY } from './bytes.js'
import {
  type AeadName,
  type AeadOpenParams,
  type AeadSealParams,
  checkAad,
  checkAead,
  checkBytes,
  checkCiphertext,
  checkExportLength,
  checkIkm,
  checkLabel,
  checkParams,
  checkSealingAead,
  HPKE_AEADS,
  type HpkeAead,
  HpkeInputError,
  type HpkeLabel,
  HpkeOpenError,
  type HpkeOpenParams,
  type HpkeRecipientContext,
  type HpkeRecipientParams,
  type HpkeSealed,
  type HpkeSealParams,
  type HpkeSenderContext,
  type HpkeSenderParams,
  type HpkeSuite,
  X25519_KEY_LENGTH,
  type X25519KeyPair,
} from './hpke.js'

/** A copy backed by its own ArrayBuffer (what WebCrypto's BufferSource accepts). */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(bytes.length)
  out.set(bytes)
  return out
}

function view(data: ArrayBufferLike | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data)
}

// Loaded on first use: the SDK seals with AES-128-GCM, so most bundles never fetch the ChaCha code.
let chachaModule: Promise<typeof import('@noble/ciphers/chacha.js')> | undefined
const loadChaCha = () => {
  chachaModule ??= import('@noble/ciphers/chacha.js')
  return chachaModule
}

/** ChaCha20-Poly1305 (RFC 8439) from `@noble/ciphers`, as an `@hpke/core` AEAD. */
class ChaCha20Poly1305Aead implements AeadInterface {
  readonly id = AeadId.Chacha20Poly1305
  readonly keySize = 32
  readonly nonceSize = 12
  readonly tagSize = 16

  createEncryptionContext(key: ArrayBufferLike | ArrayBufferView): AeadEncryptionContext {
    // Own copy: the caller (the key schedule) may reuse or wipe its buffer.
    const raw = Uint8Array.from(view(key))
    return {
      seal: async (iv, data, aad) => {
        const { chacha20poly1305 } = await loadChaCha()
        return chacha20poly1305(raw, view(iv), view(aad)).encrypt(view(data)).slice().buffer
      },
      open: async (iv, data, aad) => {
        const { chacha20poly1305 } = await loadChaCha()
        return chacha20poly1305(raw, view(iv), view(aad)).decrypt(view(data)).slice().buffer
      },
    }
  }
}

// Key import, generation and derivation; the CryptoKeys it makes work with every suite below.
const kem = new DhkemX25519HkdfSha256()
const AEAD_IMPLS: Readonly<Record<HpkeAead, AeadInterface>> = {
  'aes-128-gcm': new Aes128Gcm(),
  'chacha20-poly1305': new ChaCha20Poly1305Aead(),
  'export-only': new ExportOnly(),
}
// One KDF instance per suite: a CipherSuite binds its KDF to its own suite_id (which includes the AEAD id),
// so a shared instance would silently derive every suite's keys under the last suite's id.
const suite = (aead: HpkeAead) =>
  new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: AEAD_IMPLS[aead] })
const SUITES: Readonly<Record<HpkeAead, CipherSuite>> = {
  'aes-128-gcm': suite('aes-128-gcm'),
  'chacha20-poly1305': suite('chacha20-poly1305'),
  'export-only': suite('export-only'),
}

// Imported private keys by the caller's array, used only while the bytes still match (compared without
// an early exit). Importing costs a PKCS#8 round trip through WebCrypto, so a caller that keeps its key
// array pays it once.
const privateKeyCache = new WeakMap<Uint8Array, { bytes: Uint8Array; key: CryptoKey }>()

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0)
  return diff === 0
}

async function importPrivateKey(privateKey: Uint8Array): Promise<CryptoKey> {
  const cached = privateKeyCache.get(privateKey)
  if (cached !== undefined && sameBytes(cached.bytes, privateKey)) return cached.key
  const key = await kem.importKey('raw', own(privateKey).buffer, false)
  privateKeyCache.set(privateKey, { bytes: Uint8Array.from(privateKey), key })
  return key
}

async function keyPairBytes(pair: CryptoKeyPair): Promise<X25519KeyPair> {
  return {
    privateKey: new Uint8Array(await kem.serializePrivateKey(pair.privateKey)),
    publicKey: new Uint8Array(await kem.serializePublicKey(pair.publicKey)),
  }
}

class WebSenderContext implements HpkeSenderContext {
  readonly enc: Uint8Array
  readonly aead: HpkeAead
  readonly #context: SenderContext

  constructor(aead: HpkeAead, context: SenderContext) {
    this.aead = aead
    this.#context = context
    this.enc = new Uint8Array(context.enc)
  }

  async seal(plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array> {
    checkSealingAead('seal', this.aead)
    checkBytes('seal', 'plaintext', plaintext)
    const additional = checkAad('seal', aad) ?? EMPTY
    // @hpke/core advances the sequence number under a mutex, so concurrent seals never share a nonce.
    return new Uint8Array(await this.#context.seal(plaintext, additional))
  }

  async export(exporterContext: HpkeLabel, length: number): Promise<Uint8Array> {
    return exportFrom(this.#context, exporterContext, length)
  }
}

class WebRecipientContext implements HpkeRecipientContext {
  readonly aead: HpkeAead
  readonly #context: RecipientContext

  constructor(aead: HpkeAead, context: RecipientContext) {
    this.aead = aead
    this.#context = context
  }

  async open(ciphertext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array> {
    checkSealingAead('open', this.aead)
    checkCiphertext('open', ciphertext, HPKE_AEADS[this.aead].tagLength)
    const additional = checkAad('open', aad) ?? EMPTY
    try {
      return new Uint8Array(await this.#context.open(ciphertext, additional))
    } catch {
      // Never pass on @hpke/core's cause: the only thing a caller learns is that it did not open.
      throw new HpkeOpenError()
    }
  }

  async export(exporterContext: HpkeLabel, length: number): Promise<Uint8Array> {
    return exportFrom(this.#context, exporterContext, length)
  }
}

async function exportFrom(
  context: SenderContext | RecipientContext,
  exporterContext: HpkeLabel,
  length: number,
): Promise<Uint8Array> {
  const label = checkLabel('export', 'exporterContext', exporterContext)
  checkExportLength('export', length)
  return new Uint8Array(await context.export(label, length))
}

async function setupBaseS(params: HpkeSenderParams): Promise<WebSenderContext> {
  const fn = 'setupBaseS'
  checkParams(fn, params)
  const aead = checkAead(fn, params.aead)
  const pkR = checkBytes(fn, 'recipientPublicKey', params.recipientPublicKey, X25519_KEY_LENGTH)
  const info = checkLabel(fn, 'info', params.info)
  const ikmE = params.ikmE === undefined ? undefined : checkIkm(fn, 'ikmE', params.ikmE)
  let context: SenderContext
  try {
    const recipientPublicKey = await kem.importKey('raw', own(pkR).buffer, true)
    context = await SUITES[aead].createSenderContext({
      recipientPublicKey,
      info,
      ...(ikmE === undefined ? {} : { ekm: own(ikmE) }),
    })
  } catch (cause) {
    throw new HpkeInputError(fn, 'recipientPublicKey', `is not a usable X25519 public key (${String(cause)})`)
  }
  return new WebSenderContext(aead, context)
}

async function setupBaseR(params: HpkeRecipientParams): Promise<WebRecipientContext> {
  const fn = 'setupBaseR'
  checkParams(fn, params)
  const aead = checkAead(fn, params.aead)
  const skR = checkBytes(fn, 'recipientPrivateKey', params.recipientPrivateKey, X25519_KEY_LENGTH)
  const enc = checkBytes(fn, 'enc', params.enc, X25519_KEY_LENGTH)
  const info = checkLabel(fn, 'info', params.info)
  let recipientKey: CryptoKey
  try {
    recipientKey = await importPrivateKey(skR)
  } catch (cause) {
    throw new HpkeInputError(fn, 'recipientPrivateKey', `is not an X25519 private key (${String(cause)})`)
  }
  try {
    return new WebRecipientContext(
      aead,
      await SUITES[aead].createRecipientContext({ recipientKey, enc, info }),
    )
  } catch {
    throw new HpkeOpenError()
  }
}

async function aeadSeal(params: AeadSealParams): Promise<Uint8Array> {
  const fn = 'aeadSeal'
  checkParams(fn, params)
  const aead: AeadName = checkSealingAead(fn, params.aead)
  const spec = HPKE_AEADS[aead]
  const key = checkBytes(fn, 'key', params.key, spec.keyLength)
  const nonce = checkBytes(fn, 'nonce', params.nonce, spec.nonceLength)
  const plaintext = checkBytes(fn, 'plaintext', params.plaintext)
  const aad = checkAad(fn, params.aad) ?? EMPTY
  return new Uint8Array(await AEAD_IMPLS[aead].createEncryptionContext(key).seal(nonce, plaintext, aad))
}

async function aeadOpen(params: AeadOpenParams): Promise<Uint8Array> {
  const fn = 'aeadOpen'
  checkParams(fn, params)
  const aead: AeadName = checkSealingAead(fn, params.aead)
  const spec = HPKE_AEADS[aead]
  const key = checkBytes(fn, 'key', params.key, spec.keyLength)
  const nonce = checkBytes(fn, 'nonce', params.nonce, spec.nonceLength)
  const ciphertext = checkCiphertext(fn, params.ciphertext, spec.tagLength)
  const aad = checkAad(fn, params.aad) ?? EMPTY
  try {
    return new Uint8Array(await AEAD_IMPLS[aead].createEncryptionContext(key).open(nonce, ciphertext, aad))
  } catch {
    throw new HpkeOpenError()
  }
}

/**
 * {@link HpkeSuite} on WebCrypto (`@hpke/core`), for browsers. Same inputs, outputs and errors as
 * `nodeHpke`; every method is async.
 *
 * @example
 * import { webHpke, hpkeQueryInfo, HPKE_EXPORT_LABELS } from '@veil/crypto/web'
 * const sender = await webHpke.setupBaseS({ recipientPublicKey: workerKey, info, aead: 'aes-128-gcm' })
 * const ct = await sender.seal(body)
 * const answerKey = await sender.export(HPKE_EXPORT_LABELS.response, 16)
 */
export const webHpke: HpkeSuite = Object.freeze({
  runtime: 'web' as const,
  generateKeyPair: async () => keyPairBytes(await kem.generateKeyPair()),
  deriveKeyPair: async (ikm: Uint8Array) =>
    keyPairBytes(await kem.deriveKeyPair(own(checkIkm('deriveKeyPair', 'ikm', ikm)))),
  setupBaseS,
  setupBaseR,
  seal: async (params: HpkeSealParams): Promise<HpkeSealed> => {
    checkParams('hpkeSeal', params)
    checkSealingAead('hpkeSeal', params.aead)
    const context = await setupBaseS(params)
    return { enc: context.enc, ciphertext: await context.seal(params.plaintext, params.aad) }
  },
  open: async (params: HpkeOpenParams): Promise<Uint8Array> => {
    checkParams('hpkeOpen', params)
    checkSealingAead('hpkeOpen', params.aead)
    return (await setupBaseR(params)).open(params.ciphertext, params.aad)
  },
  aeadSeal,
  aeadOpen,
})
