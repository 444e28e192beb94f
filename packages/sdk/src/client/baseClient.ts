import { type HpkeSuite, webHpke } from '@veil/crypto/web'
import {
  type Clock,
  type Hex,
  type LedgerAddresses,
  type Logger,
  type NetworkFile,
  silentLogger,
  systemClock,
} from '@veil/protocol'
import { type Account, type Chain, type Client, createClient, defineChain, http, type Transport } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { getChainId as readChainId } from 'viem/actions'
import { ClientConfigError } from '../errors.js'
import type { FetchFn } from '../workers/http.js'
import type { WorkerPool } from '../workers/pool.js'
import type { VerifyWorker } from '../workers/types.js'
import { defaultVerifyWorker } from '../workers/verifyWorker.js'

/** The part of the WebSocket API the SDK uses (the browser's, or `ws` in Node). */
export interface WebSocketLike {
  readonly readyState: number
  close(code?: number, reason?: string): void
  addEventListener(
    type: 'open' | 'close' | 'error' | 'message',
    listener: (event: { data?: unknown; message?: unknown }) => void,
  ): void
}

export type WebSocketConstructor = new (url: string) => WebSocketLike

export interface CreateClientParameters {
  /** A network file (e.g. `.veil/network.json`): RPC URL, chain id, ledger addresses. */
  network?: NetworkFile | undefined
  /** The chain's JSON-RPC URL, when no `network` is given. */
  rpcUrl?: string | undefined
  /** The chain id; read from the RPC when neither it nor `network` is given. */
  chainId?: number | undefined
  /** Ledger contract addresses, when no `network` is given. */
  addresses?: LedgerAddresses | undefined
  /** A viem transport for the chain instead of `http(rpcUrl)`, e.g. `custom(window.ethereum)`. */
  transport?: Transport | undefined
  /** Sends commands and deploys, signs query auth. A viem Account or a private key; read-only without. */
  account?: Account | Hex | undefined
  /** The attestation check run once per worker before use (default: `defaultVerifyWorker`). */
  verifyWorker?: VerifyWorker | undefined
  /** `fetch` for worker requests (default: the global one). */
  fetch?: FetchFn | undefined
  /** WebSocket constructor for event subscriptions (default: the global one; the Node entry uses `ws`). */
  WebSocket?: WebSocketConstructor | undefined
  /** HPKE implementation (default: `webHpke` on WebCrypto; the Node entry uses `nodeHpke`). */
  hpke?: HpkeSuite | undefined
  clock?: Clock | undefined
  /** Secure random bytes (default: `crypto.getRandomValues`). */
  randomBytes?: ((length: number) => Uint8Array) | undefined
  /** Timeout of one worker request (default 10 s). */
  requestTimeoutMs?: number | undefined
  /** How long a command waits for its receipt from the workers (default 60 s). */
  receiptTimeoutMs?: number | undefined
  /** How long a command waits for the contract's key to be published (default 30 s). */
  keyTimeoutMs?: number | undefined
  /** Poll interval for transaction receipts, receipts and keys (default 200 ms). */
  pollingIntervalMs?: number | undefined
  /** How long the list of a cluster's workers is reused (default 30 s). */
  workerRefreshMs?: number | undefined
  logger?: Logger | undefined
}

/** Resolved settings every action reads. */
export interface ClientConfig {
  fetch: FetchFn
  WebSocket: WebSocketConstructor | undefined
  hpke: HpkeSuite
  clock: Clock
  randomBytes: (length: number) => Uint8Array
  verifyWorker: VerifyWorker
  requestTimeoutMs: number
  receiptTimeoutMs: number
  keyTimeoutMs: number
  pollingIntervalMs: number
  workerRefreshMs: number
  logger: Logger
}

/** Per-client caches: contracts' clusters and keys, and one worker pool per cluster. */
export interface ClientCache {
  contracts: Map<bigint, { cluster: bigint; x25519PublicKey?: Uint8Array }>
  pools: Map<bigint, WorkerPool>
  /** Serializes transaction submission from this client's account (nonces). */
  submitting: Promise<unknown>
}

/**
 * What every SDK action receives: the chain clients, the account, the ledger addresses and the
 * settings. `createClient` returns this with the actions bound onto it.
 */
