import { decodeLedgerLogs } from '@veil/ledger'
import type { Hex, LedgerAddresses } from '@veil/protocol'
import { type Chain, createPublicClient, http, type PublicClient, type Transport, webSocket } from 'viem'
import type { PositionedEvent } from './executor.js'

export interface BlockHeader {
  number: bigint
  hash: Hex
  parentHash: Hex
  timestamp: bigint
}

/** What the follower needs from a chain. A seam for tests and for other transports. */
export interface ChainReader {
  headNumber(): Promise<bigint>
  header(number: bigint): Promise<BlockHeader>
  /** Ledger events in [from, to], sorted by (block, log index). */
  ledgerEvents(from: bigint, to: bigint): Promise<PositionedEvent[]>
  /** Calls `onHead` when a new block appears (WebSocket subscription); returns an unsubscribe function. */
  watchHeads(onHead: () => void, onError: (error: Error) => void): () => void
  close(): Promise<void>
}

export interface ViemChainReaderOptions {
  rpcUrl: string
  /** WebSocket endpoint for new-head subscriptions; without it the follower polls. */
  wsUrl?: string
  addresses: LedgerAddresses
  /** The Billing contract, whose events are replayed with the ledger's (network `mining.billing`). */
  billing?: Hex
  chain?: Chain
}

/** A `ChainReader` over viem: HTTP with JSON-RPC batching for reads, WebSocket for new heads. */
export class ViemChainReader implements ChainReader {
  private readonly client: PublicClient
  private readonly ws: PublicClient<Transport> | undefined
  private readonly addresses: Hex[]

  constructor(options: ViemChainReaderOptions) {
    this.client = createPublicClient({
      ...(options.chain ? { chain: options.chain } : {}),
      transport: http(options.rpcUrl, { batch: { batchSize: 100, wait: 0 }, retryCount: 2 }),
    }) as PublicClient
    this.ws = options.wsUrl
      ? (createPublicClient({
          transport: webSocket(options.wsUrl, { retryCount: 3 }),
        }) as PublicClient<Transport>)
      : undefined
    this.addresses = [options.addresses.registry, options.addresses.contracts, options.addresses.commands]
    if (options.billing) this.addresses.push(options.billing)
  }

  headNumber(): Promise<bigint> {
    return this.client.getBlockNumber({ cacheTime: 0 })
  }

  async header(number: bigint): Promise<BlockHeader> {
    const block = await this.client.getBlock({ blockNumber: number })
    if (block.hash === null) throw new Error(`block ${number} is pending`)
    return { number, hash: block.hash, parentHash: block.parentHash, timestamp: block.timestamp }
  }

  async ledgerEvents(from: bigint, to: bigint): Promise<PositionedEvent[]> {
    const logs = await this.client.getLogs({ address: this.addresses, fromBlock: from, toBlock: to })
    const events = decodeLedgerLogs(logs).map((event) => {
      if (event.transactionHash === null || event.logIndex === null || event.blockNumber === null) {
        throw new Error('the node returned a pending log')
      }
      return event as PositionedEvent & { blockNumber: bigint }
    })
    events.sort((a, b) =>
      a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
    )
    return events
  }

  watchHeads(onHead: () => void, onError: (error: Error) => void): () => void {
    if (!this.ws) return () => {}
    return this.ws.watchBlockNumber({ onBlockNumber: () => onHead(), onError, emitMissed: false })
  }

  async close(): Promise<void> {
    const transport = this.ws?.transport as { getRpcClient?: () => Promise<{ close(): void }> } | undefined
    try {
      const rpc = await transport?.getRpcClient?.()
      rpc?.close()
    } catch {
      // already closed
    }
  }
}
