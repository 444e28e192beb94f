/**
 * HPKE (RFC 9180) as Veil uses it: base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, and AES-128-GCM,
 * ChaCha20-Poly1305 or export-only. This module holds what both implementations share: the suite table,
 * the {@link HpkeSuite} interface, Veil's `info` and export labels (docs/protocol.md), errors and input
 * checks. It is browser-safe.
 *
 * Two implementations satisfy {@link HpkeSuite}:
 * - `nodeHpke` / the synchronous `setupBaseS`, `setupBaseR`, `hpkeSeal`, `hpkeOpen` (`hpke-node.ts`, on
 *   `node:crypto`): the worker's hot path.
 * - `webHpke` (`hpke-web.ts`, on WebCrypto through `@hpke/core`): browsers, via `@veil/crypto/web`.
 *
 * Security invariants every implementation keeps:
 * - A context's AEAD nonce is `base_nonce XOR seq`; `seq` advances after every seal, so a sender context
 *   never reuses a nonce. A recipient advances only after a successful open (RFC 9180 §5.2).
 * - The ephemeral key is fresh per context; `ikmE` exists for test vectors only.
 * - An open failure says "cannot open" and nothing else: no cause, no hint which input was wrong, and
 *   no partially decrypted bytes.
 */

import type { Address } from '@veil/protocol'
import { isAddress, VeilError } from '@veil/protocol'
import { hasLoneSurrogate, labelBytes } from './bytes.js'

/** The AEADs Veil accepts, named as in the query JSON (`"aead": "aes-128-gcm"`). */
export type HpkeAead = 'aes-128-gcm' | 'chacha20-poly1305' | 'export-only'

/** An AEAD that can seal and open (every {@link HpkeAead} but `export-only`). */
export type AeadName = Exclude<HpkeAead, 'export-only'>

/** RFC 9180 parameters of one AEAD: its id, key length (Nk), nonce length (Nn) and tag length (Nt). */
export interface HpkeAeadSpec {
  readonly id: number
  readonly keyLength: number
  readonly nonceLength: number
  readonly tagLength: number
}

/**
 * The AEAD table (RFC 9180 §7.3). The low byte of `id` is the AEAD byte of a sealed command payload
 * (`0x01` AES-128-GCM, `0x03` ChaCha20-Poly1305).
 */
export const HPKE_AEADS: Readonly<Record<HpkeAead, HpkeAeadSpec>> = Object.freeze({
  'aes-128-gcm': Object.freeze({ id: 0x0001, keyLength: 16, nonceLength: 12, tagLength: 16 }),
  'chacha20-poly1305': Object.freeze({ id: 0x0003, keyLength: 32, nonceLength: 12, tagLength: 16 }),
  'export-only': Object.freeze({ id: 0xffff, keyLength: 0, nonceLength: 0, tagLength: 0 }),
})

/** KEM id of DHKEM(X25519, HKDF-SHA256) (RFC 9180 §7.1). */
export const HPKE_KEM_ID = 0x0020
/** KDF id of HKDF-SHA256 (RFC 9180 §7.2). */
export const HPKE_KDF_ID = 0x0001
/** Length of X25519 private keys, public keys and `enc` (Nsk = Npk = Nenc = 32). */
export const X25519_KEY_LENGTH = 32
/** Largest `info`, exporter context or `ikm` accepted, in bytes (RFC 9180 §7.2.1 asks for at least 64). */
export const HPKE_MAX_LABEL_LENGTH = 8192
/** Largest export: 255 · Nh bytes for HKDF-SHA256 (RFC 9180 §5.3). */
export const HPKE_MAX_EXPORT_LENGTH = 255 * 32

/** Export labels of docs/protocol.md (`Export(label, Nk)` of a request's HPKE context). */
export const HPKE_EXPORT_LABELS = Object.freeze({
  /** Key of a sealed command's receipt: `Export("veil/v1/receipt", 16)`. */
  receipt: 'veil/v1/receipt',
  /** Key of a query's answer: `Export("veil/v1/response", Nk)`. */
  response: 'veil/v1/response',
} as const)

