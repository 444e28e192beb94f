/**
 * HPKE (RFC 9180) on `node:crypto`: base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM /
 * ChaCha20-Poly1305 / export-only. Synchronous, for the worker's hot path (opening a query and sealing
 * its answer); {@link nodeHpke} wraps it in the async {@link HpkeSuite} interface that `webHpke` shares.
 *
 * X25519 runs in OpenSSL (`diffieHellman`), HMAC-SHA256 in OpenSSL (`createHmac`), the AEADs through
 * `createCipheriv`. The key schedule (LabeledExtract / LabeledExpand, RFC 9180 §4) is composed here from
 * HMAC-SHA256 exactly as RFC 5869 and RFC 9180 define it; nothing else is hand-written.
 */

import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  timingSafeEqual,
} from 'node:crypto'
import { concat, EMPTY, u16be } from './bytes.js'
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
  HPKE_KDF_ID,
  HPKE_KEM_ID,
  type HpkeAead,
  type HpkeAeadSpec,
  HpkeInputError,
  type HpkeLabel,
  HpkeMessageLimitError,
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

/** A sender context whose methods return synchronously (node:crypto). */
export interface NodeHpkeSenderContext {
  readonly enc: Uint8Array
  readonly aead: HpkeAead
  /** Seals the next message with nonce `base_nonce XOR seq`; seq then advances. Returns ct ‖ tag. */
  seal(plaintext: Uint8Array, aad?: Uint8Array): Uint8Array
  /** RFC 9180 `Export(exporterContext, length)`. */
  export(exporterContext: HpkeLabel, length: number): Uint8Array
}

/** A recipient context whose methods return synchronously (node:crypto). */
export interface NodeHpkeRecipientContext {
  readonly aead: HpkeAead
  /** Opens the next message; throws {@link HpkeOpenError} and leaves seq unchanged if it does not authenticate. */
  open(ciphertext: Uint8Array, aad?: Uint8Array): Uint8Array
  export(exporterContext: HpkeLabel, length: number): Uint8Array
}

const ascii = (text: string) => new TextEncoder().encode(text)
const HPKE_V1 = ascii('HPKE-v1')
const HASH_LENGTH = 32
// LabeledExtract/LabeledExpand prefix of the KEM: "HPKE-v1" ‖ "KEM" ‖ I2OSP(kem_id, 2).
const KEM_PREFIX = concat(HPKE_V1, ascii('KEM'), u16be(HPKE_KEM_ID))
const LABEL = {
  eaePrk: ascii('eae_prk'),
  sharedSecret: ascii('shared_secret'),
  dkpPrk: ascii('dkp_prk'),
  sk: ascii('sk'),
  pskIdHash: ascii('psk_id_hash'),
  infoHash: ascii('info_hash'),
  secret: ascii('secret'),
  key: ascii('key'),
  baseNonce: ascii('base_nonce'),
  exp: ascii('exp'),
  sec: ascii('sec'),
} as const
const MODE_BASE = 0x00
// PKCS#8 / SPKI DER prefixes of an X25519 key (RFC 8410), followed by the 32 raw key bytes.
const PKCS8_X25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
])
const SPKI_X25519_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
])

/** @internal The per-AEAD constants of one ciphersuite. */
interface Suite {
  readonly aead: HpkeAead
  readonly spec: HpkeAeadSpec
  /** "HPKE-v1" ‖ "HPKE" ‖ I2OSP(kem_id, 2) ‖ I2OSP(kdf_id, 2) ‖ I2OSP(aead_id, 2). */
  readonly prefix: Uint8Array
  /** LabeledExtract("", "psk_id_hash", "") — the same for every base-mode context of the suite. */
  readonly pskIdHash: Uint8Array
}

const SUITES = new Map<HpkeAead, Suite>()
for (const aead of Object.keys(HPKE_AEADS) as HpkeAead[]) {
  const spec = HPKE_AEADS[aead]
  const prefix = concat(HPKE_V1, ascii('HPKE'), u16be(HPKE_KEM_ID), u16be(HPKE_KDF_ID), u16be(spec.id))
  SUITES.set(aead, { aead, spec, prefix, pskIdHash: labeledExtract(prefix, EMPTY, LABEL.pskIdHash, EMPTY) })
}

