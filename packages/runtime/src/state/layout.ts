/**
 * On-disk layout of the state store: record keys, cursor encoding, and the element encodings that feed
 * the state digest. Everything here is a pure byte format; sealing lives in `sealing.ts`, undo records in
 * `undo.ts`.
 *
 * ```
 * db        key                                              value
 * meta      "format"                                         u32 BE format version (1)
 *           "cursor"                                         u64 BE block number ‖ 32-byte block hash
 *           "lattice"                                        2048-byte LtHash vector (u16 LE lanes)
 * state     u8 n ‖ contractId (n ASCII bytes) ‖ hkey (32)    sealed value (see sealing.ts)
 * plain     u8 n ‖ table (n ASCII bytes) ‖ key (UTF-8)       raw public bytes
 * receipts  txHash (32)                                      u8 n ‖ contractId ‖ sealed receipt text
 * undo      u64 BE block number                              undo record (see undo.ts)
 * ```
 * `hkey` = HMAC-SHA256(contract key-MAC key, UTF-8 key). Contract ids, table names and tx hashes are
 * public on the ledger; state keys, state values and receipt texts never reach the disk in plaintext.
 */
import type { Hex } from '@veil/protocol'
import { StateArgumentError, StateIntegrityError } from './errors.js'

/** Tables that the undo log and the digest address. */
export const TableId = { state: 1, plain: 2, receipts: 3 } as const
export type TableId = (typeof TableId)[keyof typeof TableId]

/** A committed block: the store's position on the chain. */
export interface Cursor {
  readonly number: bigint
  readonly hash: Hex
}

/** Current on-disk format; bump on any incompatible change to this file, sealing.ts or undo.ts. */
export const STORE_FORMAT_VERSION = 1
export const META_FORMAT = Buffer.from('format')
export const META_CURSOR = Buffer.from('cursor')
export const META_LATTICE = Buffer.from('lattice')

export const HKEY_BYTES = 32
export const HASH_BYTES = 32
/** Longest plain-table key: LMDB keys are limited (~1978 bytes), leave room for the table prefix. */
export const MAX_PLAIN_KEY_BYTES = 1024
const MAX_BLOCK_NUMBER = (1n << 64n) - 1n

// Same rule as @veil/crypto's derivation ids: 1–128 printable ASCII characters other than '/'.
const CONTRACT_ID_RE = /^[\x21-\x2e\x30-\x7e]{1,128}$/
const TABLE_RE = /^[a-z][a-z0-9_-]{0,63}$/
const HASH_RE = /^0x[0-9a-fA-F]{64}$/
// Only unpaired surrogates match; they would encode to U+FFFD and make two keys share one record.
const LONE_SURROGATE = /\p{Cs}/u

export function isContractId(value: unknown): value is string {
  return typeof value === 'string' && CONTRACT_ID_RE.test(value)
}

export function checkContractId(contractId: unknown): string {
  if (typeof contractId !== 'string' || !CONTRACT_ID_RE.test(contractId)) {
    throw new StateArgumentError('contractId', "must be 1–128 printable ASCII characters other than '/'")
  }
  return contractId
}

export function checkTable(table: unknown): string {
  if (typeof table !== 'string' || !TABLE_RE.test(table)) {
    throw new StateArgumentError('table', 'must match /^[a-z][a-z0-9_-]{0,63}$/')
  }
  return table
}

/** Validates a string that will be stored as UTF-8 and returns its bytes. */
export function checkText(argument: string, value: unknown, maxBytes = Number.POSITIVE_INFINITY): Buffer {
  if (typeof value !== 'string') throw new StateArgumentError(argument, 'must be a string')
  if (LONE_SURROGATE.test(value))
    throw new StateArgumentError(argument, 'contains an unpaired UTF-16 surrogate')
  const bytes = Buffer.from(value, 'utf8')
  if (bytes.length > maxBytes)
    throw new StateArgumentError(argument, `must be at most ${maxBytes} bytes of UTF-8`)
  return bytes
}

/** Validates a 32-byte 0x-hex hash (block or transaction) and returns its bytes. */
export function checkHash(argument: string, value: unknown): Buffer {
  if (typeof value !== 'string' || !HASH_RE.test(value)) {
    throw new StateArgumentError(argument, 'must be a 0x-prefixed 32-byte hex string')
  }
  return Buffer.from(value.slice(2), 'hex')
}

export function checkBlockNumber(argument: string, value: unknown): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > MAX_BLOCK_NUMBER) {
    throw new StateArgumentError(argument, 'must be a bigint in 0..2^64-1')
  }
  return value
}

export function toHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')}`
}

function prefixed(name: string, rest: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + name.length + rest.length)
  out[0] = name.length
  out.write(name, 1, 'latin1')
  out.set(rest, 1 + name.length)
  return out
}

