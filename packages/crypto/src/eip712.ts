/**
 * EIP-712 typed data of docs/protocol.md — exactly four structs under the domain
 * `{ name: "Veil", version: "1", chainId, verifyingContract: <Registry> }`:
 *
 * ```
 * Answer(bytes32 request,bytes32 response,uint64 contractId,uint64 block)          signed by a worker
 * AnswerBatch(bytes32 root)     signed by a worker: the Merkle root of several Answers' struct hashes
 * QueryAuth(uint64 contractId,bytes32 call,bytes16 nonce,uint64 timestamp,address worker)  by a caller
 * Session(address key,uint64 expires)                                              by a wallet, once
 * ```
 *
 * Hashing is written out per struct (no generic type parser), matching Solidity's
 * `keccak256(abi.encode(TYPEHASH, ...))` and OpenZeppelin's `_hashTypedDataV4`, which `Registry` uses.
 * Pure and browser-safe.
 */

import { type Address, encodeValue, type Hex, isAddress } from '@veil/protocol'
import { concat, parseBytes } from './bytes.js'
import {
  type Bytes32,
  checkHash,
  checksumAddress,
  keccak256,
  recoverAddress,
  SignatureInputError,
  SignatureInvalidError,
  signTypedHash,
  type TypedHashSigner,
} from './ethereum.js'
import { MAX_MERKLE_PROOF_LENGTH, processMerkleProof } from './merkle.js'

/** A uint64 field: bigint or a non-negative safe-integer number. */
export type Uint64 = bigint | number

/** The variable part of Veil's EIP-712 domain; `name` and `version` are fixed. */
export interface VeilDomain {
  chainId: bigint | number
  /** The Registry contract. */
  verifyingContract: Address
}

/** `Answer`: a worker's signed statement that `response` answers `request` at `block`. */
export interface AnswerMessage {
  /** keccak256(enc ‖ ct) of the sealed query ({@link hashQueryRequest}). */
  request: Bytes32
  /** keccak256(ct) of the sealed answer. */
  response: Bytes32
  contractId: Uint64
  block: Uint64
}

/** `QueryAuth`: a caller (wallet or session key) authorizes one query to one worker. */
export interface QueryAuthMessage {
  contractId: Uint64
  /** keccak256 of the canonical JSON of `{ method, args }` ({@link hashQueryCall}). */
  call: Bytes32
  /** The request's 16-byte nonce. */
  nonce: Hex | Uint8Array
  /** The request's timestamp. */
  timestamp: Uint64
  worker: Address
}

/** `Session`: a wallet delegates query signing to `key` until `expires` (unix seconds). */
export interface SessionMessage {
  key: Address
  expires: Uint64
}

/** A private key (32 bytes, hex or raw) or a {@link TypedHashSigner}. */
export type Signer = Bytes32 | TypedHashSigner

/** Fixed name and version of the Veil domain. */
export const VEIL_EIP712_NAME = 'Veil'
export const VEIL_EIP712_VERSION = '1'

/**
 * The three structs in viem / wallet (`eth_signTypedData_v4`) form.
 *
 * @example
 * await walletClient.signTypedData({
 *   domain: veilTypedDataDomain(domain), types: VEIL_EIP712_TYPES, primaryType: 'Session', message: session,
 * })
 */
export const VEIL_EIP712_TYPES = {
  Answer: [
    { name: 'request', type: 'bytes32' },
    { name: 'response', type: 'bytes32' },
    { name: 'contractId', type: 'uint64' },
    { name: 'block', type: 'uint64' },
  ],
  AnswerBatch: [{ name: 'root', type: 'bytes32' }],
  QueryAuth: [
    { name: 'contractId', type: 'uint64' },
    { name: 'call', type: 'bytes32' },
    { name: 'nonce', type: 'bytes16' },
    { name: 'timestamp', type: 'uint64' },
    { name: 'worker', type: 'address' },
  ],
  Session: [
    { name: 'key', type: 'address' },
    { name: 'expires', type: 'uint64' },
  ],
} as const

