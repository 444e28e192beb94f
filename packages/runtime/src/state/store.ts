/**
 * The worker's encrypted, per-contract state store (DESIGN §7) over one LMDB environment.
 *
 * Invariants:
 * - Atomic blocks: everything one block changes — state, public tables, receipts, its undo record, the
 *   cursor and the digest lattice — is written by one `transactionSync`, so a crash at any point (kill -9
 *   included) leaves the store at the previous committed block. LMDB never exposes a half-written
 *   transaction: the commit is a single meta-page switch. With `noMetaSync`, a power loss (not a process
 *   crash) may return the store to an earlier committed block; the follower re-executes from there.
 * - One writer: at most one open `BlockWriter`; LMDB is only written inside `commit`/`rollbackTo`. The
 *   writer's view of committed state therefore cannot change under it. One process per store directory.
 * - Confidentiality: contract state keys are HMAC'd, values and receipts AES-256-GCM sealed (sealing.ts);
 *   LMDB is opened with `noMemInit: false` so the pages it writes never carry uninitialised heap memory
 *   (which could hold decrypted values or keys) to disk.
 * - Digest: a lattice hash of all contract state, public tables and receipts, maintained per change and
 *   persisted with each block; `recomputeDigest()` rebuilds it from the records alone.
 * - Rewinds: the undo log keeps the last `undoDepth` blocks; anything deeper throws `RewindTooDeepError`
 *   and changes nothing.
 * - Cache: recently used committed state records (plaintext and digest element included) are kept in
 *   memory (committed-cache.ts); commits update it, rollbacks clear it, so it always equals LMDB.
 */
import { type Hex, type Logger, silentLogger } from '@veil/protocol'
import { type Database, open as openLmdb, type RootDatabase } from 'lmdb'
import { CommittedStateCache } from './committed-cache.js'
import {
  BlockInProgressError,
  BlockSequenceError,
  RewindTooDeepError,
  StateArgumentError,
  StateFormatError,
  StateIntegrityError,
  StateStoreClosedError,
} from './errors.js'
import {
  blockNumberKey,
  type Cursor,
  checkBlockNumber,
  checkContractId,
  checkHash,
  checkTable,
  checkText,
  decodeBlockNumberKey,
  decodeCursor,
  encodeCursor,
  MAX_PLAIN_KEY_BYTES,
  META_CURSOR,
  META_FORMAT,
  META_LATTICE,
  parsePlainRecordKey,
  parseStateRecordKey,
  plainElementInput,
  plainRecordKey,
  STORE_FORMAT_VERSION,
  stateRecordKey,
  TableId,
} from './layout.js'
import { ContractLogBook, DEFAULT_LOG_RETENTION, type LogAppend, type LogRecord } from './logs.js'
import { LTHASH_BYTES, LtHash, ltHashElement } from './lthash.js'
import { openReceipt, openStateValue, receiptElement, stateElement } from './records.js'
import { type ContractStateKeys, deriveContractStateKeys, hashStateKey } from './sealing.js'
import type { ContractSecrets } from './secrets.js'
import { decodeUndoRecord, encodeUndoRecord, type UndoRecord } from './undo.js'
import {
  type BlockHeader,
  BlockWriter,
  type BlockWriteSet,
  type CommittedState,
  type WriterHost,
} from './writer.js'

/** Default number of blocks `rollbackTo` can undo. */
export const DEFAULT_UNDO_DEPTH = 128
/** Memory the cache of recently used committed state records may take (see committed-cache.ts). */
const COMMITTED_CACHE_BYTES = 16 * 1024 * 1024
const MAX_UNDO_DEPTH = 65_536