function splitPrefixed(what: string, key: Uint8Array): { name: string; rest: Buffer } {
  const buf = Buffer.from(key.buffer, key.byteOffset, key.length)
  const n = buf[0]
  if (n === undefined || n === 0 || buf.length < 1 + n)
    throw new StateIntegrityError(what, 'malformed record key')
  return { name: buf.toString('latin1', 1, 1 + n), rest: buf.subarray(1 + n) }
}

/** `state` db key: the contract id in the clear (public), then the keyed hash of the state key. */
export function stateRecordKey(contractId: string, hkey: Uint8Array): Buffer {
  return prefixed(contractId, hkey)
}

export function parseStateRecordKey(key: Uint8Array): { contractId: string; hkey: Buffer } {
  const { name, rest } = splitPrefixed('state record', key)
  if (rest.length !== HKEY_BYTES || !isContractId(name))
    throw new StateIntegrityError('state record', 'malformed record key')
  return { contractId: name, hkey: Buffer.from(rest) }
}

export function plainRecordKey(table: string, key: Uint8Array): Buffer {
  return prefixed(table, key)
}

export function parsePlainRecordKey(key: Uint8Array): { table: string; key: Buffer } {
  const { name, rest } = splitPrefixed('plain record', key)
  return { table: name, key: Buffer.from(rest) }
}

/** `receipts` db value: the owning contract id in the clear (needed to pick the key), then the sealed text. */
export function encodeReceiptRecord(contractId: string, sealed: Uint8Array): Buffer {
  return prefixed(contractId, sealed)
}

export function decodeReceiptRecord(raw: Uint8Array): { contractId: string; sealed: Buffer } {
  const { name, rest } = splitPrefixed('receipt', raw)
  if (!isContractId(name)) throw new StateIntegrityError('receipt', 'malformed contract id')
  return { contractId: name, sealed: rest }
}

/** Big-endian, so LMDB's byte order is block order (undo pruning and rewinds scan ranges). */
export function blockNumberKey(blockNumber: bigint): Buffer {
  const out = Buffer.allocUnsafe(8)
  out.writeBigUInt64BE(blockNumber)
  return out
}

export function decodeBlockNumberKey(key: Uint8Array): bigint {
  if (key.length !== 8) throw new StateIntegrityError('undo record', 'malformed block number key')
  return Buffer.from(key.buffer, key.byteOffset, 8).readBigUInt64BE()
}

export function encodeCursor(cursor: Cursor): Buffer {
  const out = Buffer.allocUnsafe(8 + HASH_BYTES)
  out.writeBigUInt64BE(cursor.number)
  out.write(cursor.hash.slice(2), 8, 'hex')
  return out
}

export function decodeCursor(raw: Uint8Array): Cursor {
  if (raw.length !== 8 + HASH_BYTES)
    throw new StateIntegrityError('cursor', `expected ${8 + HASH_BYTES} bytes`)
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.length)
  return { number: buf.readBigUInt64BE(0), hash: `0x${buf.toString('hex', 8)}` }
}

// Element encodings for the LtHash digest. Each starts with its own tag and length-prefixes every
// variable field except the last, so no two distinct records (of any table) share an encoding.
// Confidential elements include the contract's secret digest salt: the digest is published, and without
// the salt an observer could confirm guesses of low-entropy values (a vote, a balance) offline.
const TAG_STATE = Buffer.from('veil/v1/lthash/state\0')
const TAG_PLAIN = Buffer.from('veil/v1/lthash/plain\0')
const TAG_RECEIPT = Buffer.from('veil/v1/lthash/receipt\0')

function u32(n: number): Buffer {
  const out = Buffer.allocUnsafe(4)
  out.writeUInt32BE(n)
  return out
}

export function stateElementInput(
  contractId: string,
  digestSalt: Uint8Array,
  hkey: Uint8Array,
  value: Uint8Array,
): Buffer {
  const id = Buffer.from(contractId, 'latin1')
  return Buffer.concat([TAG_STATE, u32(id.length), id, digestSalt, hkey, value])
}

export function plainElementInput(table: string, key: Uint8Array, value: Uint8Array): Buffer {
  const name = Buffer.from(table, 'latin1')
  return Buffer.concat([TAG_PLAIN, u32(name.length), name, u32(key.length), key, value])
}

export function receiptElementInput(
  txHash: Uint8Array,
  contractId: string,
  digestSalt: Uint8Array,
  text: Uint8Array,
): Buffer {
  const id = Buffer.from(contractId, 'latin1')
  return Buffer.concat([TAG_RECEIPT, txHash, u32(id.length), id, digestSalt, text])
}
