/**
 * Contract logs (`ctx.log`, `console.*`): what a contract wrote, kept per contract for its owner.
 *
 * - Not state: logs are outside the digest and the undo log, and a rewind leaves them (they describe what
 *   ran). Command and init logs are written in the same LMDB transaction as their block, so a committed
 *   block has exactly its logs and a retried block writes them once; query logs exist only on the worker
 *   that answered, appended in the background.
 * - Sealed: each entry is AES-256-GCM sealed under the contract's storage keys with associated data
 *   (contract id, sequence number), so an operator reading the disk learns only sizes and counts, and an
 *   entry moved to another position or contract fails to open.
 * - Bounded: each contract keeps its newest `retention` entries; every append deletes the entry that falls
 *   out of the window, so the cost per entry is constant.
 *
 * ```
 * db    key                                       value
 * logs  u8 n ‖ contractId (n bytes) ‖ u64 BE seq   sealed entry text (see sealing.ts)
 * ```
 * `seq` counts from 1 per contract and never repeats on one worker.
 */
import type { Database } from 'lmdb'
import { StateArgumentError } from './errors.js'
import { checkContractId, checkText } from './layout.js'
import { type ContractStateKeys, open, seal } from './sealing.js'

/** Entries each contract keeps by default. */
export const DEFAULT_LOG_RETENTION = 10_000
/** Largest entry text accepted (a log line is bounded by the sandbox far below this). */
export const MAX_LOG_ENTRY_BYTES = 64 * 1024
/** Most entries one `read` returns. */
export const MAX_LOG_READ = 1_000

const AD_LOG = Buffer.from('veil/v1/log\0')
const NO_CONTEXT = new Uint8Array(0)

/** A stored log entry: its per-contract sequence number and the entry text (`encodeValue`). */
export interface LogRecord {
  readonly seq: bigint
  readonly text: string
}

/** One entry to append to a contract's log. */
export interface LogAppend {
  readonly contractId: string
  readonly text: string
}

type Db = Database<Buffer, Buffer>

/** The `logs` table of a state store. Created by `StateStore`; not used on its own. */
export class ContractLogBook {
  readonly #db: Db
  readonly #keysFor: (contractId: string) => ContractStateKeys
  readonly #retention: number
  /** The next sequence number of each contract seen so far. */
  readonly #next = new Map<string, bigint>()

  constructor(db: Db, keysFor: (contractId: string) => ContractStateKeys, retention: number) {
    if (!Number.isSafeInteger(retention) || retention < 1)
      throw new StateArgumentError('logRetention', 'must be a positive integer')
    this.#db = db
    this.#keysFor = keysFor
    this.#retention = retention
  }

  /**
   * Seals and writes `entries` with `putSync`: call inside the block's `transactionSync`, with the block
   * hash as `context` (the synthetic-nonce context of sealing.ts).
   */
  writeSync(entries: readonly LogAppend[], context: Uint8Array): void {
    for (const { key, value, prune } of this.#prepare(entries, context)) {
      this.#db.putSync(key, value)
      if (prune) this.#db.removeSync(prune)
    }
  }

  /** Seals and writes `entries` in a background transaction; resolves once they are durable. */
  async append(entries: readonly LogAppend[]): Promise<void> {
    const records = this.#prepare(entries, NO_CONTEXT)
    if (records.length === 0) return
    await this.#db.transaction(() => {
      for (const { key, value, prune } of records) {
        this.#db.putSync(key, value)
        if (prune) this.#db.removeSync(prune)
      }
    })
  }

  /** Entries of `contractId` with `seq > after`, oldest first, at most `limit` (≤ {@link MAX_LOG_READ}). */
  read(contractId: string, options: { after?: bigint; limit?: number } = {}): LogRecord[] {
    checkContractId(contractId)
    const after = options.after ?? 0n
    if (typeof after !== 'bigint' || after < 0n) throw new StateArgumentError('after', 'must be a bigint ≥ 0')
    const limit = options.limit ?? MAX_LOG_READ
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LOG_READ)
      throw new StateArgumentError('limit', `must be an integer from 1 to ${MAX_LOG_READ}`)
    const keys = this.#keysFor(contractId)
    const out: LogRecord[] = []
    const range = this.#db.getRange({
      start: recordKey(contractId, after + 1n),
      end: recordKey(contractId, MAX_SEQ),
      limit,
    })
    for (const { key, value } of range) {
      const seq = key.readBigUInt64BE(key.length - 8)
      const text = open(
        keys,
        associatedData(contractId, seq),
        value,
        `log entry ${seq} of contract ${contractId}`,
      )
      out.push({ seq, text: text.toString('utf8') })
    }
    return out
  }

  /** The sequence number of the newest entry of `contractId` (0 if it has none). */
  lastSeq(contractId: string): bigint {
    return this.#nextSeq(checkContractId(contractId)) - 1n
  }

  #prepare(entries: readonly LogAppend[], context: Uint8Array) {
    const out: { key: Buffer; value: Buffer; prune: Buffer | undefined }[] = []
    for (const { contractId, text } of entries) {
      checkContractId(contractId)
      const plaintext = checkText('log entry', text, MAX_LOG_ENTRY_BYTES)
      const seq = this.#nextSeq(contractId)
      this.#next.set(contractId, seq + 1n)
      const value = seal(this.#keysFor(contractId), associatedData(contractId, seq), plaintext, context)
      const dropped = seq - BigInt(this.#retention)
      out.push({
        key: recordKey(contractId, seq),
        value,
        prune: dropped > 0n ? recordKey(contractId, dropped) : undefined,
      })
    }
    return out
  }

  #nextSeq(contractId: string): bigint {
    let next = this.#next.get(contractId)
    if (next === undefined) {
      next = 1n
      const range = this.#db.getKeys({
        start: recordKey(contractId, MAX_SEQ),
        end: recordKey(contractId, 0n),
        reverse: true,
        limit: 1,
      })
      for (const key of range) next = key.readBigUInt64BE(key.length - 8) + 1n
      this.#next.set(contractId, next)
    }
    return next
  }
}

const MAX_SEQ = (1n << 64n) - 1n

function recordKey(contractId: string, seq: bigint): Buffer {
  const id = Buffer.from(contractId, 'latin1')
  const key = Buffer.allocUnsafe(1 + id.length + 8)
  key[0] = id.length
  id.copy(key, 1)
  key.writeBigUInt64BE(seq, 1 + id.length)
  return key
}

function associatedData(contractId: string, seq: bigint): Buffer {
  const position = Buffer.allocUnsafe(8)
  position.writeBigUInt64BE(seq)
  return Buffer.concat([
    AD_LOG,
    Uint8Array.of(contractId.length),
    Buffer.from(contractId, 'latin1'),
    position,
  ])
}
