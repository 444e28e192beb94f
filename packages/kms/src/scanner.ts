import { errorMessage, type Hex, type Logger, type Startable } from '@veil/protocol'
import type { PublicClient } from 'viem'

export interface LedgerScannerOptions<T> {
  publicClient: PublicClient
  /** First block to read. */
  fromBlock: bigint
  pollIntervalMs: number
  /** Most blocks read in one `read` call (public RPCs cap `eth_getLogs` ranges). Default 5,000. */
  maxBlockRange?: bigint
  logger: Logger
  /** The items (events) of blocks `[fromBlock, toBlock]`, in chain order. */
  read(fromBlock: bigint, toBlock: bigint): Promise<T[]>
  /**
   * Handles one item. Must be idempotent: after a failure or a rewind the same items are handled again.
   * Throwing ends the round without advancing; the range is read again next round.
   */
  handle(item: T): Promise<void>
  /** Runs after every round that reached the head (e.g. re-checks of earlier refusals). */
  afterRound?(): Promise<void>
}

/**
 * Reads a kind of ledger event block range by block range, from a start block to the head and then as
 * new blocks come, and hands each to an idempotent handler. If the chain rewinds under it (a reorg, an
 * `evm_revert`, a devnet restarted from older state), it starts again from the start block: handlers
 * re-check the ledger's current state, so a second pass changes nothing that is already done.
 */
export class LedgerScanner<T> implements Startable {
  private readonly log: Logger
  private readonly range: bigint
  private running = false
  private stopping = false
  private loop: Promise<void> | undefined
  private next: bigint
  /** Hash of block `next - 1` when it was scanned: if it changes, the chain rewound under us. */
  private lastHash: Hex | undefined
  private timer: NodeJS.Timeout | undefined
  private wake: (() => void) | undefined
  private lastError: string | undefined

  constructor(private readonly options: LedgerScannerOptions<T>) {
    this.log = options.logger
    this.next = options.fromBlock
    this.range = options.maxBlockRange ?? 5_000n
    if (this.range < 1n) throw new RangeError('maxBlockRange must be at least 1')
  }

  /** The last block fully handled, or undefined before the first. */
  get scannedTo(): bigint | undefined {
    return this.next > this.options.fromBlock ? this.next - 1n : undefined
  }

  async start(): Promise<void> {
    if (this.running) return
    this.running = true
    this.loop = this.run()
  }

  /** Idempotent; resolves once the current round has ended. */
  async stop(): Promise<void> {
    this.running = false
    this.stopping = true
    clearTimeout(this.timer)
    this.wake?.()
    await this.loop
    this.loop = undefined
  }

  /** One round: reads and handles everything up to the current head. */
  async poll(): Promise<void> {
    const { publicClient } = this.options
    const head = await publicClient.getBlockNumber({ cacheTime: 0 })
    if (this.lastHash !== undefined) {
      const last =
        head >= this.next - 1n ? await publicClient.getBlock({ blockNumber: this.next - 1n }) : undefined
      if (last?.hash !== this.lastHash) this.rewind(`block ${this.next - 1n} changed`)
    }
    while (this.next <= head) {
      const to = head < this.next + this.range - 1n ? head : this.next + this.range - 1n
      const before = (await publicClient.getBlock({ blockNumber: to })).hash
      const items = await this.options.read(this.next, to)
      for (const item of items) {
        if (this.stopping) return
        await this.options.handle(item)
      }
      const after = (await publicClient.getBlock({ blockNumber: to })).hash
      if (before !== after) {
        // The logs may come from the old chain: read the new one from the start.
        this.rewind(`block ${to} changed while it was read`)
        return
      }
      this.next = to + 1n
      this.lastHash = after ?? undefined
    }
    await this.options.afterRound?.()
  }

  private rewind(reason: string): void {
    this.log.info('the chain rewound; reading again from the start block', {
      reason,
      fromBlock: String(this.options.fromBlock),
    })
    this.next = this.options.fromBlock
    this.lastHash = undefined
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.poll()
        if (this.lastError !== undefined) this.log.info('reading the ledger works again')
        this.lastError = undefined
      } catch (error) {
        const message = errorMessage(error)
        // Once per distinct failure: a ledger that stays down must not flood the log.
        if (message !== this.lastError)
          this.log.warn('reading the ledger failed; retrying', { error: message })
        this.lastError = message
      }
      if (!this.running) break
      await new Promise<void>((resolve) => {
        this.wake = resolve
        this.timer = setTimeout(resolve, this.options.pollIntervalMs)
      })
    }
  }
}
