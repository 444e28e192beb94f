/**
 * The writes of one block, held in memory until `commit()` turns them into one LMDB transaction.
 *
 * - Read-your-writes: reads see this block's own writes first, then committed state.
 * - Savepoints: every change is journaled (slot, previous value), so a failed command's writes are undone
 *   exactly, digest included, at O(writes undone) cost and no copy per savepoint.
 * - Digest: the lattice is updated on every change (subtract the old value's element, add the new one), so
 *   `digest()` after each command costs one SHA-256 of the vector, whatever the state size.
 * - Values are sealed once, at commit, with the block hash as nonce context (see sealing.ts).
 */
import type { Hex } from '@veil/protocol'
import {
  BlockWriterClosedError,
  InvalidSavepointError,
  StateArgumentError,
  StateStoreError,
} from './errors.js'
import {
  checkContractId,
  checkHash,
  checkTable,
  checkText,
  MAX_PLAIN_KEY_BYTES,
  plainElementInput,
  plainRecordKey,
  TableId,
} from './layout.js'
import { type LogAppend, MAX_LOG_ENTRY_BYTES } from './logs.js'
import { type LtHash, ltHashElement } from './lthash.js'
import {
  decodeReceiptValue,
  encodeReceiptValue,
  openReceipt,
  receiptElement,
  sealReceipt,
  sealStateValue,
  stateElement,
} from './records.js'
import type { ContractStateKeys } from './sealing.js'

/** The block being written. `number`/`hash`/`parentHash` come from the chain follower. */
export interface BlockHeader {
  readonly number: bigint
  readonly hash: Hex
  readonly parentHash: Hex
}

/** One record key changed by a block: new raw bytes (or deletion) and the raw bytes it replaces. */
export interface BlockChange {
  readonly table: TableId
  readonly key: Buffer
  readonly raw: Buffer | undefined
  readonly previous: Buffer | undefined
  /** For state records: what the store's committed-state cache needs once the block is committed. */
  readonly state?: CommittedState & { readonly contractId: string; readonly name: string }
}

/**
 * A state key as committed: its hashed and record keys, the raw sealed bytes and their plaintext
 * (`undefined` if the key has no value), and the lattice element of the plaintext if it was computed.
 * Shared between blocks by the store's cache: never modify the buffers.
 */
export interface CommittedState {
  readonly hkey: Buffer
  readonly recordKey: Buffer
  readonly raw: Buffer | undefined
  readonly value: Uint8Array | undefined
  readonly element: Uint16Array | undefined
}

/** What a writer hands its store to commit. */
export interface BlockWriteSet {
  readonly block: BlockHeader
  readonly changes: readonly BlockChange[]
  readonly lattice: LtHash
  /** `lattice.digest()`, already computed by the writer. */
  readonly stateDigest: Hex
  /** Log entries of the block's invocations, in order (not state: see logs.ts). */
  readonly logs: readonly LogAppend[]
}

/** What a writer needs from its store. Implemented by `StateStore`; not part of the public API. */
export interface WriterHost {
  keysFor(contractId: string): ContractStateKeys
  /** The committed record of state key `name` (validated here) of the contract `keys` belong to. */
  committedState(keys: ContractStateKeys, name: string): CommittedState
  readRaw(table: TableId, key: Buffer): Buffer | undefined
  /** Writes the set in one transaction; throws (having written nothing) on failure. */
  commitBlock(writeSet: BlockWriteSet): void
  /** Frees the store's single writer slot. */
  release(writer: BlockWriter): void
}

/** Opaque handle returned by {@link BlockWriter.savepoint}. */
export class Savepoint {
  readonly #owner: BlockWriter
  readonly #journalLength: number

  /** @internal Created by {@link BlockWriter.savepoint} only. */
  constructor(owner: BlockWriter, journalLength: number) {
    this.#owner = owner
    this.#journalLength = journalLength
  }

  /** @internal */
  get owner(): BlockWriter {
    return this.#owner
  }

  /** @internal */
  get journalLength(): number {
    return this.#journalLength
  }
}