/** The AEAD whose RFC 9180 id (or sealed-payload byte) is `id`, or undefined. */
export function hpkeAeadFromId(id: number): HpkeAead | undefined {
  for (const name of Object.keys(HPKE_AEADS) as HpkeAead[]) {
    if (HPKE_AEADS[name].id === id) return name
  }
  return undefined
}

/** An X25519 key pair, raw 32-byte keys. */
export interface X25519KeyPair {
  privateKey: Uint8Array
  publicKey: Uint8Array
}

/** Bytes, or a string used as its UTF-8 bytes (labels such as `info` and exporter contexts). */
export type HpkeLabel = Uint8Array | string

/** What a sender needs to set up a base-mode context. */
export interface HpkeSenderParams {
  /** The recipient's raw 32-byte X25519 public key. */
  recipientPublicKey: Uint8Array
  /** Application info bound into the key schedule, e.g. {@link hpkeQueryInfo}. Required: pass `''` for none. */
  info: HpkeLabel
  aead: HpkeAead
  /**
   * TEST VECTORS ONLY: input keying material for the ephemeral key (RFC 9180 `DeriveKeyPair(ikmE)`).
   * Reusing it reuses the ephemeral key, and with it every key and nonce of the context.
   */
  ikmE?: Uint8Array
}

/** What a recipient needs to set up a base-mode context. */
export interface HpkeRecipientParams {
  /** The recipient's raw 32-byte X25519 private key. */
  recipientPrivateKey: Uint8Array
  /** The sender's 32-byte encapsulated key. */
  enc: Uint8Array
  info: HpkeLabel
  aead: HpkeAead
}

/** Single-shot seal: a fresh context, one message. */
export interface HpkeSealParams extends HpkeSenderParams {
  plaintext: Uint8Array
  aad?: Uint8Array
}

/** Single-shot open of the first message of a context. */
export interface HpkeOpenParams extends HpkeRecipientParams {
  ciphertext: Uint8Array
  aad?: Uint8Array
}

/** Result of a single-shot seal. */
export interface HpkeSealed {
  enc: Uint8Array
  ciphertext: Uint8Array
}

/**
 * A raw AEAD operation under a key exported from an HPKE context (Veil's answers and receipts).
 * Security invariant: a (key, nonce) pair seals at most one message. Veil's answer and receipt keys are
 * each used once, which is why they may use the all-zero nonce.
 */
export interface AeadParams {
  aead: AeadName
  key: Uint8Array
  /** 12 bytes. */
  nonce: Uint8Array
  aad?: Uint8Array
}

export interface AeadSealParams extends AeadParams {
  plaintext: Uint8Array
}

export interface AeadOpenParams extends AeadParams {
  ciphertext: Uint8Array
}

/** A sender's HPKE context (async form; the Node implementation also has a synchronous one). */
export interface HpkeSenderContext {
  /** The encapsulated key to send with the ciphertexts. */
  readonly enc: Uint8Array
  readonly aead: HpkeAead
  /** Seals the next message (nonce = base_nonce XOR seq; seq then advances). */
  seal(plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>
  /** RFC 9180 `Export(exporter_context, L)`. */
  export(exporterContext: HpkeLabel, length: number): Promise<Uint8Array>
}

/** A recipient's HPKE context (async form). */
export interface HpkeRecipientContext {
  readonly aead: HpkeAead
  /** Opens the next message; throws {@link HpkeOpenError} (seq unchanged) if it does not authenticate. */
  open(ciphertext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>
  export(exporterContext: HpkeLabel, length: number): Promise<Uint8Array>
}

/**
 * The HPKE suite both implementations satisfy: `nodeHpke` (node:crypto) and `webHpke` (WebCrypto).
 *
 * @example
 * async function sealQuery(hpke: HpkeSuite, workerKey: Uint8Array, info: string, body: Uint8Array) {
 *   const sender = await hpke.setupBaseS({ recipientPublicKey: workerKey, info, aead: 'aes-128-gcm' })
 *   const ct = await sender.seal(body)
 *   const answerKey = await sender.export(HPKE_EXPORT_LABELS.response, 16)
 *   return { enc: sender.enc, ct, answerKey }
 * }
 */
export interface HpkeSuite {
  /** Which implementation this is. */
  readonly runtime: 'node' | 'web'
  /** A fresh random X25519 key pair. */
  generateKeyPair(): Promise<X25519KeyPair>
  /** RFC 9180 `DeriveKeyPair(ikm)` for DHKEM(X25519, HKDF-SHA256); `ikm` is 32–8192 bytes. */
  deriveKeyPair(ikm: Uint8Array): Promise<X25519KeyPair>
  setupBaseS(params: HpkeSenderParams): Promise<HpkeSenderContext>
  /** Throws {@link HpkeOpenError} if `enc` cannot be decapsulated (e.g. a low-order point). */
  setupBaseR(params: HpkeRecipientParams): Promise<HpkeRecipientContext>
  seal(params: HpkeSealParams): Promise<HpkeSealed>
  open(params: HpkeOpenParams): Promise<Uint8Array>
  /** Plain AEAD seal; returns ciphertext ‖ tag. */
  aeadSeal(params: AeadSealParams): Promise<Uint8Array>
  /** Plain AEAD open; throws {@link HpkeOpenError}. */
  aeadOpen(params: AeadOpenParams): Promise<Uint8Array>
}

/** Bad input to an HPKE function; `argument` names the parameter that was wrong. */
export class HpkeInputError extends VeilError {
  override name = 'HpkeInputError'
  /** The rejected parameter, e.g. `recipientPublicKey` or `aead`. */
  readonly argument: string