/** Options of {@link StateStore.open}. */
export interface StateStoreOptions {
  /** Directory of the LMDB environment (created if missing). */
  path: string
  /** Source of contract secrets: `DevContractSecrets` in development, the KMS-provisioned cluster secret otherwise. */
  secrets: ContractSecrets
  logger?: Logger
  /** Number of most recent blocks that can be rolled back. Default 128. */
  undoDepth?: number
  /** Log entries kept per contract (see logs.ts). Default 10,000. */
  logRetention?: number
}

type Db = Database<Buffer, Buffer>

interface Tables {
  readonly meta: Db
  readonly state: Db
  readonly plain: Db
  readonly receipts: Db
  readonly undo: Db
  readonly logs: Db
}

/**
 * Encrypted state of every contract a worker runs, plus public tables, command receipts, the chain
 * cursor and the state digest. Reads are synchronous; each block is written through a {@link BlockWriter}.
 *
 * @example
 * const store = StateStore.open({ path, secrets: new DevContractSecrets({ devMasterSecret, clusterId: '1' }) })
 * const block = store.beginBlock({ number: 1n, hash, parentHash })
 * block.set('42', 'n', encodeValue(1))
 * const { stateDigest } = block.commit()
 * store.get('42', 'n') // '1'
 */
export class StateStore {
  /** Directory of the LMDB environment. */
  readonly path: string
  /** Number of most recent blocks that `rollbackTo` can undo. */
  readonly undoDepth: number
  readonly #env: RootDatabase<Buffer, Buffer>
  readonly #tables: Tables
  readonly #secrets: ContractSecrets
  readonly #logger: Logger
  readonly #keys = new Map<string, ContractStateKeys>()
  readonly #committed = new CommittedStateCache(COMMITTED_CACHE_BYTES)
  readonly #host: WriterHost
  #cursor: Cursor | undefined
  #lattice: LtHash
  #digest: Hex
  #writer: BlockWriter | undefined
  /**
   * No undo record exists below this block number (undefined: none known yet). Lets a commit prune the
   * records that fall out of the window by key, without a range scan per block.
   */
  #undoFloor: bigint | undefined
  #logs!: ContractLogBook
  #closed = false

  private constructor(
    path: string,
    undoDepth: number,
    env: RootDatabase<Buffer, Buffer>,
    tables: Tables,
    secrets: ContractSecrets,
    logger: Logger,
    cursor: Cursor | undefined,
    lattice: LtHash,
  ) {
    this.path = path
    this.undoDepth = undoDepth
    this.#env = env
    this.#tables = tables
    this.#secrets = secrets
    this.#logger = logger
    this.#cursor = cursor
    this.#lattice = lattice
    this.#digest = lattice.digest()
    this.#host = {
      keysFor: (contractId) => this.#keysFor(contractId),
      committedState: (keys, name) => this.#committedState(keys, name),
      readRaw: (table, key) => this.#table(table).getBinary(key),
      commitBlock: (writeSet) => this.#commitBlock(writeSet),
      release: (writer) => {
        if (this.#writer === writer) this.#writer = undefined
      },
    }
  }