interface SlotBase {
  readonly key: Buffer
  readonly committedRaw: Buffer | undefined
  /** Plaintext of `committedRaw` (for receipts: `encodeReceiptValue`). */
  readonly committed: Uint8Array | undefined
  current: Uint8Array | undefined
  /** The lattice element of `current`, once computed: an overwrite subtracts it without recomputing. */
  currentElement: Uint16Array | undefined
}
interface StateSlot extends SlotBase {
  readonly table: typeof TableId.state
  readonly keys: ContractStateKeys
  readonly hkey: Buffer
  /** The state key as the contract named it. */
  readonly name: string
}
interface PlainSlot extends SlotBase {
  readonly table: typeof TableId.plain
  readonly tableName: string
  readonly plainKey: Buffer
}
interface ReceiptSlot extends SlotBase {
  readonly table: typeof TableId.receipts
  readonly txHash: Buffer
}
type Slot = StateSlot | PlainSlot | ReceiptSlot

interface JournalEntry {
  readonly slot: Slot
  readonly previous: Uint8Array | undefined
  readonly previousElement: Uint16Array | undefined
}

type WriterStatus = 'open' | 'committed' | 'aborted' | 'failed'

/**
 * Writes of one block. Obtain one from `StateStore.beginBlock`; finish it with {@link BlockWriter.commit}
 * or {@link BlockWriter.abort}. Not safe to share between concurrent tasks (commands run one at a time).
 */
export class BlockWriter {
  /** The block this writer builds. */
  readonly block: BlockHeader
  readonly #host: WriterHost
  readonly #lattice: LtHash
  readonly #blockHash: Buffer
  readonly #state = new Map<string, Map<string, StateSlot>>()
  readonly #plain = new Map<string, Map<string, PlainSlot>>()
  readonly #receipts = new Map<string, ReceiptSlot>()
  readonly #journal: JournalEntry[] = []
  readonly #logs: LogAppend[] = []
  readonly #savepoints: Savepoint[] = []
  #status: WriterStatus = 'open'
  #digest: Hex | undefined

  /** @internal Use `StateStore.beginBlock`. `lattice` must be a private copy of the committed lattice. */
  constructor(host: WriterHost, block: BlockHeader, lattice: LtHash) {
    this.#host = host
    this.block = block
    this.#lattice = lattice
    this.#blockHash = Buffer.from(block.hash.slice(2), 'hex')
  }

  /** `open` until committed or aborted; `failed` if a commit threw (nothing was written). */
  get status(): WriterStatus {
    return this.#status
  }

  /** A contract's value as of this block's writes so far (text from `encodeValue`), or `undefined`. */
  get(contractId: string, key: string): string | undefined {
    this.#assertOpen()
    const value = this.#stateSlot(contractId, key).current
    return value === undefined ? undefined : Buffer.from(value).toString('utf8')
  }

  /**
   * Adds a log entry, written with the block. Not state: outside the digest, and kept when the writer
   * rolls back to a savepoint, so a failed command's logs are kept too.
   */
  appendLog(contractId: string, text: string): void {
    this.#assertOpen()
    checkText('log entry', text, MAX_LOG_ENTRY_BYTES)
    this.#logs.push({ contractId: checkContractId(contractId), text })
  }

  /** Sets a contract's value; `valueText` is the canonical text from `encodeValue`. */
  set(contractId: string, key: string, valueText: string): void {
    this.#assertOpen()
    const value = checkText('valueText', valueText)
    this.#assign(this.#stateSlot(contractId, key), value)
  }

  /** Deletes a contract's value; returns whether it existed. */
  delete(contractId: string, key: string): boolean {
    this.#assertOpen()
    const slot = this.#stateSlot(contractId, key)
    const existed = slot.current !== undefined
    this.#assign(slot, undefined)
    return existed
  }

  /** A public-table value as of this block's writes so far (a copy). */
  getPlain(table: string, key: string): Uint8Array | undefined {
    this.#assertOpen()
    const value = this.#plainSlot(table, key).current
    // new Uint8Array(typed array) copies with one memcpy; Uint8Array.from iterates byte by byte.
    return value === undefined ? undefined : new Uint8Array(value)
  }

  /** Whether a public-table key has a value as of this block's writes so far (no copy). */
  hasPlain(table: string, key: string): boolean {
    this.#assertOpen()
    return this.#plainSlot(table, key).current !== undefined
  }

  /** Writes public bytes (contract metadata, code blobs). They are stored in the clear and digested. */
  putPlain(table: string, key: string, value: Uint8Array): void {
    this.#assertOpen()
    if (!(value instanceof Uint8Array)) throw new StateArgumentError('value', 'must be a Uint8Array')
    this.#assign(this.#plainSlot(table, key), new Uint8Array(value))
  }