export interface VeilBaseClient {
  readonly account: Account | undefined
  readonly addresses: LedgerAddresses
  /**
   * The viem client for the chain (with the account, if any). Undecorated, so bundles carry only the
   * actions the SDK uses; call any viem action on it: `getBlockNumber(client.chainClient)`.
   */
  readonly chainClient: Client<Transport, Chain | undefined, Account | undefined>
  readonly config: ClientConfig
  /** @internal */
  readonly cache: ClientCache
  /** The chain id (from the network file or parameters, else read once from the RPC). */
  getChainId(): Promise<number>
  /** A viem chain for transactions. */
  getChain(): Promise<Chain>
}

/** Builds the base client; `createClient` adds the actions. */
export function createBaseClient(params: CreateClientParameters): VeilBaseClient {
  const network = params.network
  const rpcUrl = params.rpcUrl ?? network?.rpcUrl
  const addresses = params.addresses ?? network?.contracts
  if (!addresses) {
    throw new ClientConfigError('the client needs the ledger addresses', {
      hint: 'pass `network` (a network.json) or `addresses` ({ registry, contracts, commands })',
    })
  }
  if (!params.transport && !rpcUrl) {
    throw new ClientConfigError('the client needs a chain RPC', {
      hint: 'pass `network` (a network.json), `rpcUrl`, or a viem `transport`',
    })
  }
  const knownChainId = params.chainId ?? network?.chainId
  const makeChain = (id: number): Chain =>
    defineChain({
      id,
      name: `veil-${id}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: rpcUrl ? [rpcUrl] : [] } },
    })
  const transport = params.transport ?? http(rpcUrl, { batch: { wait: 0 } })
  const pollingInterval = params.pollingIntervalMs ?? 200
  const chain = knownChainId === undefined ? undefined : makeChain(knownChainId)
  const account = toAccount(params.account)
  const chainClient: Client<Transport, Chain | undefined, Account | undefined> = createClient({
    transport,
    pollingInterval,
    ...(chain ? { chain } : {}),
    ...(account ? { account } : {}),
  })

  let chainId: Promise<number> | undefined =
    knownChainId === undefined ? undefined : Promise.resolve(knownChainId)
  const getChainId = () => {
    chainId ??= readChainId(chainClient).catch((error: unknown) => {
      chainId = undefined
      throw error
    })
    return chainId
  }
  const fetchFn: FetchFn | undefined =
    params.fetch ?? (typeof fetch === 'function' ? (input, init) => fetch(input, init) : undefined)
  if (!fetchFn) throw new ClientConfigError('no fetch available', { hint: 'pass `fetch` to createClient' })
  const globalWebSocket = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  return {
    account,
    addresses,
    chainClient,
    config: {
      fetch: fetchFn,
      WebSocket: params.WebSocket ?? globalWebSocket,
      hpke: params.hpke ?? webHpke,
      clock: params.clock ?? systemClock,
      randomBytes: params.randomBytes ?? defaultRandomBytes,
      verifyWorker: params.verifyWorker ?? defaultVerifyWorker,
      requestTimeoutMs: params.requestTimeoutMs ?? 10_000,
      receiptTimeoutMs: params.receiptTimeoutMs ?? 60_000,
      keyTimeoutMs: params.keyTimeoutMs ?? 30_000,
      pollingIntervalMs: pollingInterval,
      workerRefreshMs: params.workerRefreshMs ?? 30_000,
      logger: (params.logger ?? silentLogger).forComponent('veil:sdk'),
    },
    cache: { contracts: new Map(), pools: new Map(), submitting: Promise.resolve() },
    getChainId,
    getChain: async () => chain ?? makeChain(await getChainId()),
  }
}

function toAccount(account: Account | Hex | undefined): Account | undefined {
  if (account === undefined) return undefined
  if (typeof account !== 'string') return account
  if (!/^0x[0-9a-fA-F]{64}$/.test(account)) {
    throw new ClientConfigError('`account` is not a private key', {
      details: 'expected a 0x-prefixed 32-byte hex string, or a viem Account',
    })
  }
  return privateKeyToAccount(account)
}

function defaultRandomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  globalThis.crypto.getRandomValues(bytes)
  return bytes
}