/** @internal */
export function suiteOf(aead: HpkeAead): Suite {
  const suite = SUITES.get(aead)
  if (suite === undefined) throw new Error(`unreachable: no suite for ${aead}`)
  return suite
}

// ── HKDF-SHA256 with RFC 9180 labels ───────────────────────────────────────────────────────────────

/** LabeledExtract(salt, label, ikm) = HMAC(salt, prefix ‖ label ‖ ikm) (an empty salt is HashLen zeros). */
function labeledExtract(
  prefix: Uint8Array,
  salt: Uint8Array,
  label: Uint8Array,
  ikm: Uint8Array,
): Uint8Array {
  const mac = createHmac('sha256', salt)
  mac.update(prefix)
  mac.update(label)
  mac.update(ikm)
  return mac.digest()
}

/** LabeledExpand(prk, label, info, L) = HKDF-Expand(prk, I2OSP(L, 2) ‖ prefix ‖ label ‖ info, L). */
function labeledExpand(
  prefix: Uint8Array,
  prk: Uint8Array,
  label: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  const out = new Uint8Array(length)
  const lengthBytes = u16be(length)
  let previous: Uint8Array = EMPTY
  // RFC 5869 §2.3: T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i), for i = 1..ceil(L / HashLen).
  for (let i = 1, offset = 0; offset < length; i++, offset += HASH_LENGTH) {
    const mac = createHmac('sha256', prk)
    mac.update(previous)
    mac.update(lengthBytes)
    mac.update(prefix)
    mac.update(label)
    mac.update(info)
    mac.update(Uint8Array.of(i))
    previous = mac.digest()
    out.set(previous.subarray(0, Math.min(HASH_LENGTH, length - offset)), offset)
  }
  return out
}

// ── DHKEM(X25519, HKDF-SHA256) ─────────────────────────────────────────────────────────────────────

// Imported private keys, by the caller's array (weakly: an entry lives as long as that array). A hit is
// used only if the bytes still match a private copy (the caller may have overwritten the array), compared
// in constant time. Importing PKCS#8 costs OpenSSL 3 ~0.1–0.5 ms,
// more than the rest of an open, so a worker that passes the same key array every time pays it once.
interface ImportedPrivateKey {
  readonly bytes: Buffer
  readonly key: KeyObject
  readonly publicKey: Uint8Array
}
const privateKeyCache = new WeakMap<Uint8Array, ImportedPrivateKey>()

function importPrivateKey(privateKey: Uint8Array): ImportedPrivateKey {
  const cached = privateKeyCache.get(privateKey)
  if (cached !== undefined && timingSafeEqual(cached.bytes, privateKey)) return cached
  const der = Buffer.concat([PKCS8_X25519_PREFIX, privateKey])
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  der.fill(0)
  const imported = { bytes: Buffer.from(privateKey), key, publicKey: exportPublicKey(createPublicKey(key)) }
  privateKeyCache.set(privateKey, imported)
  return imported
}

function importPublicKey(publicKey: Uint8Array): KeyObject {
  // JWK is the cheapest documented raw import (PKCS#8/SPKI go through OpenSSL 3's slow decoders).
  const x = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64url')
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' })
}

function exportPublicKey(key: KeyObject): Uint8Array {
  const { x } = key.export({ format: 'jwk' })
  if (typeof x !== 'string') throw new Error('unreachable: X25519 JWK without x')
  return new Uint8Array(Buffer.from(x, 'base64url'))
}

/** The 32 raw key bytes of an X25519 PKCS#8 or SPKI DER encoding. */
function rawFromDer(der: Uint8Array, prefix: Uint8Array): Uint8Array {
  const raw = der.subarray(prefix.length)
  if (der.length !== prefix.length + X25519_KEY_LENGTH || !prefix.every((byte, i) => der[i] === byte)) {
    throw new Error('unreachable: unexpected X25519 DER encoding')
  }
  return new Uint8Array(raw)
}