  /** Opens (or creates) the store in `options.path`. */
  static open(options: StateStoreOptions): StateStore {
    const { path, secrets } = options
    if (typeof path !== 'string' || path.length === 0)
      throw new StateArgumentError('path', 'must be a non-empty string')
    if (typeof secrets?.contractSecret !== 'function')
      throw new StateArgumentError('secrets', 'must implement ContractSecrets')
    const undoDepth = options.undoDepth ?? DEFAULT_UNDO_DEPTH
    if (!Number.isSafeInteger(undoDepth) || undoDepth < 1 || undoDepth > MAX_UNDO_DEPTH) {
      throw new StateArgumentError('undoDepth', `must be an integer in 1..${MAX_UNDO_DEPTH}`)
    }
    const logger = (options.logger ?? silentLogger).forComponent('veil:runtime:state')

    const env = openLmdb<Buffer, Buffer>({
      path,
      maxDbs: 8,
      encoding: 'binary',
      keyEncoding: 'binary',
      cache: false,
      compression: false,
      // Security: zero LMDB's page buffers; otherwise freed heap memory (plaintexts, keys) can reach disk.
      noMemInit: false,
      useWritemap: false,
      // One fdatasync per block instead of two: the data pages are synced before the meta page that
      // publishes them is written, but that write is not synced itself (the next commit's sync carries
      // it). Atomicity and consistency are unchanged — a crash, power loss included, leaves a committed
      // block — and a process kill loses nothing (the write is in the OS page cache). Only a power loss
      // can undo the last committed blocks, which the follower re-executes from the chain, the source of
      // truth. (`noSync` would be different: it can corrupt the store on power loss. Never set it.)
      // Measured on the development box: a small commit took 0.5–0.8 ms with both syncs, ≈ 0.3 ms with one.
      noMetaSync: true,
    })
    try {
      const db = (name: string) =>
        env.openDB<Buffer, Buffer>({ name, encoding: 'binary', keyEncoding: 'binary' })
      const tables: Tables = {
        meta: db('meta'),
        state: db('state'),
        plain: db('plain'),
        receipts: db('receipts'),
        undo: db('undo'),
        logs: db('logs'),
      }
      const format = tables.meta.getBinary(META_FORMAT)
      if (format === undefined) {
        const empty = [
          tables.meta,
          tables.state,
          tables.plain,
          tables.receipts,
          tables.undo,
          tables.logs,
        ].every((table) => table.getKeysCount({ limit: 1 }) === 0)
        if (!empty)
          throw new StateFormatError(path, 'the directory holds LMDB data without a Veil format marker')
        const marker = Buffer.alloc(4)
        marker.writeUInt32BE(STORE_FORMAT_VERSION)
        env.transactionSync(() => tables.meta.putSync(META_FORMAT, marker))
      } else if (format.length !== 4 || format.readUInt32BE(0) !== STORE_FORMAT_VERSION) {
        throw new StateFormatError(
          path,
          `format marker ${format.toString('hex')}, expected version ${STORE_FORMAT_VERSION}`,
        )
      }
      const cursorRaw = tables.meta.getBinary(META_CURSOR)
      const latticeRaw = tables.meta.getBinary(META_LATTICE)
      const cursor = cursorRaw === undefined ? undefined : decodeCursor(cursorRaw)
      let lattice = LtHash.empty()
      if (latticeRaw !== undefined) {
        if (latticeRaw.length !== LTHASH_BYTES)
          throw new StateIntegrityError('digest lattice', 'wrong length')
        lattice = LtHash.fromBytes(latticeRaw)
      }
      const store = new StateStore(path, undoDepth, env, tables, secrets, logger, cursor, lattice)
      store.#logs = new ContractLogBook(
        tables.logs,
        (id) => store.#keysFor(id),
        options.logRetention ?? DEFAULT_LOG_RETENTION,
      )
      if (secrets.developmentOnly) {
        logger.warn('state is encrypted with DEVELOPMENT secrets: it is not confidential', { path })
      }
      logger.info('state store opened', {
        path,
        cursor: cursor === undefined ? null : cursor.number.toString(),
        stateDigest: store.#digest,
        undoDepth,
      })
      return store
    } catch (error) {
      void env.close()
      throw error
    }
  }

  /** The last committed block, or `undefined` before the first one. */
  cursor(): Cursor | undefined {
    this.#assertOpen()
    return this.#cursor === undefined ? undefined : { ...this.#cursor }
  }

  /** State digest after the last committed block (`0x`-hex SHA-256 of the lattice hash). */
  stateDigest(): Hex {
    this.#assertOpen()
    return this.#digest
  }

  /** Committed value of `key` in `contractId`'s state (text from `encodeValue`), or `undefined`. */
  get(contractId: string, key: string): string | undefined {
    this.#assertOpen()
    const { value } = this.#committedState(this.#keysFor(contractId), key)
    return value === undefined ? undefined : Buffer.from(value).toString('utf8')
  }

  /** Committed bytes of a public table (e.g. `contracts`, `code`), or `undefined`. */
  getPlain(table: string, key: string): Uint8Array | undefined {
    this.#assertOpen()
    return this.#tables.plain.getBinary(
      plainRecordKey(checkTable(table), checkText('key', key, MAX_PLAIN_KEY_BYTES)),
    )
  }

  /** The committed keys of a public table, in byte order. */
  plainKeys(table: string): string[] {
    this.#assertOpen()
    const start = plainRecordKey(checkTable(table), new Uint8Array(0))
    const end = Buffer.from(start)
    end[end.length - 1] = (end[end.length - 1] ?? 0) + 1 // table names are short ASCII: no carry
    return Array.from(this.#tables.plain.getKeys({ start, end }), (key) =>
      parsePlainRecordKey(key as Buffer).key.toString('utf8'),
    )
  }

  /** The committed receipt of transaction `txHash`, decrypted, or `undefined`. */
  getReceipt(txHash: Hex): { contractId: string; receiptText: string } | undefined {
    this.#assertOpen()
    const hash = checkHash('txHash', txHash)
    const raw = this.#tables.receipts.getBinary(hash)
    if (raw === undefined) return undefined
    const { contractId, text } = openReceipt((id) => this.#keysFor(id), hash, raw)
    return { contractId, receiptText: text.toString('utf8') }
  }

  /**
   * Log entries of `contractId` after sequence number `after`, oldest first (see logs.ts). Entries are
   * this worker's: every worker logs the commands, only the answering worker logs a query.
   */
  readLogs(contractId: string, options: { after?: bigint; limit?: number } = {}): LogRecord[] {
    this.#assertOpen()
    return this.#logs.read(contractId, options)
  }

  /** The sequence number of the newest log entry of `contractId` (0 when it has none). */
  lastLogSeq(contractId: string): bigint {
    this.#assertOpen()
    return this.#logs.lastSeq(contractId)
  }

  /** Appends log entries written outside a block (queries); resolves once they are durable. */
  appendLogs(entries: readonly LogAppend[]): Promise<void> {
    this.#assertOpen()
    return this.#logs.append(entries)
  }

  /**
   * Starts writing `block`. It must extend the cursor: `number = cursor + 1` and `parentHash = cursor hash`
   * (`BlockSequenceError` otherwise); the very first block may have any number. One writer at a time.
   */
  beginBlock(block: BlockHeader): BlockWriter {
    this.#assertOpen()
    if (this.#writer !== undefined)
      throw new BlockInProgressError(this.#writer.block.number, 'begin another block')
    const number = checkBlockNumber('block.number', block?.number)
    const hash = toLowerHex(checkHash('block.hash', block.hash))
    const parentHash = toLowerHex(checkHash('block.parentHash', block.parentHash))
    const cursor = this.#cursor
    if (cursor !== undefined) {
      if (number !== cursor.number + 1n)
        throw new BlockSequenceError('number', `${cursor.number + 1n}`, `${number}`)
      if (parentHash !== cursor.hash) throw new BlockSequenceError('parent', cursor.hash, parentHash)
    }
    const writer = new BlockWriter(this.#host, { number, hash, parentHash }, this.#lattice.clone())
    this.#writer = writer
    return writer
  }

  /**
   * Undoes every committed block above `blockNumber`, newest first, in one transaction. No-op if the
   * cursor is at or below `blockNumber`. Rolling back past the first block ever committed empties the
   * store (cursor `undefined`). Throws {@link RewindTooDeepError}, changing nothing, when the undo log
   * does not reach back far enough.
   */
  rollbackTo(blockNumber: bigint): void {
    this.#assertOpen()
    const target = checkBlockNumber('blockNumber', blockNumber)
    if (this.#writer !== undefined) throw new BlockInProgressError(this.#writer.block.number, 'roll back')
    const cursor = this.#cursor
    if (cursor === undefined || target >= cursor.number) return

    const records: Array<{ number: bigint; record: UndoRecord }> = []
    let reachedGenesis = false
    for (let n = cursor.number; n > target; n--) {
      const raw = this.#tables.undo.getBinary(blockNumberKey(n))
      if (raw === undefined) break
      const record = decodeUndoRecord(raw)
      records.push({ number: n, record })
      if (record.previousCursor === undefined) {
        reachedGenesis = true
        break
      }
    }
    const last = records.at(-1)
    const reached = last === undefined ? cursor.number : last.number - 1n
    if (reached > target && !reachedGenesis) {
      throw new RewindTooDeepError(
        target,
        cursor.number,
        this.#deepestReachable(cursor.number),
        this.undoDepth,
      )
    }
    if (last === undefined) return

    const { previousCursor, previousLattice } = last.record
    const { meta, undo } = this.#tables
    this.#env.transactionSync(() => {
      for (const { number, record } of records) {
        for (const entry of record.entries) {
          const table = this.#table(entry.table)
          if (entry.previous === undefined) table.removeSync(Buffer.from(entry.key))
          else table.putSync(Buffer.from(entry.key), Buffer.from(entry.previous))
        }
        undo.removeSync(blockNumberKey(number))
      }
      if (previousCursor === undefined) meta.removeSync(META_CURSOR)
      else meta.putSync(META_CURSOR, encodeCursor(previousCursor))
      meta.putSync(META_LATTICE, Buffer.from(previousLattice))
    })
    // The cache mirrors committed state, which a rollback rewrote wholesale. The undo floor is re-read
    // at the next commit (after emptying the store, the next first block may have any number).
    this.#committed.clear()
    this.#undoFloor = undefined
    this.#cursor = previousCursor
    this.#lattice = LtHash.fromBytes(previousLattice)
    this.#digest = this.#lattice.digest()
    this.#logger.warn('state rolled back', {
      from: cursor.number.toString(),
      to: previousCursor === undefined ? null : previousCursor.number.toString(),
      blocks: records.length,
      stateDigest: this.#digest,
    })
  }

  /**
   * Recomputes the state digest from scratch: reads and decrypts every record of every table. O(state);
   * for consistency checks (tests, crash recovery, an operator `verify` command). Throws
   * `StateIntegrityError` on any record that fails to open.
   */
  recomputeDigest(): Hex {
    this.#assertOpen()
    const lattice = LtHash.empty()
    for (const { key, value } of this.#tables.state.getRange({})) {
      const { contractId, hkey } = parseStateRecordKey(key)
      const keys = this.#keysFor(contractId)
      lattice.add(ltHashElement(stateElement(keys, hkey, openStateValue(keys, hkey, value))))
    }
    for (const { key, value } of this.#tables.plain.getRange({})) {
      const { table, key: plainKey } = parsePlainRecordKey(key)
      lattice.add(ltHashElement(plainElementInput(table, plainKey, value)))
    }
    for (const { key, value } of this.#tables.receipts.getRange({})) {
      const { contractId, text } = openReceipt((id) => this.#keysFor(id), key, value)
      lattice.add(ltHashElement(receiptElement(this.#keysFor(contractId), key, text)))
    }
    return lattice.digest()
  }

  /** Aborts an open block writer and closes the LMDB environment. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#writer?.abort()
    this.#closed = true
    this.#keys.clear()
    this.#committed.clear()
    await this.#env.close()
    this.#logger.debug('state store closed', { path: this.path })
  }

  #commitBlock({ block, changes, lattice, stateDigest, logs }: BlockWriteSet): void {
    this.#assertOpen()
    const undoRecord = encodeUndoRecord({
      previousCursor: this.#cursor,
      previousLattice: this.#lattice.toBytes(),
      entries: changes.map(({ table, key, previous }) => ({ table, key, previous })),
    })
    const cursor: Cursor = { number: block.number, hash: block.hash }
    const latticeBytes = Buffer.from(lattice.toBytes())
    const pruneBelow = block.number - BigInt(this.undoDepth) + 1n
    // Records below `floor` do not exist, so deleting every number in [floor, pruneBelow) removes exactly
    // the records that fall out of the window (usually one; many after `undoDepth` was lowered).
    let floor = this.#undoFloor ?? this.#oldestUndoRecord() ?? block.number
    if (block.number < floor) floor = block.number
    const { meta, undo } = this.#tables
    this.#env.transactionSync(() => {
      for (const change of changes) {
        const table = this.#table(change.table)
        if (change.raw === undefined) table.removeSync(change.key)
        else table.putSync(change.key, change.raw)
      }
      undo.putSync(blockNumberKey(block.number), undoRecord)
      for (let n = floor; n < pruneBelow; n++) undo.removeSync(blockNumberKey(n))
      meta.putSync(META_CURSOR, encodeCursor(cursor))
      meta.putSync(META_LATTICE, latticeBytes)
      this.#logs.writeSync(logs, Buffer.from(block.hash.slice(2), 'hex'))
    })
    // Memory follows disk only once the transaction is durable.
    for (const { state } of changes) {
      if (state !== undefined) this.#committed.set(state.contractId, state.name, state)
    }
    this.#undoFloor = pruneBelow > floor ? pruneBelow : floor
    this.#cursor = cursor
    this.#lattice = lattice.clone()
    this.#digest = stateDigest
    this.#logger.debug('block committed', {
      block: block.number.toString(),
      changes: changes.length,
      stateDigest: this.#digest,
    })
  }

  /** The lowest block `rollbackTo` can reach: just below the oldest undo record, or the cursor itself. */
  #deepestReachable(cursorNumber: bigint): bigint {
    const oldest = this.#oldestUndoRecord()
    return oldest === undefined ? cursorNumber : oldest - 1n
  }

  /** The block number of the oldest undo record, if any. */
  #oldestUndoRecord(): bigint | undefined {
    for (const key of this.#tables.undo.getKeys({ limit: 1 })) return decodeBlockNumberKey(key)
    return undefined
  }

  /** The committed record of a state key: from the cache, or read, opened and cached. */
  #committedState(keys: ContractStateKeys, name: string): CommittedState {
    const cached = this.#committed.get(keys.contractId, name)
    if (cached !== undefined) return cached
    const hkey = hashStateKey(keys, checkText('key', name))
    const recordKey = stateRecordKey(keys.contractId, hkey)
    const raw = this.#tables.state.getBinary(recordKey)
    const value = raw === undefined ? undefined : openStateValue(keys, hkey, raw)
    const state: CommittedState = { hkey, recordKey, raw, value, element: undefined }
    this.#committed.set(keys.contractId, name, state)
    return state
  }

  #keysFor(contractId: string): ContractStateKeys {
    let keys = this.#keys.get(contractId)
    if (keys === undefined) {
      checkContractId(contractId)
      const secret = this.#secrets.contractSecret(contractId)
      if (!(secret instanceof Uint8Array) || secret.length !== 32) {
        throw new StateArgumentError('secrets', `contractSecret('${contractId}') must return 32 bytes`)
      }
      keys = deriveContractStateKeys(contractId, secret)
      this.#keys.set(contractId, keys)
    }
    return keys
  }

  #table(table: TableId): Db {
    switch (table) {
      case TableId.state:
        return this.#tables.state
      case TableId.plain:
        return this.#tables.plain
      case TableId.receipts:
        return this.#tables.receipts
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StateStoreClosedError()
  }
}

function toLowerHex(bytes: Buffer): Hex {
  return `0x${bytes.toString('hex')}`
}