const utf8 = new TextEncoder()
const typeHash = (type: string) => keccak256(utf8.encode(type))
const DOMAIN_TYPEHASH = typeHash(
  'EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)',
)
const NAME_HASH = keccak256(utf8.encode(VEIL_EIP712_NAME))
const VERSION_HASH = keccak256(utf8.encode(VEIL_EIP712_VERSION))
const ANSWER_TYPEHASH = typeHash('Answer(bytes32 request,bytes32 response,uint64 contractId,uint64 block)')
const ANSWER_BATCH_TYPEHASH = typeHash('AnswerBatch(bytes32 root)')
const QUERY_AUTH_TYPEHASH = typeHash(
  'QueryAuth(uint64 contractId,bytes32 call,bytes16 nonce,uint64 timestamp,address worker)',
)
const SESSION_TYPEHASH = typeHash('Session(address key,uint64 expires)')
const PREFIX_1901 = Uint8Array.of(0x19, 0x01)
const UINT64_LIMIT = 1n << 64n
const UINT256_LIMIT = 1n << 256n

/** The full domain object for wallets and viem. */
export function veilTypedDataDomain(domain: VeilDomain): {
  name: typeof VEIL_EIP712_NAME
  version: typeof VEIL_EIP712_VERSION
  chainId: bigint
  verifyingContract: Address
} {
  const fn = 'veilTypedDataDomain'
  checkObject(fn, 'domain', domain)
  return {
    name: VEIL_EIP712_NAME,
    version: VEIL_EIP712_VERSION,
    chainId: uint(fn, 'domain.chainId', domain.chainId, UINT256_LIMIT),
    verifyingContract: checkAddress(fn, 'domain.verifyingContract', domain.verifyingContract),
  }
}

// Domain separators are public and few (one per chain and registry): cache them, bounded.
const domainCache = new Map<string, Uint8Array>()
const DOMAIN_CACHE_LIMIT = 64

function domainSeparator(fn: string, domain: VeilDomain): Uint8Array {
  checkObject(fn, 'domain', domain)
  const chainId = uint(fn, 'domain.chainId', domain.chainId, UINT256_LIMIT)
  if (typeof domain.verifyingContract !== 'string') {
    throw new SignatureInputError(fn, 'domain.verifyingContract', 'must be a 0x-prefixed 20-byte hex address')
  }
  // Keyed by the address as given, so a mistyped checksum is never served from the cache.
  const cacheKey = `${chainId}:${domain.verifyingContract}`
  let separator = domainCache.get(cacheKey)
  if (separator === undefined) {
    const contract = checkAddress(fn, 'domain.verifyingContract', domain.verifyingContract)
    separator = keccak256(
      concat(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, word(chainId), addressWord(contract)),
    )
    if (domainCache.size >= DOMAIN_CACHE_LIMIT) domainCache.clear()
    domainCache.set(cacheKey, separator)
  }
  return separator
}

/** The EIP-712 domain separator of `{ name: "Veil", version: "1", chainId, verifyingContract }`. */
export function hashDomain(domain: VeilDomain): Uint8Array {
  return domainSeparator('hashDomain', domain).slice()
}

/** keccak256(0x1901 ‖ domainSeparator ‖ structHash). */
function digest(fn: string, domain: VeilDomain, structHash: Uint8Array): Uint8Array {
  return keccak256(concat(PREFIX_1901, domainSeparator(fn, domain), structHash))
}

/**
 * The EIP-712 digest of an `Answer` (what a worker signs and `Registry.verifyAnswer` recovers).
 *
 * @example
 * const digest = hashAnswer({ chainId: 31337, verifyingContract: registry },
 *   { request: hashQueryRequest(enc, ct), response: keccak256(answerCt), contractId: 1n, block: 42n })
 */
export function hashAnswer(domain: VeilDomain, message: AnswerMessage): Uint8Array {
  return digest('hashAnswer', domain, answerStruct('hashAnswer', message))
}

/**
 * The EIP-712 struct hash of an `Answer` (`hashStruct`, without the domain): the leaf of an answer in an
 * `AnswerBatch` tree.
 */
export function hashAnswerStruct(message: AnswerMessage): Uint8Array {
  return answerStruct('hashAnswerStruct', message)
}

