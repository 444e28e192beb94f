/**
 * Undo records: for each committed block, what it takes to return to the block before it.
 *
 * A record holds the previous cursor, the previous digest lattice and, for every record key the block
 * changed (in any table), the previous raw on-disk bytes or their absence. Raw bytes are the sealed
 * records, so the undo log holds no more plaintext than the tables themselves.
 *
 * ```
 * u8  version (1)
 * u8  has previous cursor (0/1) [ u64 BE number ‖ 32-byte hash ]
 * 2048 bytes previous lattice
 * u32 BE entry count, then per entry:
 *   u8 table id ‖ u16 BE key length ‖ key ‖ u8 had value (0/1) [ u32 BE length ‖ previous raw value ]
 * ```
 */
import { StateIntegrityError } from './errors.js'
import { type Cursor, decodeCursor, encodeCursor, HASH_BYTES, TableId } from './layout.js'
import { LTHASH_BYTES } from './lthash.js'

const UNDO_FORMAT = 1
const CURSOR_BYTES = 8 + HASH_BYTES

/** The previous state of one record key changed by a block. */
export interface UndoEntry {
  readonly table: TableId
  readonly key: Uint8Array
  /** Raw bytes before the block, or `undefined` if the key did not exist. */
  readonly previous: Uint8Array | undefined
}

/** Everything needed to revert one committed block. */
export interface UndoRecord {
  readonly previousCursor: Cursor | undefined
  readonly previousLattice: Uint8Array
  readonly entries: readonly UndoEntry[]
}

export function encodeUndoRecord(record: UndoRecord): Buffer {
  let size = 2 + (record.previousCursor ? CURSOR_BYTES : 0) + LTHASH_BYTES + 4
  for (const entry of record.entries)
    size += 1 + 2 + entry.key.length + 1 + (entry.previous ? 4 + entry.previous.length : 0)
  const out = Buffer.alloc(size)
  let o = 0
  out[o++] = UNDO_FORMAT
  out[o++] = record.previousCursor ? 1 : 0
  if (record.previousCursor) o += encodeCursor(record.previousCursor).copy(out, o)
  out.set(record.previousLattice, o)
  o += LTHASH_BYTES
  o = out.writeUInt32BE(record.entries.length, o)
  for (const entry of record.entries) {
    out[o++] = entry.table
    o = out.writeUInt16BE(entry.key.length, o)
    out.set(entry.key, o)
    o += entry.key.length
    out[o++] = entry.previous ? 1 : 0
    if (entry.previous) {
      o = out.writeUInt32BE(entry.previous.length, o)
      out.set(entry.previous, o)
      o += entry.previous.length
    }
  }
  return out
}

export function decodeUndoRecord(raw: Uint8Array): UndoRecord {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.length)
  let o = 0
  const need = (n: number) => {
    if (o + n > buf.length) throw new StateIntegrityError('undo record', 'record is truncated')
  }
  need(2)
  if (buf[o++] !== UNDO_FORMAT) throw new StateIntegrityError('undo record', 'unknown record version')
  const hasCursor = buf[o++]
  let previousCursor: Cursor | undefined
  if (hasCursor === 1) {
    need(CURSOR_BYTES)
    previousCursor = decodeCursor(buf.subarray(o, o + CURSOR_BYTES))
    o += CURSOR_BYTES
  } else if (hasCursor !== 0) {
    throw new StateIntegrityError('undo record', 'malformed cursor flag')
  }
  need(LTHASH_BYTES + 4)
  const previousLattice = Uint8Array.from(buf.subarray(o, o + LTHASH_BYTES))
  o += LTHASH_BYTES
  const count = buf.readUInt32BE(o)
  o += 4
  const entries: UndoEntry[] = []
  for (let i = 0; i < count; i++) {
    need(3)
    const table = buf[o++]
    if (table !== TableId.state && table !== TableId.plain && table !== TableId.receipts) {
      throw new StateIntegrityError('undo record', `unknown table id ${table}`)
    }
    const keyLength = buf.readUInt16BE(o)
    o += 2
    need(keyLength + 1)
    const key = Uint8Array.from(buf.subarray(o, o + keyLength))
    o += keyLength
    const hadValue = buf[o++]
    let previous: Uint8Array | undefined
    if (hadValue === 1) {
      need(4)
      const length = buf.readUInt32BE(o)
      o += 4
      need(length)
      previous = Uint8Array.from(buf.subarray(o, o + length))
      o += length
    } else if (hadValue !== 0) {
      throw new StateIntegrityError('undo record', 'malformed value flag')
    }
    entries.push({ table, key, previous })
  }
  if (o !== buf.length) throw new StateIntegrityError('undo record', 'trailing bytes')
  return { previousCursor, previousLattice, entries }
}
