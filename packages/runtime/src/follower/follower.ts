import {
  type Clock,
  type CommandReceipt,
  errorMessage,
  type Logger,
  type Startable,
  systemClock,
  VeilError,
} from '@veil/protocol'
import { RewindTooDeepError, type StateStore } from '../state/index.js'
import type { BlockHeader, ChainReader } from './chain.js'
import { type BlockExecutor, NondeterministicFailure, type PositionedEvent } from './executor.js'

/** Tries at one block before a host-dependent outcome (e.g. a command timeout) is recorded as final. */
const MAX_BLOCK_ATTEMPTS = 3

export interface ChainFollowerOptions {
  chain: ChainReader
  store: StateStore
  executor: BlockExecutor
  /** First block to process when the store is empty (the ledger's deploy block). */
  startBlock: bigint
  /** Blocks to wait before processing one: 0 on the devnet, more on public chains. */
  confirmations?: number
  /** Polling interval when no new-head subscription is available (and as a safety net). */
  pollIntervalMs?: number
  /** Blocks fetched per round trip while catching up. */
  batchSize?: number
  logger: Logger
  clock?: Clock
  /** Called after each block commits, with its receipts. */
  onBlock?: (header: BlockHeader, receipts: CommandReceipt[]) => void
  /** Called once when following stops for good (a rewind deeper than the undo window, a store fault). */
  onFatal?: (error: Error) => void
}

export type FollowerStatus = 'idle' | 'following' | 'stopped' | 'failed'

/**
 * Follows the ledger block by block: waits for confirmations, checks the parent-hash chain, processes
 * every block exactly once and in order (each in one store transaction), rolls back and re-follows when
 * the chain rewinds within the undo window, and stops with a clear error when it rewinds deeper.
 */
export class ChainFollower implements Startable {
  private readonly options: ChainFollowerOptions
  private readonly log: Logger
  private status_: FollowerStatus = 'idle'
  private failure: Error | undefined
  private loop: Promise<void> | undefined
  private wake: (() => void) | undefined
  private pendingWake = false
  private unwatch: (() => void) | undefined
  private headSeen = 0n
  /** Failed attempts at the block after the cursor, for host-dependent failures. */
  private attempts = { block: -1n, count: 0 }

  constructor(options: ChainFollowerOptions) {
    this.options = options
    this.log = options.logger.forComponent('veil:runtime:follower')
  }

  get status(): FollowerStatus {
    return this.status_
  }

  /** The error that stopped the follower, if any. */
  get error(): Error | undefined {
    return this.failure
  }

  /** Highest chain block number seen (for lag metrics). */
  get head(): bigint {
    return this.headSeen
  }

  async start(): Promise<void> {
    if (this.status_ !== 'idle') return
    this.status_ = 'following'
    this.unwatch = this.options.chain.watchHeads(
      () => this.poke(),
      (error) => this.log.warn('new-head subscription failed; polling instead', { error: error.message }),
    )
    this.loop = this.run()
  }

  async stop(): Promise<void> {
    if (this.status_ === 'following') this.status_ = 'stopped'
    this.unwatch?.()
    this.poke()
    await this.loop
  }