/** The EIP-712 digest of an `AnswerBatch` (what a worker signs for a batch of answers). */
export function hashAnswerBatch(domain: VeilDomain, root: Bytes32): Uint8Array {
  const fn = 'hashAnswerBatch'
  return digest(fn, domain, keccak256(concat(ANSWER_BATCH_TYPEHASH, checkHash(fn, root, 'root'))))
}

function answerStruct(fn: string, message: AnswerMessage): Uint8Array {
  checkObject(fn, 'message', message)
  return keccak256(
    concat(
      ANSWER_TYPEHASH,
      checkHash(fn, message.request, 'message.request'),
      checkHash(fn, message.response, 'message.response'),
      word(uint(fn, 'message.contractId', message.contractId, UINT64_LIMIT)),
      word(uint(fn, 'message.block', message.block, UINT64_LIMIT)),
    ),
  )
}

/** The EIP-712 digest of a `QueryAuth`. */
export function hashQueryAuth(domain: VeilDomain, message: QueryAuthMessage): Uint8Array {
  const fn = 'hashQueryAuth'
  checkObject(fn, 'message', message)
  const nonce = parseBytes(message.nonce)
  if (nonce === undefined || nonce.length !== 16) {
    throw new SignatureInputError(fn, 'message.nonce', 'must be 16 bytes (0x hex or bytes)')
  }
  // bytes16 is left-aligned in its 32-byte word (ABI encoding of fixed-size bytes).
  const nonceWord = new Uint8Array(32)
  nonceWord.set(nonce, 0)
  const struct = keccak256(
    concat(
      QUERY_AUTH_TYPEHASH,
      word(uint(fn, 'message.contractId', message.contractId, UINT64_LIMIT)),
      checkHash(fn, message.call, 'message.call'),
      nonceWord,
      word(uint(fn, 'message.timestamp', message.timestamp, UINT64_LIMIT)),
      addressWord(checkAddress(fn, 'message.worker', message.worker)),
    ),
  )
  return digest(fn, domain, struct)
}

/** The EIP-712 digest of a `Session`. */
export function hashSession(domain: VeilDomain, message: SessionMessage): Uint8Array {
  const fn = 'hashSession'
  checkObject(fn, 'message', message)
  const struct = keccak256(
    concat(
      SESSION_TYPEHASH,
      addressWord(checkAddress(fn, 'message.key', message.key)),
      word(uint(fn, 'message.expires', message.expires, UINT64_LIMIT)),
    ),
  )
  return digest(fn, domain, struct)
}

/** `request` of an Answer: keccak256(enc ‖ ct) of the sealed query (also the answer's AEAD aad). */
export function hashQueryRequest(enc: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (!(enc instanceof Uint8Array))
    throw new SignatureInputError('hashQueryRequest', 'enc', 'must be a Uint8Array')
  if (!(ciphertext instanceof Uint8Array)) {
    throw new SignatureInputError('hashQueryRequest', 'ciphertext', 'must be a Uint8Array')
  }
  return keccak256(concat(enc, ciphertext))
}

/** `call` of a QueryAuth: keccak256 of the canonical JSON (`encodeValue`) of `{ method, args }`. */
export function hashQueryCall(call: { method: string; args: readonly unknown[] }): Uint8Array {
  checkObject('hashQueryCall', 'call', call)
  if (typeof call.method !== 'string')
    throw new SignatureInputError('hashQueryCall', 'call.method', 'must be a string')
  if (!Array.isArray(call.args))
    throw new SignatureInputError('hashQueryCall', 'call.args', 'must be an array')
  return keccak256(utf8.encode(encodeValue({ method: call.method, args: call.args }, 'call')))
}

// ── Sign and recover ───────────────────────────────────────────────────────────────────────────────

function signDigest(fn: string, signer: Signer, hash: Uint8Array): Hex {
  if (typeof signer === 'object' && signer !== null && !(signer instanceof Uint8Array)) {
    if (typeof signer.signTypedHash !== 'function') {
      throw new SignatureInputError(fn, 'signer', 'must be a private key or a TypedHashSigner')
    }
    return signer.signTypedHash(hash)
  }
  return signTypedHash(signer, hash)
}