  /** Deletes a public-table value; returns whether it existed. */
  deletePlain(table: string, key: string): boolean {
    this.#assertOpen()
    const slot = this.#plainSlot(table, key)
    const existed = slot.current !== undefined
    this.#assign(slot, undefined)
    return existed
  }

  /** A command receipt as of this block's writes so far. */
  getReceipt(txHash: Hex): { contractId: string; receiptText: string } | undefined {
    this.#assertOpen()
    const value = this.#receiptSlot(txHash).current
    if (value === undefined) return undefined
    const { contractId, text } = decodeReceiptValue(value)
    return { contractId, receiptText: text.toString('utf8') }
  }

  /** Stores the receipt of transaction `txHash`, sealed under `contractId`'s keys. */
  putReceipt(txHash: Hex, contractId: string, receiptText: string): void {
    this.#assertOpen()
    checkContractId(contractId)
    const text = checkText('receiptText', receiptText)
    this.#assign(this.#receiptSlot(txHash), encodeReceiptValue(contractId, text))
  }

  /** Marks the current position; {@link BlockWriter.rollbackTo} returns to it. Take one per command. */
  savepoint(): Savepoint {
    this.#assertOpen()
    const savepoint = new Savepoint(this, this.#journal.length)
    this.#savepoints.push(savepoint)
    return savepoint
  }

  /**
   * Discards every write made after `savepoint` (a failed command's writes), digest included. The
   * savepoint stays valid; savepoints taken after it become invalid.
   */
  rollbackTo(savepoint: Savepoint): void {
    this.#assertOpen()
    if (!(savepoint instanceof Savepoint) || savepoint.owner !== this) {
      throw new InvalidSavepointError('the savepoint belongs to another block writer')
    }
    const index = this.#savepoints.lastIndexOf(savepoint)
    if (index < 0) throw new InvalidSavepointError('the savepoint was discarded by an earlier rollback')
    this.#savepoints.length = index + 1
    while (this.#journal.length > savepoint.journalLength) {
      const entry = this.#journal.pop()
      if (entry === undefined) break
      this.#apply(entry.slot, entry.previous, entry.previousElement)
    }
  }

  /** State digest including this block's uncommitted writes (for command receipts). */
  digest(): Hex {
    this.#assertOpen()
    this.#digest ??= this.#lattice.digest()
    return this.#digest
  }

  /**
   * Seals every changed record and commits state, public tables, receipts, the undo record, the cursor
   * and the digest in ONE LMDB transaction. On failure nothing is written and the writer is `failed`.
   */
  commit(): { stateDigest: Hex } {
    this.#assertOpen()
    const changes: BlockChange[] = []
    let stateDigest: Hex
    try {
      for (const slots of this.#state.values())
        for (const slot of slots.values()) this.#collect(slot, changes)
      for (const slots of this.#plain.values())
        for (const slot of slots.values()) this.#collect(slot, changes)
      for (const slot of this.#receipts.values()) this.#collect(slot, changes)
      stateDigest = this.digest()
      this.#host.commitBlock({
        block: this.block,
        changes,
        lattice: this.#lattice,
        stateDigest,
        logs: this.#logs,
      })
    } catch (error) {
      this.#close('failed')
      throw new StateStoreError(`commit of block ${this.block.number} failed; nothing was written`, {
        code: 'STATE_COMMIT_FAILED',
        details: error instanceof Error ? error.message : String(error),
        hint: 'the store is still at the previous block: retry the block with a new writer',
        cause: error,
      })
    }
    this.#close('committed')
    return { stateDigest }
  }

  /** Drops every write of this block. The store stays at its cursor. */
  abort(): void {
    if (this.#status !== 'open') return
    this.#close('aborted')
  }

  #close(status: WriterStatus): void {
    this.#status = status
    this.#state.clear()
    this.#plain.clear()
    this.#receipts.clear()
    this.#journal.length = 0
    this.#logs.length = 0
    this.#savepoints.length = 0
    this.#host.release(this)
  }

  #assertOpen(): void {
    if (this.#status !== 'open') throw new BlockWriterClosedError(this.block.number, this.#status)
  }

  #assign(slot: Slot, next: Uint8Array | undefined): void {
    if (sameBytes(slot.current, next)) return
    this.#journal.push({ slot, previous: slot.current, previousElement: slot.currentElement })
    this.#apply(slot, next, undefined)
  }

  /** Makes `next` the slot's value, moving the lattice by its element (given, or computed here). */
  #apply(slot: Slot, next: Uint8Array | undefined, nextElement: Uint16Array | undefined): void {
    if (slot.current !== undefined) {
      this.#lattice.subtract(slot.currentElement ?? this.#element(slot, slot.current))
    }
    const element = next === undefined ? undefined : (nextElement ?? this.#element(slot, next))
    if (element !== undefined) this.#lattice.add(element)
    slot.current = next
    slot.currentElement = element
    this.#digest = undefined
  }

  #element(slot: Slot, value: Uint8Array): Uint16Array {
    switch (slot.table) {
      case TableId.state:
        return ltHashElement(stateElement(slot.keys, slot.hkey, value))
      case TableId.plain:
        return ltHashElement(plainElementInput(slot.tableName, slot.plainKey, value))
      case TableId.receipts: {
        const { contractId, text } = decodeReceiptValue(value)
        return ltHashElement(receiptElement(this.#host.keysFor(contractId), slot.txHash, text))
      }
    }
  }

  #collect(slot: Slot, changes: BlockChange[]): void {
    if (sameBytes(slot.current, slot.committed)) return
    const raw = this.#encode(slot)
    const change: BlockChange = { table: slot.table, key: slot.key, raw, previous: slot.committedRaw }
    if (slot.table === TableId.state) {
      changes.push({
        ...change,
        state: {
          contractId: slot.keys.contractId,
          name: slot.name,
          hkey: slot.hkey,
          recordKey: slot.key,
          raw,
          value: slot.current,
          element: slot.currentElement,
        },
      })
    } else {
      changes.push(change)
    }
  }

  #encode(slot: Slot): Buffer | undefined {
    const value = slot.current
    if (value === undefined) return undefined
    switch (slot.table) {
      case TableId.state:
        return sealStateValue(slot.keys, slot.hkey, value, this.#blockHash)
      case TableId.plain:
        return Buffer.from(value)
      case TableId.receipts: {
        const { contractId, text } = decodeReceiptValue(value)
        return sealReceipt(this.#host.keysFor(contractId), slot.txHash, text, this.#blockHash)
      }
    }
  }

  #stateSlot(contractId: string, key: string): StateSlot {
    let slots = this.#state.get(contractId)
    let slot = slots?.get(key)
    if (slot !== undefined) return slot
    const keys = this.#host.keysFor(checkContractId(contractId))
    const committed = this.#host.committedState(keys, key)
    slot = {
      table: TableId.state,
      key: committed.recordKey,
      keys,
      hkey: committed.hkey,
      name: key,
      committedRaw: committed.raw,
      committed: committed.value,
      current: committed.value,
      currentElement: committed.element,
    }
    if (slots === undefined) {
      slots = new Map()
      this.#state.set(contractId, slots)
    }
    slots.set(key, slot)
    return slot
  }

  #plainSlot(table: string, key: string): PlainSlot {
    let slots = this.#plain.get(table)
    let slot = slots?.get(key)
    if (slot !== undefined) return slot
    const plainKey = checkText('key', key, MAX_PLAIN_KEY_BYTES)
    const recordKey = plainRecordKey(checkTable(table), plainKey)
    const committedRaw = this.#host.readRaw(TableId.plain, recordKey)
    slot = {
      table: TableId.plain,
      key: recordKey,
      tableName: table,
      plainKey,
      committedRaw,
      committed: committedRaw,
      current: committedRaw,
      currentElement: undefined,
    }
    if (slots === undefined) {
      slots = new Map()
      this.#plain.set(table, slots)
    }
    slots.set(key, slot)
    return slot
  }

  #receiptSlot(txHash: Hex): ReceiptSlot {
    const hash = checkHash('txHash', txHash)
    const id = hash.toString('hex')
    let slot = this.#receipts.get(id)
    if (slot !== undefined) return slot
    const committedRaw = this.#host.readRaw(TableId.receipts, hash)
    let committed: Uint8Array | undefined
    if (committedRaw !== undefined) {
      const { contractId, text } = openReceipt((c) => this.#host.keysFor(c), hash, committedRaw)
      committed = encodeReceiptValue(contractId, text)
    }
    slot = {
      table: TableId.receipts,
      key: hash,
      txHash: hash,
      committedRaw,
      committed,
      current: committed,
      currentElement: undefined,
    }
    this.#receipts.set(id, slot)
    return slot
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined || a.length !== b.length) return false
  return Buffer.compare(a, b) === 0
}