/**
 * A fresh ephemeral key: the private key as an OpenSSL key, the public key raw, encoded by the key
 * generation itself. Never export a just-generated key object instead: on Node 20, a garbage collection
 * during the export (say, as JWK) can collect the finished generation job, whose destructor then waits
 * forever for the key's mutex, which the export holds (the process hangs in a futex).
 */
function generateEphemeralKey(): { privateKey: KeyObject; publicKey: Uint8Array } {
  // @types/node lists encodings for both halves or for none; Node also takes one (the other stays a key object).
  const generate = generateKeyPairSync as unknown as (
    type: 'x25519',
    options: { publicKeyEncoding: { type: 'spki'; format: 'der' } },
  ) => { privateKey: KeyObject; publicKey: Buffer }
  const pair = generate('x25519', { publicKeyEncoding: { type: 'spki', format: 'der' } })
  return { privateKey: pair.privateKey, publicKey: rawFromDer(pair.publicKey, SPKI_X25519_PREFIX) }
}

/** DH(sk, pk) with the RFC 9180 §7.1.4 check: an all-zero result (a low-order `pk`) is an error. */
function dh(privateKey: KeyObject, publicKey: KeyObject): Uint8Array {
  const shared = diffieHellman({ privateKey, publicKey })
  let acc = 0
  for (const byte of shared) acc |= byte // constant-time: no early exit on a secret
  if (acc === 0) throw new Error('X25519 produced the all-zero shared secret')
  return shared
}

/** RFC 9180 §4.1 ExtractAndExpand(dh, enc ‖ pkR). */
function extractAndExpand(dhSecret: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const eaePrk = labeledExtract(KEM_PREFIX, EMPTY, LABEL.eaePrk, dhSecret)
  return labeledExpand(KEM_PREFIX, eaePrk, LABEL.sharedSecret, kemContext, HASH_LENGTH)
}

/** @internal RFC 9180 §7.1.3 DeriveKeyPair(ikm) → the raw private key. */
export function deriveX25519PrivateKey(ikm: Uint8Array): Uint8Array {
  const dkpPrk = labeledExtract(KEM_PREFIX, EMPTY, LABEL.dkpPrk, ikm)
  return labeledExpand(KEM_PREFIX, dkpPrk, LABEL.sk, EMPTY, X25519_KEY_LENGTH)
}

/** @internal Encap(pkR), or DeriveKeyPair(ikmE)-based encap for test vectors. */
export function encap(
  recipientPublicKey: Uint8Array,
  ikmE?: Uint8Array,
): { sharedSecret: Uint8Array; enc: Uint8Array } {
  let ephemeral: KeyObject
  let enc: Uint8Array
  if (ikmE === undefined) {
    const pair = generateEphemeralKey()
    ephemeral = pair.privateKey
    enc = pair.publicKey
  } else {
    // Not through the cache: the derived key is a fresh array and is used once.
    const secretKey = deriveX25519PrivateKey(ikmE)
    const der = Buffer.concat([PKCS8_X25519_PREFIX, secretKey])
    ephemeral = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    der.fill(0)
    secretKey.fill(0)
    enc = exportPublicKey(createPublicKey(ephemeral))
  }
  const shared = dh(ephemeral, importPublicKey(recipientPublicKey))
  const sharedSecret = extractAndExpand(shared, concat(enc, recipientPublicKey))
  shared.fill(0)
  return { sharedSecret, enc }
}

/** @internal Decap(enc, skR); throws on a low-order `enc`. */
export function decap(enc: Uint8Array, recipientPrivateKey: Uint8Array): Uint8Array {
  const { key, publicKey } = importPrivateKey(recipientPrivateKey)
  const shared = dh(key, importPublicKey(enc))
  const sharedSecret = extractAndExpand(shared, concat(enc, publicKey))
  shared.fill(0)
  return sharedSecret
}