  /** Resolves once the store's cursor has reached `block` (or rejects if following fails). */
  async waitForBlock(block: bigint, timeoutMs = 30_000): Promise<void> {
    const deadline = (this.options.clock ?? systemClock).now() + timeoutMs
    for (;;) {
      const cursor = this.options.store.cursor()
      if (cursor && cursor.number >= block) return
      if (this.status_ === 'failed' && this.failure) throw this.failure
      if ((this.options.clock ?? systemClock).now() > deadline) {
        throw new VeilError(`the worker did not reach block ${block} within ${timeoutMs} ms`, {
          code: 'FOLLOW_TIMEOUT',
        })
      }
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  private poke(): void {
    const wake = this.wake
    if (wake) {
      this.wake = undefined
      wake()
    } else {
      this.pendingWake = true
    }
  }

  private async run(): Promise<void> {
    let backoffMs = 100
    while (this.status_ === 'following') {
      try {
        await this.catchUp()
        backoffMs = 100
        await this.sleep(this.options.pollIntervalMs ?? 1_000)
      } catch (error) {
        if (error instanceof RewindTooDeepError) {
          this.fail(error)
          return
        }
        if (this.status_ !== 'following') return
        this.log.warn('following the chain failed; retrying', {
          error: errorMessage(error),
          retryInMs: backoffMs,
        })
        await this.sleep(backoffMs)
        backoffMs = Math.min(backoffMs * 2, 5_000)
      }
    }
  }

  private fail(error: Error): void {
    this.status_ = 'failed'
    this.failure = error
    this.log.error('stopped following the chain', { error: errorMessage(error) })
    this.unwatch?.()
    this.options.onFatal?.(error)
  }

  private sleep(ms: number): Promise<void> {
    if (this.pendingWake) {
      this.pendingWake = false
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined
        resolve()
      }, ms)
      this.wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  /** Processes every confirmed block after the cursor. */
  private async catchUp(): Promise<void> {
    const { chain, store } = this.options
    const confirmations = BigInt(this.options.confirmations ?? 0)
    const head = await chain.headNumber()
    this.headSeen = head
    await this.reconcile(head)
    const target = head - confirmations
    const batch = BigInt(this.options.batchSize ?? 50)
    while (this.status_ === 'following') {
      const cursor = store.cursor()
      const from = cursor ? cursor.number + 1n : this.options.startBlock
      if (from > target) return
      const to = from + batch - 1n < target ? from + batch - 1n : target
      const [headers, events] = await Promise.all([this.headers(from, to), chain.ledgerEvents(from, to)])
      const byBlock = new Map<bigint, PositionedEvent[]>()
      for (const event of events) {
        const n = (event as PositionedEvent & { blockNumber: bigint }).blockNumber
        const list = byBlock.get(n)
        if (list) list.push(event)
        else byBlock.set(n, [event])
      }
      for (const header of headers) {
        if (this.status_ !== 'following') return
        const current = store.cursor()
        if (current && header.parentHash !== current.hash) {
          // The chain changed under us between reads: reconcile from the top on the next round.
          this.log.info('parent hash mismatch; re-checking for a rewind', { block: header.number })
          return
        }
        // Logs must belong to this very block: a rewind between the two reads would mix chains.
        const blockEvents = byBlock.get(header.number) ?? []
        if (blockEvents.some((e) => (e as { blockHash?: string }).blockHash !== header.hash)) return
        await this.processBlock(header, blockEvents)
      }
    }
  }

  private async headers(from: bigint, to: bigint): Promise<BlockHeader[]> {
    const numbers: bigint[] = []
    for (let n = from; n <= to; n++) numbers.push(n)
    return Promise.all(numbers.map((n) => this.options.chain.header(n)))
  }

  private async processBlock(header: BlockHeader, events: PositionedEvent[]): Promise<void> {
    const writer = this.options.store.beginBlock({
      number: header.number,
      hash: header.hash,
      parentHash: header.parentHash,
    })
    if (this.attempts.block !== header.number) this.attempts = { block: header.number, count: 0 }
    const finalAttempt = this.attempts.count >= MAX_BLOCK_ATTEMPTS - 1
    let receipts: CommandReceipt[]
    try {
      receipts = await this.options.executor.execute(header, events, writer, { finalAttempt })
      writer.commit()
    } catch (error) {
      writer.abort()
      if (error instanceof NondeterministicFailure) this.attempts.count++
      throw error
    }
    this.options.onBlock?.(header, receipts)
  }

  /**
   * Makes sure the cursor is on the chain: while the chain's block at the cursor height has another hash
   * (or the chain is shorter than the cursor), undo the cursor block. The store refuses to undo past its
   * window with `RewindTooDeepError`, which stops the follower.
   */
  private async reconcile(head: bigint): Promise<void> {
    const { store, chain } = this.options
    for (;;) {
      const cursor = store.cursor()
      if (!cursor || cursor.number < this.options.startBlock) return
      if (cursor.number <= head) {
        const onChain = await chain.header(cursor.number)
        if (onChain.hash === cursor.hash) return
      }
      this.log.warn('the chain rewound; rolling back a block', { block: cursor.number })
      store.rollbackTo(cursor.number - 1n)
    }
  }
}