/**
 * A worker's signature of an `Answer`.
 *
 * @example
 * const signature = signAnswer(workerSigner, { chainId, verifyingContract: registry }, answer)
 */
export function signAnswer(signer: Signer, domain: VeilDomain, message: AnswerMessage): Hex {
  return signDigest('signAnswer', signer, hashAnswer(domain, message))
}

/**
 * A worker's signature of an `AnswerBatch`: one signature for many answers, each of which then carries
 * its Merkle proof to `root` (see `merkle.ts`).
 */
export function signAnswerBatch(signer: Signer, domain: VeilDomain, root: Bytes32): Hex {
  return signDigest('signAnswerBatch', signer, hashAnswerBatch(domain, root))
}

/**
 * The address that signed an answer (check it is an active worker before trusting the answer): of its
 * `Answer` signature, or, given the answer's Merkle `proof` (one or more hashes), of the `AnswerBatch`
 * whose root the answer's struct hash and the proof lead to.
 */
export function recoverAnswerSigner(
  domain: VeilDomain,
  message: AnswerMessage,
  signature: Hex | Uint8Array,
  proof?: readonly Bytes32[],
): Address {
  if (proof === undefined || proof.length === 0) return recoverAddress(hashAnswer(domain, message), signature)
  const fn = 'recoverAnswerSigner'
  if (!Array.isArray(proof) || proof.length > MAX_MERKLE_PROOF_LENGTH) {
    throw new SignatureInputError(
      fn,
      'proof',
      `must be an array of at most ${MAX_MERKLE_PROOF_LENGTH} hashes`,
    )
  }
  const siblings = proof.map((node, i) => checkHash(fn, node, `proof[${i}]`))
  const root = processMerkleProof(answerStruct(fn, message), siblings)
  return recoverAddress(hashAnswerBatch(domain, root), signature)
}

/** A caller's (wallet's or session key's) signature of a `QueryAuth`. */
export function signQueryAuth(signer: Signer, domain: VeilDomain, message: QueryAuthMessage): Hex {
  return signDigest('signQueryAuth', signer, hashQueryAuth(domain, message))
}

/** The address that signed a `QueryAuth`. */
export function recoverQueryAuth(
  domain: VeilDomain,
  message: QueryAuthMessage,
  signature: Hex | Uint8Array,
): Address {
  return recoverAddress(hashQueryAuth(domain, message), signature)
}

/** A wallet's signature of a `Session` delegating to a session key. */
export function signSession(signer: Signer, domain: VeilDomain, message: SessionMessage): Hex {
  return signDigest('signSession', signer, hashSession(domain, message))
}

/** The wallet that signed a `Session`. */
export function recoverSession(
  domain: VeilDomain,
  message: SessionMessage,
  signature: Hex | Uint8Array,
): Address {
  return recoverAddress(hashSession(domain, message), signature)
}

/** A query's `auth` (docs/protocol.md, Caller authentication). */
export type QueryAuthProof =
  | { type: 'wallet'; address: Address; signature: Hex }
  | {
      type: 'session'
      /** The wallet the session speaks for. */
      address: Address
      session: { key: Address; expires: Uint64; signature: Hex }
      signature: Hex
    }

/**
 * The caller a query's `auth` proves (`ctx.caller`): for `wallet`, the signer of the `QueryAuth`; for
 * `session`, the wallet that signed the `Session`, after checking the session has not expired at `now`
 * (unix seconds) and that the `QueryAuth` was signed by the session key. The proof must name the
 * address it claims (`auth.address`; for a session, the wallet) and the recovered one must equal it:
 * ECDSA recovery always yields *some* address, so without that a forged or altered signature would
 * silently become an arbitrary caller. Throws {@link SignatureInputError} on a malformed `auth`,
 * {@link SignatureInvalidError} if it proves nothing.
 *
 * @example
 * const caller = recoverQueryCaller(domain, query.auth, { contractId, call, nonce, timestamp, worker }, {
 *   now: Math.floor(Date.now() / 1000),
 * })
 */