// ── Key schedule and contexts ──────────────────────────────────────────────────────────────────────

// key_schedule_context = mode ‖ psk_id_hash ‖ info_hash depends only on the suite and the info, which a
// worker passes as the same array for every query to a contract: computed once per (array, suite). A hit
// is used only while the array still holds the bytes it was computed from.
const contextCache = new WeakMap<Uint8Array, { bytes: Buffer; bySuite: Map<HpkeAead, Uint8Array> }>()

function scheduleContext(suite: Suite, info: Uint8Array): Uint8Array {
  let entry = contextCache.get(info)
  if (entry !== undefined && !entry.bytes.equals(info)) entry = undefined
  if (entry === undefined) {
    entry = { bytes: Buffer.from(info), bySuite: new Map() }
    contextCache.set(info, entry)
  }
  let context = entry.bySuite.get(suite.aead)
  if (context === undefined) {
    const infoHash = labeledExtract(suite.prefix, EMPTY, LABEL.infoHash, info)
    context = concat(Uint8Array.of(MODE_BASE), suite.pskIdHash, infoHash)
    entry.bySuite.set(suite.aead, context)
  }
  return context
}

/** @internal RFC 9180 §5.1 KeySchedule, base mode (psk = psk_id = ""). */
export function keySchedule(
  suite: Suite,
  sharedSecret: Uint8Array,
  info: Uint8Array,
): { key: Uint8Array; baseNonce: Uint8Array; exporterSecret: Uint8Array } {
  const { prefix, spec } = suite
  const context = scheduleContext(suite, info)
  const secret = labeledExtract(prefix, sharedSecret, LABEL.secret, EMPTY)
  const schedule = {
    key: spec.keyLength === 0 ? EMPTY : labeledExpand(prefix, secret, LABEL.key, context, spec.keyLength),
    baseNonce:
      spec.nonceLength === 0
        ? EMPTY
        : labeledExpand(prefix, secret, LABEL.baseNonce, context, spec.nonceLength),
    exporterSecret: labeledExpand(prefix, secret, LABEL.exp, context, HASH_LENGTH),
  }
  secret.fill(0)
  return schedule
}

// The largest sequence number this implementation counts to; far below RFC 9180's 2^96 - 1 limit.
const MAX_SEQ = Number.MAX_SAFE_INTEGER

/** nonce = base_nonce XOR I2OSP(seq, Nn). */
function computeNonce(baseNonce: Uint8Array, seq: number): Uint8Array {
  const nonce = Uint8Array.from(baseNonce)
  let rest = seq
  for (let i = nonce.length - 1; rest > 0 && i >= 0; i--) {
    nonce[i] = (nonce[i] ?? 0) ^ (rest % 256)
    rest = Math.floor(rest / 256)
  }
  return nonce
}

/**
 * Key material lives in #private fields: never enumerable, never printed by `util.inspect`, out of reach
 * of subclasses. The sequence number is only advanced here.
 */
abstract class NodeContext {
  readonly aead: HpkeAead
  readonly #suite: Suite
  readonly #key: Uint8Array
  readonly #baseNonce: Uint8Array
  readonly #exporterSecret: Uint8Array
  #seq = 0

  constructor(suite: Suite, schedule: ReturnType<typeof keySchedule>) {
    this.#suite = suite
    this.aead = suite.aead
    this.#key = schedule.key
    this.#baseNonce = schedule.baseNonce
    this.#exporterSecret = schedule.exporterSecret
  }

