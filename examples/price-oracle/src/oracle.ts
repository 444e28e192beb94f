/**
 * A price oracle as a Veil fat contract. A job fetches a price from several HTTP sources, takes the
 * median of those that answered, and pushes it to a Solidity `PriceFeed` on an EVM chain in a
 * transaction signed with this contract's own key (`ctx.contract.address`, the feed's only updater).
 * `apply` records what happened, in ledger order, on every worker. A timer can repeat it.
 */
import { type Address, defineContract } from '@veil/contract'

/** Where to read a price: a URL, and the dot path of the number in its JSON (`data.amount`). */
export type PriceSource = {
  url: string
  path: string
}

export type OracleConfig = {
  sources: PriceSource[]
  /** The `PriceFeed` contract and the RPC endpoint (by name, from the network file) of its chain. */
  feed: Address
  rpc: string
  /** The feed's decimals: the answer pushed is round(price · 10^decimals). */
  decimals: number
  /** At least this many sources must answer (default: a majority). */
  quorum?: number
  /** Refresh every this many seconds (optional; at least 5). */
  every?: number
}

export type OracleUpdate = {
  price: number
  answer: string
  observedAt: number
  sources: number
  txHash: `0x${string}`
}

/** `update(int256,uint64)` of PriceFeed.sol (its selector is checked against viem in the tests). */
export const UPDATE_SELECTOR = '0x53265ee5'

function word(value: bigint): string {
  return value.toString(16).padStart(64, '0')
}

/** ABI-encodes `update(answer, observedAt)` (positive answer, uint64 time). */
export function encodeUpdate(answer: bigint, observedAt: number): `0x${string}` {
  if (answer <= 0n || answer >= 1n << 255n) throw new RangeError('the answer must be positive')
  return `${UPDATE_SELECTOR}${word(answer)}${word(BigInt(observedAt))}`
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

function pick(value: unknown, path: string): number {
  let current: unknown = value
  for (const key of path.split('.')) current = (current as Record<string, unknown> | null)?.[key]
  const number = typeof current === 'string' ? Number(current) : current
  if (typeof number !== 'number' || !Number.isFinite(number) || number <= 0) {
    throw new Error(`no positive number at ${path}`)
  }
  return number
}

function checkConfig(config: OracleConfig): OracleConfig {
  if (!Array.isArray(config?.sources) || config.sources.length === 0)
    throw new Error('give at least one source')
  for (const source of config.sources) {
    if (typeof source?.url !== 'string' || typeof source.path !== 'string') {
      throw new Error('each source is { url, path }')
    }
  }
  if (typeof config.feed !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(config.feed))
    throw new Error('feed must be an address')
  if (typeof config.rpc !== 'string') throw new Error('rpc must name an endpoint of the network file')
  if (!Number.isInteger(config.decimals) || config.decimals < 0 || config.decimals > 18) {
    throw new Error('decimals must be 0 to 18')
  }
  return config
}

export default defineContract({
  init(ctx, config: OracleConfig) {
    ctx.storage.set('owner', ctx.caller)
    ctx.storage.set('config', checkConfig(config))
    if (config.every !== undefined) ctx.storage.set('timer', ctx.jobs.every(config.every, 'update'))
  },
  commands: {
    /** Queues one update now; returns the job id. */
    refresh(ctx) {
      return ctx.jobs.enqueue('update')
    },
    /** Replaces the configuration (owner only); restarts the timer if `every` is set. */
    configure(ctx, config: OracleConfig) {
      if (ctx.caller.toLowerCase() !== ctx.storage.get<string>('owner')?.toLowerCase()) {
        throw new Error('only the owner can configure the oracle')
      }
      ctx.storage.set('config', checkConfig(config))
      const timer = ctx.storage.get<string>('timer')
      if (timer !== undefined) ctx.jobs.cancel(timer)
      ctx.storage.delete('timer')
      if (config.every !== undefined) ctx.storage.set('timer', ctx.jobs.every(config.every, 'update'))
    },
  },
  queries: {
    /** The last update pushed, the last failure, and the address the feed must accept updates from. */
    latest(ctx) {
      return {
        updater: ctx.contract.address,
        last: ctx.storage.get<OracleUpdate>('last') ?? null,
        lastError: ctx.storage.get<{ code: string; message: string }>('lastError') ?? null,
        updates: ctx.storage.get<number>('updates') ?? 0,
      }
    },
    config(ctx) {
      return ctx.storage.get('config') ?? null
    },
  },
  jobs: {
    update: {
      async run(ctx): Promise<OracleUpdate> {
        const config = ctx.storage.get<OracleConfig>('config') as OracleConfig
        const settled = await Promise.allSettled(
          config.sources.map(async (source) => {
            const response = await ctx.http.fetch(source.url, { headers: { accept: 'application/json' } })
            if (!response.ok) throw new Error(`${source.url} answered ${response.status}`)
            return pick(await response.json(), source.path)
          }),
        )
        const prices = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
        for (const result of settled) if (result.status === 'rejected') ctx.log.warn(String(result.reason))
        const quorum = config.quorum ?? Math.floor(config.sources.length / 2) + 1
        if (prices.length < quorum) {
          throw new Error(
            `only ${prices.length} of ${config.sources.length} sources answered (quorum ${quorum})`,
          )
        }
        const price = median(prices)
        const answer = BigInt(Math.round(price * 10 ** config.decimals))
        const observedAt = Math.floor(Date.now() / 1000)
        const txHash = await ctx.evm.sendTransaction(config.rpc, {
          to: config.feed,
          data: encodeUpdate(answer, observedAt),
        })
        ctx.log(`pushed ${price} from ${prices.length} sources in ${txHash}`)
        return { price, answer: answer.toString(), observedAt, sources: prices.length, txHash }
      },
      apply(ctx, outcome) {
        if (outcome.ok) {
          ctx.storage.set('last', outcome.value)
          ctx.storage.set('updates', (ctx.storage.get<number>('updates') ?? 0) + 1)
          ctx.storage.delete('lastError')
          ctx.emit('updated', outcome.value)
        } else {
          ctx.storage.set('lastError', outcome.error)
        }
      },
    },
  },
})