export function recoverQueryCaller(
  domain: VeilDomain,
  auth: unknown,
  message: QueryAuthMessage,
  options: { now: number },
): Address {
  const fn = 'recoverQueryCaller'
  checkObject(fn, 'auth', auth)
  if (typeof options?.now !== 'number' || !Number.isFinite(options.now)) {
    throw new SignatureInputError(fn, 'options.now', 'must be the current time in unix seconds')
  }
  const proof = auth as Record<string, unknown>
  const signature = signatureField(fn, 'auth.signature', proof.signature)
  if (proof.type === 'wallet') {
    const claimed = checkAddress(fn, 'auth.address', proof.address)
    return claimedBy(claimed, recoverQueryAuth(domain, message, signature))
  }
  if (proof.type !== 'session')
    throw new SignatureInputError(fn, 'auth.type', "must be 'wallet' or 'session'")
  checkObject(fn, 'auth.session', proof.session)
  const session = proof.session as Record<string, unknown>
  const grant: SessionMessage = {
    key: checkAddress(fn, 'auth.session.key', session.key),
    expires: uint(fn, 'auth.session.expires', session.expires, UINT64_LIMIT),
  }
  const wallet = recoverSession(
    domain,
    grant,
    signatureField(fn, 'auth.session.signature', session.signature),
  )
  if (BigInt(Math.floor(options.now)) >= BigInt(grant.expires)) {
    throw new SignatureInvalidError(`the session expired at ${grant.expires}`)
  }
  // Addresses compare case-insensitively: recovery returns EIP-55 form, the session may carry any case.
  const signedBy = recoverQueryAuth(domain, message, signature)
  if (signedBy.toLowerCase() !== grant.key.toLowerCase()) {
    throw new SignatureInvalidError('the QueryAuth is not signed by the session key')
  }
  return claimedBy(checkAddress(fn, 'auth.address', proof.address), wallet)
}

/** `recovered`, if it is the address the proof claims (compared case-insensitively). */
function claimedBy(claimed: Address, recovered: Address): Address {
  if (recovered.toLowerCase() !== claimed.toLowerCase()) {
    throw new SignatureInvalidError(
      'the signature was not made by the address the proof claims (auth.address)',
    )
  }
  return recovered
}

function signatureField(fn: string, argument: string, value: unknown): Hex {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(value)) {
    throw new SignatureInputError(fn, argument, 'must be a 65-byte 0x-hex signature')
  }
  return value as Hex
}

// ── Encoding ───────────────────────────────────────────────────────────────────────────────────────

function uint(fn: string, argument: string, value: unknown, limit: bigint): bigint {
  let n: bigint | undefined
  if (typeof value === 'bigint') n = value
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value)
  if (n === undefined || n < 0n || n >= limit) {
    const bits = limit === UINT64_LIMIT ? 64 : 256
    throw new SignatureInputError(fn, argument, `must be a uint${bits} (bigint or safe integer)`)
  }
  return n
}

/** A uint as its 32-byte big-endian ABI word. */
function word(value: bigint): Uint8Array {
  const out = new Uint8Array(32)
  let rest = value
  for (let i = 31; i >= 0 && rest > 0n; i--) {
    out[i] = Number(rest & 0xffn)
    rest >>= 8n
  }
  return out
}

/** An address right-aligned in a 32-byte word. */
function addressWord(address: Address): Uint8Array {
  const out = new Uint8Array(32)
  out.set(parseBytes(address) ?? new Uint8Array(20), 12)
  return out
}

/** A 20-byte hex address; a mixed-case one must carry a valid EIP-55 checksum (as viem requires). */
function checkAddress(fn: string, argument: string, value: unknown): Address {
  if (!isAddress(value))
    throw new SignatureInputError(fn, argument, 'must be a 0x-prefixed 20-byte hex address')
  const body = value.slice(2)
  const mixedCase = body !== body.toLowerCase() && body !== body.toUpperCase()
  if (mixedCase && checksumAddress(value) !== value) {
    throw new SignatureInputError(fn, argument, 'has an invalid EIP-55 checksum (a typo?)')
  }
  return value
}

function checkObject(fn: string, argument: string, value: unknown): void {
  if (typeof value !== 'object' || value === null)
    throw new SignatureInputError(fn, argument, 'must be an object')
}