  export(exporterContext: HpkeLabel, length: number): Uint8Array {
    const context = checkLabel('export', 'exporterContext', exporterContext)
    checkExportLength('export', length)
    return labeledExpand(this.#suite.prefix, this.#exporterSecret, LABEL.sec, context, length)
  }

  protected sealNext(plaintext: Uint8Array, aad: Uint8Array | undefined): Uint8Array {
    checkBytes('seal', 'plaintext', plaintext)
    const additional = checkAad('seal', aad) ?? EMPTY
    const nonce = this.#nonce('seal')
    // Nonce uniqueness: the sequence number advances before encrypting, so even a seal that throws
    // midway can never lead to a second message under the same nonce.
    this.#seq++
    return aeadEncrypt(this.aead as AeadName, this.#key, nonce, additional, plaintext)
  }

  protected openNext(ciphertext: Uint8Array, aad: Uint8Array | undefined): Uint8Array {
    checkCiphertext('open', ciphertext, this.#suite.spec.tagLength)
    const additional = checkAad('open', aad) ?? EMPTY
    const nonce = this.#nonce('open')
    const plaintext = aeadDecrypt(this.aead as AeadName, this.#key, nonce, additional, ciphertext)
    // RFC 9180 §5.2: only a successful open advances the sequence number.
    this.#seq++
    return plaintext
  }

  #nonce(fn: string): Uint8Array {
    if (this.aead === 'export-only') {
      throw new HpkeInputError(fn, 'aead', 'an export-only context cannot seal or open; use export()')
    }
    if (this.#seq >= MAX_SEQ) throw new HpkeMessageLimitError()
    return computeNonce(this.#baseNonce, this.#seq)
  }
}

class NodeSenderContext extends NodeContext implements NodeHpkeSenderContext {
  readonly enc: Uint8Array

  constructor(suite: Suite, schedule: ReturnType<typeof keySchedule>, enc: Uint8Array) {
    super(suite, schedule)
    this.enc = enc
  }

  seal(plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
    return this.sealNext(plaintext, aad)
  }
}

class NodeRecipientContext extends NodeContext implements NodeHpkeRecipientContext {
  open(ciphertext: Uint8Array, aad?: Uint8Array): Uint8Array {
    return this.openNext(ciphertext, aad)
  }
}

// ── AEAD on node:crypto ────────────────────────────────────────────────────────────────────────────

const TAG_LENGTH = 16

function aeadEncrypt(
  aead: AeadName,
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  const cipher =
    aead === 'aes-128-gcm'
      ? createCipheriv('aes-128-gcm', key, nonce, { authTagLength: TAG_LENGTH })
      : createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH })
  cipher.setAAD(aad, { plaintextLength: plaintext.length })
  const body = cipher.update(plaintext)
  const tail = cipher.final()
  const out = new Uint8Array(body.length + tail.length + TAG_LENGTH)
  out.set(body, 0)
  out.set(tail, body.length)
  out.set(cipher.getAuthTag(), body.length + tail.length)
  return out
}

function aeadDecrypt(
  aead: AeadName,
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  const bodyLength = ciphertext.length - TAG_LENGTH
  const decipher =
    aead === 'aes-128-gcm'
      ? createDecipheriv('aes-128-gcm', key, nonce, { authTagLength: TAG_LENGTH })
      : createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LENGTH })
  decipher.setAuthTag(ciphertext.subarray(bodyLength))
  decipher.setAAD(aad, { plaintextLength: bodyLength })
  const body = decipher.update(ciphertext.subarray(0, bodyLength))
  try {
    const tail = decipher.final()
    const out = new Uint8Array(body.length + tail.length)
    out.set(body, 0)
    out.set(tail, body.length)
    return out
  } catch {
    throw new HpkeOpenError()
  } finally {
    // update() produced plaintext before the tag was checked; the buffer is ours, so wipe it either way
    // (on success the caller gets a copy), and a failed open can never leak unauthenticated bytes.
    body.fill(0)
  }
}

// ── Public API ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Sets up a base-mode sender context to `recipientPublicKey` (RFC 9180 `SetupBaseS`). Synchronous.
 *
 * @example
 * const sender = setupBaseS({ recipientPublicKey: workerKey, info: hpkeQueryInfo(ids), aead: 'aes-128-gcm' })
 * const ct = sender.seal(body) // send { enc: sender.enc, ct }
 * const answerKey = sender.export(HPKE_EXPORT_LABELS.response, 16)
 */
export function setupBaseS(params: HpkeSenderParams): NodeHpkeSenderContext {
  const fn = 'setupBaseS'
  checkParams(fn, params)
  const suite = suiteOf(checkAead(fn, params.aead))
  const pkR = checkBytes(fn, 'recipientPublicKey', params.recipientPublicKey, X25519_KEY_LENGTH)
  const info = checkLabel(fn, 'info', params.info)
  const ikmE = params.ikmE === undefined ? undefined : checkIkm(fn, 'ikmE', params.ikmE)
  let encapsulated: ReturnType<typeof encap>
  try {
    encapsulated = encap(pkR, ikmE)
  } catch (cause) {
    // A public key whose DH is all zeros (low order) is the only way encap fails on valid lengths.
    throw new HpkeInputError(fn, 'recipientPublicKey', `is not a usable X25519 public key (${String(cause)})`)
  }
  const schedule = keySchedule(suite, encapsulated.sharedSecret, info)
  encapsulated.sharedSecret.fill(0)
  return new NodeSenderContext(suite, schedule, encapsulated.enc)
}

/**
 * Sets up a base-mode recipient context (RFC 9180 `SetupBaseR`). Synchronous. Throws
 * {@link HpkeOpenError} if `enc` cannot be decapsulated. Pass the same `recipientPrivateKey` array every
 * time: its imported OpenSSL key is cached per array.
 *
 * @example
 * const recipient = setupBaseR({ recipientPrivateKey: workerKey, enc, info, aead: 'aes-128-gcm' })
 * const body = recipient.open(ct)
 */
export function setupBaseR(params: HpkeRecipientParams): NodeHpkeRecipientContext {
  const fn = 'setupBaseR'
  checkParams(fn, params)
  const suite = suiteOf(checkAead(fn, params.aead))
  const skR = checkBytes(fn, 'recipientPrivateKey', params.recipientPrivateKey, X25519_KEY_LENGTH)
  const enc = checkBytes(fn, 'enc', params.enc, X25519_KEY_LENGTH)
  const info = checkLabel(fn, 'info', params.info)
  let sharedSecret: Uint8Array
  try {
    sharedSecret = decap(enc, skR)
  } catch {
    throw new HpkeOpenError()
  }
  const schedule = keySchedule(suite, sharedSecret, info)
  sharedSecret.fill(0)
  return new NodeRecipientContext(suite, schedule)
}

/**
 * Single-shot seal: a fresh context and one message (RFC 9180 §6.1 `SealBase`).
 *
 * @example
 * const { enc, ciphertext } = hpkeSeal({ recipientPublicKey, info: 'veil/v1/…', aead: 'aes-128-gcm', plaintext })
 */
export function hpkeSeal(params: HpkeSealParams): HpkeSealed {
  checkParams('hpkeSeal', params)
  checkSealingAead('hpkeSeal', params.aead)
  const context = setupBaseS(params)
  return { enc: context.enc, ciphertext: context.seal(params.plaintext, params.aad) }
}

/**
 * Single-shot open (RFC 9180 §6.1 `OpenBase`); throws {@link HpkeOpenError} on any authentication failure.
 *
 * @example
 * const plaintext = hpkeOpen({ recipientPrivateKey, enc, info, aead: 'aes-128-gcm', ciphertext })
 */
export function hpkeOpen(params: HpkeOpenParams): Uint8Array {
  checkParams('hpkeOpen', params)
  checkSealingAead('hpkeOpen', params.aead)
  return setupBaseR(params).open(params.ciphertext, params.aad)
}

/**
 * AEAD seal under a raw key (e.g. an exported answer key). Returns ciphertext ‖ tag.
 * Security invariant: never seal two messages under the same (key, nonce).
 *
 * @example
 * const key = recipient.export(HPKE_EXPORT_LABELS.response, 16)
 * const ct = aeadSeal({ aead: 'aes-128-gcm', key, nonce: new Uint8Array(12), plaintext, aad: requestDigest })
 */
export function aeadSeal(params: AeadSealParams): Uint8Array {
  const fn = 'aeadSeal'
  checkParams(fn, params)
  const spec = HPKE_AEADS[checkSealingAead(fn, params.aead)]
  const key = checkBytes(fn, 'key', params.key, spec.keyLength)
  const nonce = checkBytes(fn, 'nonce', params.nonce, spec.nonceLength)
  const plaintext = checkBytes(fn, 'plaintext', params.plaintext)
  return aeadEncrypt(params.aead, key, nonce, checkAad(fn, params.aad) ?? EMPTY, plaintext)
}

/** AEAD open under a raw key; throws {@link HpkeOpenError} if it does not authenticate. */
export function aeadOpen(params: AeadOpenParams): Uint8Array {
  const fn = 'aeadOpen'
  checkParams(fn, params)
  const spec = HPKE_AEADS[checkSealingAead(fn, params.aead)]
  const key = checkBytes(fn, 'key', params.key, spec.keyLength)
  const nonce = checkBytes(fn, 'nonce', params.nonce, spec.nonceLength)
  const ciphertext = checkCiphertext(fn, params.ciphertext, spec.tagLength)
  return aeadDecrypt(params.aead, key, nonce, checkAad(fn, params.aad) ?? EMPTY, ciphertext)
}

/** A fresh random X25519 key pair (OpenSSL). */
export function generateX25519KeyPair(): X25519KeyPair {
  // Both halves encoded by the generation itself (see generateEphemeralKey for why not export after).
  const pair = generateKeyPairSync('x25519', {
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  })
  const privateKey = rawFromDer(pair.privateKey, PKCS8_X25519_PREFIX)
  pair.privateKey.fill(0)
  return { privateKey, publicKey: rawFromDer(pair.publicKey, SPKI_X25519_PREFIX) }
}

/** RFC 9180 `DeriveKeyPair(ikm)` for DHKEM(X25519, HKDF-SHA256); `ikm` is 32–8192 bytes. */
export function deriveX25519KeyPair(ikm: Uint8Array): X25519KeyPair {
  const privateKey = deriveX25519PrivateKey(checkIkm('deriveX25519KeyPair', 'ikm', ikm))
  return { privateKey, publicKey: x25519PublicKey(privateKey) }
}

/**
 * The X25519 public key of a raw private key (e.g. a worker's or a contract's derived key).
 *
 * @example
 * const publicKey = x25519PublicKey(deriveContractEncryptionSeed(contractSecret))
 */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  checkBytes('x25519PublicKey', 'privateKey', privateKey, X25519_KEY_LENGTH)
  return Uint8Array.from(importPrivateKey(privateKey).publicKey)
}

