/**
 * A bounded cache of committed state records, so that a key a block reads or overwrites again after a
 * recent block costs no key HMAC, no LMDB read, no AES-GCM open and no lattice expansion of its old value.
 *
 * Soundness rests on the store's single-writer invariant: committed state changes only in
 * `StateStore.#commitBlock` (which updates every state record it writes here, after the transaction
 * succeeded) and in `StateStore.rollbackTo` (which clears the cache). An entry therefore always equals
 * what a read from LMDB would return, absence ("no value") included.
 *
 * Confidentiality: entries hold plaintext values in worker memory, as the block writer already does
 * while a block executes; nothing here reaches the disk.
 */
import type { CommittedState } from './writer.js'

/** Values larger than this are not cached (one large value would evict many small ones). */
const MAX_CACHED_VALUE_BYTES = 64 * 1024
/** Rough fixed cost of one entry besides its buffers (keys, object headers). */
const ENTRY_OVERHEAD_BYTES = 256
const ELEMENT_BYTES = 2048

export class CommittedStateCache {
  readonly #entries = new Map<string, { state: CommittedState; bytes: number }>()
  #bytes = 0

  /** @param budgetBytes upper bound of the memory the entries account for */
  constructor(private readonly budgetBytes: number) {}

  /** The entry of `name` in `contractId`, marked as most recently used. */
  get(contractId: string, name: string): CommittedState | undefined {
    const id = cacheKey(contractId, name)
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    // Map iteration follows insertion order: re-inserting makes the entry the newest.
    this.#entries.delete(id)
    this.#entries.set(id, entry)
    return entry.state
  }

  /** Records the committed state of a key (replacing any entry), evicting the least recently used. */
  set(contractId: string, name: string, state: CommittedState): void {
    const id = cacheKey(contractId, name)
    this.delete(contractId, name)
    const valueBytes = state.value?.length ?? 0
    if (valueBytes > MAX_CACHED_VALUE_BYTES) return
    const bytes =
      ENTRY_OVERHEAD_BYTES +
      name.length * 2 +
      valueBytes +
      (state.raw?.length ?? 0) +
      (state.element === undefined ? 0 : ELEMENT_BYTES)
    this.#entries.set(id, { state, bytes })
    this.#bytes += bytes
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.budgetBytes) break
      this.#entries.delete(oldest)
      this.#bytes -= entry.bytes
    }
  }

  delete(contractId: string, name: string): void {
    const id = cacheKey(contractId, name)
    const entry = this.#entries.get(id)
    if (entry === undefined) return
    this.#entries.delete(id)
    this.#bytes -= entry.bytes
  }

  clear(): void {
    this.#entries.clear()
    this.#bytes = 0
  }

  /** Number of entries (for tests). */
  get size(): number {
    return this.#entries.size
  }
}

/** Contract ids are printable ASCII, so NUL cannot occur in them and the pair is unambiguous. */
function cacheKey(contractId: string, name: string): string {
  return `${contractId}\0${name}`
}
