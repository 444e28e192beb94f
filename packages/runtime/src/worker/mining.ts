/**
 * Secure worker mining, the worker's side (docs/mining.md): at start it runs the sandbox benchmark and
 * submits the score from its attested identity; then it sends one heartbeat per epoch, and re-scores
 * every `rescoreEpochs`. Everything it sends is a transaction of the worker's identity account (the
 * operator keeps it funded). Refusals (not bound to a pool, pool under-staked, …) are logged once per
 * epoch and retried the next; they never stop the worker.
 */
import { getMining, type LedgerWalletClient } from '@veil/ledger'
import {
  type Clock,
  errorMessage,
  type Hex,
  type Logger,
  type NetworkMining,
  type Startable,
} from '@veil/protocol'
import type { PublicClient } from 'viem'
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

/** Gas limits of the worker's own mining transactions (measured: well under half of these). */
const HEARTBEAT_GAS = 600_000n
const SCORE_GAS = 200_000n

/** Epochs of refusals in a row after which they are logged as warnings. */
const WARN_AFTER_EPOCHS = 3n

export class MiningService implements Startable {
  readonly #options: MiningServiceOptions
  #timer: ReturnType<typeof setTimeout> | undefined
  #stopped = false
  #tick: Promise<void> | undefined
  #scoredAt: bigint | undefined
  #lastRefusal: string | undefined
  #refusedSince: bigint | undefined
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
    // Mining never keeps a worker from starting: unreadable timing falls back to a look every 10 s.
    const seconds = await this.#options.chain.epochSeconds().catch((error: unknown) => {
      this.#options.logger.warn('mining: cannot read the epoch length', { error: errorMessage(error) })
      return 50
    })
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
      this.#refusedSince = undefined
      logger.debug('mining: heartbeat', { epoch: String(epoch), txHash })
      this.#options.onHeartbeat?.(epoch, txHash)
    } catch (error) {
      this.#refused(epoch, 'heartbeat', error)
    }
  }

  /**
   * Logs a refusal once per epoch and kind: at info while it is new (a worker waits for its pool at
   * first), as a warning once it has lasted `WARN_AFTER_EPOCHS` epochs.
   */
  #refused(epoch: bigint, what: string, error: unknown): void {
    const key = `${epoch}/${what}`
    if (this.#lastRefusal === key) return
    this.#lastRefusal = key
    this.#refusedSince ??= epoch
    const level = epoch - this.#refusedSince >= WARN_AFTER_EPOCHS ? 'warn' : 'info'
    this.#options.logger[level](`mining: ${what} refused (retrying; logged once per epoch)`, {
      epoch: String(epoch),
      error: errorMessage(error).split('\n')[0],
    })
  }
}

/**
 * The mining calls on the real contracts, from the worker's identity account. Each write is simulated
 * first (so a refusal carries its reason) and waits for its receipt.
 */
export function miningChain(
  publicClient: PublicClient,
  walletClient: LedgerWalletClient,
  addresses: NetworkMining,
  self: Hex,
  clock: Clock,
): MiningChain {
  const mining = getMining({ publicClient, walletClient, addresses })
  // The epoch is computed from this worker's clock, not read at the latest block: a chain that mines
  // only on demand (anvil's automine) keeps an old timestamp while idle, and the heartbeat transaction's
  // own block is what the contract judges.
  let timing: Promise<{ genesis: bigint; length: bigint }> | undefined
  const epochTiming = () => {
    timing ??= Promise.all([mining.rewards.read.genesis(), mining.rewards.read.epochLength()])
      .then(([genesis, length]) => ({ genesis: BigInt(genesis), length: BigInt(length) }))
      .catch((error: unknown) => {
        timing = undefined
        throw error
      })
    return timing
  }
  const landed = async (hash: Hex): Promise<Hex> => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 })
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
    return hash
  }
  return {
    epochSeconds: async () => Number((await epochTiming()).length),
    currentEpoch: async () => {
      const { genesis, length } = await epochTiming()
      const now = BigInt(Math.floor(clock.now() / 1000))
      return now <= genesis ? 0n : (now - genesis) / length
    },
    lastHeartbeat: async () => {
      const state = await mining.rewards.read.workerState([self])
      return state.heartbeated ? state.lastHeartbeatEpoch : undefined
    },
    // Sent with a fixed gas limit, without estimating or simulating first: both run at the latest
    // block, whose timestamp (and so epoch) can be stale on an idle chain. A revert is explained from
    // state that does not depend on the block time.
    heartbeat: async () => {
      const hash = await mining.rewards.write.heartbeat({ gas: HEARTBEAT_GAS })
      try {
        return await landed(hash)
      } catch (error) {
        const [pool, , assets, required] = await mining.pools.read.heartbeatInfo([self])
        if (pool === 0) throw new Error('the worker is not bound to a pool (veil pool add-worker)')
        if (assets < required) {
          throw new Error(`pool ${pool} is under-staked: ${assets} of the ${required} wei its workers need`)
        }
        throw error
      }
    },
    submitScore: async (score) => landed(await mining.pools.write.submitScore([score], { gas: SCORE_GAS })),
  }
}
