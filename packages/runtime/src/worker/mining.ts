/**
 * Secure worker mining, the worker's side (docs/mining.md): at start it runs the sandbox benchmark and
 * submits the score from its attested identity; then it sends one heartbeat per epoch, and re-scores
 * every `rescoreEpochs`. Everything it sends is a transaction of the worker's identity account (the
 * operator keeps it funded). Refusals (not bound to a pool, pool under-staked, …) are logged once per
 * epoch and retried the next; they never stop the worker.
 */
import { errorMessage, type Hex, type Logger, type Startable } from '@veil/protocol'
import type { BenchmarkResult } from './benchmark.js'

/** The on-chain calls the service needs (the worker wires them to the mining contracts). */
export interface MiningChain {
  /** Length of an epoch in seconds. */
  epochSeconds(): Promise<number>
  currentEpoch(): Promise<bigint>
  /** The last epoch this worker heartbeated in, if any. */
  lastHeartbeat(): Promise<bigint | undefined>
  heartbeat(): Promise<Hex>
  submitScore(score: number): Promise<Hex>
}

export interface MiningServiceOptions {
  chain: MiningChain
  benchmark: () => Promise<BenchmarkResult>
  logger: Logger
  /** Re-run the benchmark and submit the score every this many epochs (default 360). */
  rescoreEpochs?: number
  /** Called after each heartbeat that landed (tests, metrics). */
  onHeartbeat?: (epoch: bigint, txHash: Hex) => void
}

export class MiningService implements Startable {
  readonly #options: MiningServiceOptions
  #timer: ReturnType<typeof setTimeout> | undefined
  #stopped = false
  #tick: Promise<void> | undefined
  #scoredAt: bigint | undefined
  #lastRefusal: string | undefined
  #score: number | undefined

  constructor(options: MiningServiceOptions) {
    this.#options = options
  }

  /** The score last submitted. */
  get score(): number | undefined {
    return this.#score
  }

  async start(): Promise<void> {
    this.#stopped = false
    const seconds = await this.#options.chain.epochSeconds()
    // Several looks per epoch: a heartbeat lands early in each epoch even if a look is late.
    const intervalMs = Math.max(500, Math.min(30_000, (seconds * 1000) / 5))
    const loop = () => {
      if (this.#stopped) return
      this.#tick = this.#once().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(loop, intervalMs)
      })
    }
    loop()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    await this.#tick
  }

  async #once(): Promise<void> {
    const { chain, logger } = this.#options
    let epoch: bigint
    try {
      epoch = await chain.currentEpoch()
    } catch (error) {
      logger.warn('mining: cannot read the current epoch', { error: errorMessage(error) })
      return
    }
    const rescore = BigInt(this.#options.rescoreEpochs ?? 360)
    if (this.#scoredAt === undefined || epoch - this.#scoredAt >= rescore) {
      try {
        const result = await this.#options.benchmark()
        await chain.submitScore(result.score)
        this.#scoredAt = epoch
        this.#score = result.score
        logger.info('mining: score submitted', {
          score: result.score,
          roundsPerSecond: result.roundsPerSecond,
        })
      } catch (error) {
        this.#refused(epoch, 'score', error)
        return // heartbeats need a score
      }
    }
    try {
      const last = await chain.lastHeartbeat()
      if (last !== undefined && last >= epoch) return
      const txHash = await chain.heartbeat()
      this.#lastRefusal = undefined
      logger.debug('mining: heartbeat', { epoch: String(epoch), txHash })
      this.#options.onHeartbeat?.(epoch, txHash)
    } catch (error) {
      this.#refused(epoch, 'heartbeat', error)
    }
  }

  /** Logs a refusal once per epoch and kind (a worker not yet bound to a pool would log every look). */
  #refused(epoch: bigint, what: string, error: unknown): void {
    const key = `${epoch}/${what}`
    if (this.#lastRefusal === key) return
    this.#lastRefusal = key
    this.#options.logger.warn(`mining: ${what} refused (retrying; logged once per epoch)`, {
      epoch: String(epoch),
      error: errorMessage(error).split('\n')[0],
    })
  }
}