/**
 * {@link HpkeSuite} on node:crypto: the synchronous functions above behind the async interface that
 * `webHpke` also implements, for code that runs in both places.
 */
export const nodeHpke: HpkeSuite = Object.freeze({
  runtime: 'node' as const,
  generateKeyPair: async () => generateX25519KeyPair(),
  deriveKeyPair: async (ikm: Uint8Array) => deriveX25519KeyPair(ikm),
  setupBaseS: async (params: HpkeSenderParams): Promise<HpkeSenderContext> => {
    const context = setupBaseS(params)
    return {
      enc: context.enc,
      aead: context.aead,
      seal: async (plaintext, aad) => context.seal(plaintext, aad),
      export: async (exporterContext, length) => context.export(exporterContext, length),
    }
  },
  setupBaseR: async (params: HpkeRecipientParams): Promise<HpkeRecipientContext> => {
    const context = setupBaseR(params)
    return {
      aead: context.aead,
      open: async (ciphertext, aad) => context.open(ciphertext, aad),
      export: async (exporterContext, length) => context.export(exporterContext, length),
    }
  },
  seal: async (params: HpkeSealParams) => hpkeSeal(params),
  open: async (params: HpkeOpenParams) => hpkeOpen(params),
  aeadSeal: async (params: AeadSealParams) => aeadSeal(params),
  aeadOpen: async (params: AeadOpenParams) => aeadOpen(params),
})