  constructor(fn: string, argument: string, details: string) {
    super(`${fn}: invalid ${argument}`, { code: 'HPKE_INVALID_INPUT', details })
    this.argument = argument
  }
}

/**
 * A ciphertext (or `enc`) did not open. Deliberately says nothing else: which input was wrong is exactly
 * what an attacker probing a worker would like to learn.
 */
export class HpkeOpenError extends VeilError {
  override name = 'HpkeOpenError'

  constructor() {
    super('cannot open', { code: 'HPKE_OPEN_FAILED' })
  }
}

/** A context sealed or opened so many messages that its sequence number would repeat a nonce. */
export class HpkeMessageLimitError extends VeilError {
  override name = 'HpkeMessageLimitError'

  constructor() {
    super('HPKE context message limit reached', {
      code: 'HPKE_MESSAGE_LIMIT',
      hint: 'Set up a new context; a nonce must never repeat under one key.',
    })
  }
}

// ── Veil labels (docs/protocol.md) ──────────────────────────────────────────────────────────────────

/** A uint64-like id or chain id: a non-negative integer as bigint, safe-integer number or decimal string. */
export type DecimalId = bigint | number | string

/**
 * `info` of a query sealed to a worker:
 * `veil/v1/query/<chainId>/<registry, lowercase>/<worker, lowercase>/<contractId>`.
 *
 * @example
 * hpkeQueryInfo({ chainId: 31337, registry: '0x5FbD…0aa3', worker: '0x7099…79C8', contractId: 1n })
 */
export function hpkeQueryInfo(params: {
  chainId: DecimalId
  registry: Address
  worker: Address
  contractId: DecimalId
}): string {
  const fn = 'hpkeQueryInfo'
  const chainId = decimal(fn, 'chainId', params.chainId)
  const registry = address(fn, 'registry', params.registry)
  const worker = address(fn, 'worker', params.worker)
  return `veil/v1/query/${chainId}/${registry}/${worker}/${decimal(fn, 'contractId', params.contractId)}`
}

/**
 * `info` of a sealed command or init payload:
 * `veil/v1/command/<chainId>/<Contracts address, lowercase>/<contractId>`.
 */
export function hpkeCommandInfo(params: {
  chainId: DecimalId
  contracts: Address
  contractId: DecimalId
}): string {
  const fn = 'hpkeCommandInfo'
  const chainId = decimal(fn, 'chainId', params.chainId)
  const contracts = address(fn, 'contracts', params.contracts)
  return `veil/v1/command/${chainId}/${contracts}/${decimal(fn, 'contractId', params.contractId)}`
}

function decimal(fn: string, argument: string, value: unknown): string {
  if (typeof value === 'bigint' && value >= 0n) return value.toString()
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value)
  if (typeof value === 'string' && /^(?:0|[1-9][0-9]*)$/.test(value)) return value
  throw new HpkeInputError(
    fn,
    argument,
    'must be a non-negative integer (bigint, safe integer or decimal string)',
  )
}

function address(fn: string, argument: string, value: unknown): string {
  if (!isAddress(value)) throw new HpkeInputError(fn, argument, 'must be a 0x-prefixed 20-byte hex address')
  return value.toLowerCase()
}

// ── Input checks shared by both implementations ────────────────────────────────────────────────────

/** @internal */
export function checkAead(fn: string, value: unknown, argument = 'aead'): HpkeAead {
  if (typeof value === 'string' && Object.hasOwn(HPKE_AEADS, value)) return value as HpkeAead
  throw new HpkeInputError(fn, argument, `must be one of ${Object.keys(HPKE_AEADS).join(', ')}`)
}

/** @internal An AEAD that can seal and open. */
export function checkSealingAead(fn: string, value: unknown): AeadName {
  const aead = checkAead(fn, value)
  if (aead === 'export-only') {
    throw new HpkeInputError(fn, 'aead', 'export-only contexts cannot seal or open; use export()')
  }
  return aead
}

/** @internal */
export function checkBytes(fn: string, argument: string, value: unknown, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new HpkeInputError(fn, argument, 'must be a Uint8Array')
  if (length !== undefined && value.length !== length) {
    throw new HpkeInputError(fn, argument, `must be ${length} bytes, got ${value.length}`)
  }
  return value
}

/** @internal Optional AAD: absent means empty. */
export function checkAad(fn: string, value: unknown): Uint8Array | undefined {
  if (value === undefined) return undefined
  return checkBytes(fn, 'aad', value)
}

/** @internal `info` or an exporter context: bytes or a UTF-8 string, at most 8192 bytes. */
export function checkLabel(fn: string, argument: string, value: unknown): Uint8Array {
  if (typeof value === 'string') {
    // A lone surrogate encodes to U+FFFD, so two different labels would give the same bytes.
    if (hasLoneSurrogate(value)) {
      throw new HpkeInputError(fn, argument, 'contains an unpaired UTF-16 surrogate')
    }
  } else if (!(value instanceof Uint8Array)) {
    throw new HpkeInputError(fn, argument, 'must be a Uint8Array or a string')
  }
  const bytes = labelBytes(value)
  if (bytes.length > HPKE_MAX_LABEL_LENGTH) {
    throw new HpkeInputError(
      fn,
      argument,
      `must be at most ${HPKE_MAX_LABEL_LENGTH} bytes, got ${bytes.length}`,
    )
  }
  return bytes
}

/** @internal */
export function checkExportLength(fn: string, value: unknown): number {
  if (
    typeof value !== 'number' ||
    !Number.isSafeInteger(value) ||
    value < 1 ||
    value > HPKE_MAX_EXPORT_LENGTH
  ) {
    throw new HpkeInputError(fn, 'length', `must be an integer in 1..${HPKE_MAX_EXPORT_LENGTH}`)
  }
  return value
}

/** @internal `ikm` of DeriveKeyPair: 32–8192 bytes (RFC 9180 asks for at least Nsk bytes of entropy). */
export function checkIkm(fn: string, argument: string, value: unknown): Uint8Array {
  const ikm = checkBytes(fn, argument, value)
  if (ikm.length < X25519_KEY_LENGTH || ikm.length > HPKE_MAX_LABEL_LENGTH) {
    throw new HpkeInputError(
      fn,
      argument,
      `must be ${X25519_KEY_LENGTH}–${HPKE_MAX_LABEL_LENGTH} bytes, got ${ikm.length}`,
    )
  }
  return ikm
}

/** @internal A ciphertext must at least hold the tag. */
export function checkCiphertext(fn: string, value: unknown, tagLength: number): Uint8Array {
  const ct = checkBytes(fn, 'ciphertext', value)
  if (ct.length < tagLength) {
    throw new HpkeInputError(
      fn,
      'ciphertext',
      `must be at least ${tagLength} bytes (the tag), got ${ct.length}`,
    )
  }
  return ct
}

/** @internal Params objects: a clear error instead of "cannot read properties of undefined". */
export function checkParams(fn: string, value: unknown): void {
  if (typeof value !== 'object' || value === null) throw new HpkeInputError(fn, 'params', 'must be an object')
}
