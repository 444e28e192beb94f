import { randomBytes as nodeRandomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { devMeasurement } from '@veil/ledger'
import {
  type Clock,
  type CommandReceipt,
  errorMessage,
  type Hex,
  type Logger,
  type NetworkFile,
  type Startable,
  silentLogger,
  systemClock,
  VEIL_VERSION,
  VeilError,
} from '@veil/protocol'
import {
  type Account,
  type Chain,
  createPublicClient,
  defineChain,
  http,
  type PublicClient,
  toHex,
} from 'viem'
import { createWorkerApp, type WorkerHealth, type WorkerInfo, type WorkerPhase } from '../api/app.js'
import { type HttpServer, startHttpServer } from '../api/server.js'
import { ViemChainReader } from '../follower/chain.js'
import { EngineRegistry } from '../follower/engines.js'
import { BlockExecutor } from '../follower/executor.js'
import { ChainFollower } from '../follower/follower.js'
import type { ContractEngineOptions } from '../sandbox/index.js'
import { type ContractSecrets, DevContractSecrets, StateStore } from '../state/index.js'
import { DEV_MASTER_SECRET } from './dev.js'
import { loadOrCreateIdentity, type WorkerIdentity } from './identity.js'
import { ensureRegistered } from './registration.js'

export const RUNTIME_VERSION = VEIL_VERSION

export interface WorkerOptions {
  network: NetworkFile
  /** Where the worker keeps its identity and state. */
  dataDir: string
  host?: string
  /** HTTP port; 0 picks a free one. */
  port?: number
  /** The URL registered on the ledger; defaults to the listening address. */
  publicUrl?: string
  /** Pays the worker identity's gas and is recorded as its operator. */
  operator?: Account
  confirmations?: number
  pollIntervalMs?: number
  /** Sandbox limits per invocation kind (defaults: the network's). */
  limits?: ContractEngineOptions['limits']
  /** Blocks the state store can roll back (default 128). */
  undoDepth?: number
  /** Called after every committed block with the state digest (tests, tools). */
  onBlock?: (block: { number: bigint; hash: Hex }, stateDigest: Hex, receipts: CommandReceipt[]) => void
  logger?: Logger
  clock?: Clock
  randomBytes?: (n: number) => Uint8Array
}

/**
 * A Veil worker: its identity, its HTTP API, its registration on the ledger, its encrypted state store
 * and the chain follower that executes its cluster's contracts.
 */
export class Worker implements Startable {
  private readonly options: WorkerOptions
  private readonly log: Logger
  private phase: WorkerPhase = 'starting'
  private failure: { code: string; message: string } | undefined
  private identity: WorkerIdentity | undefined
  private http: HttpServer | undefined
  private store: StateStore | undefined
  private follower: ChainFollower | undefined
  private chainReader: ViemChainReader | undefined
  private engines: EngineRegistry | undefined
  private cluster: bigint | undefined
  private readonly abort = new AbortController()
  private readonly fatal: Promise<Error>
  private onFatal!: (error: Error) => void
  readonly measurement: Hex = devMeasurement(RUNTIME_VERSION)

  constructor(options: WorkerOptions) {
    this.options = options
    this.log = (options.logger ?? silentLogger).forComponent('veil:runtime:worker')
    this.fatal = new Promise((resolve) => {
      this.onFatal = resolve
    })
  }

  /** The listening URL (after `start`). */
  get url(): string {
    if (!this.http) throw new VeilError('the worker is not started', { code: 'NOT_STARTED' })
    return this.http.url
  }

  get address(): Hex {
    if (!this.identity) throw new VeilError('the worker is not started', { code: 'NOT_STARTED' })
    return this.identity.address
  }

  /** Resolves with the error that stopped the worker for good (e.g. a rewind deeper than the undo window). */
  get failed(): Promise<Error> {
    return this.fatal
  }

  /** The chain follower, once following (for tests and tools). */
  get chainFollower(): ChainFollower | undefined {
    return this.follower
  }

  get stateStore(): StateStore | undefined {
    return this.store
  }

  async start(): Promise<void> {
    try {
      await this.startSteps()
    } catch (error) {
      await this.stop()
      throw error
    }
  }

  private async startSteps(): Promise<void> {
    const { network } = this.options
    if (!network.devMode) {
      throw new VeilError(
        'this network is not in development mode, and workers get their keys from a KMS there',
        {
          code: 'KMS_REQUIRED',
          details:
            'until the KMS exists, workers derive contract keys from a publicly known development secret',
          hint: 'run workers against a dev-mode ledger (veil dev)',
        },
      )
    }
    mkdirSync(this.options.dataDir, { recursive: true })
    const random = this.options.randomBytes ?? ((n: number) => new Uint8Array(nodeRandomBytes(n)))
    const identity = loadOrCreateIdentity(this.options.dataDir, random)
    this.identity = identity

    const app = createWorkerApp({ info: () => this.info(), health: () => this.health() })
    this.http = await startHttpServer(app, {
      host: this.options.host ?? '127.0.0.1',
      port: this.options.port ?? 0,
    })
    this.log.info('worker API listening', { url: this.http.url, address: identity.address })

    this.throwIfStopping()
    this.phase = 'registering'
    const chain: Chain = defineChain({
      id: network.chainId,
      name: `veil-${network.chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [network.rpcUrl] } },
    })
    const publicClient = createPublicClient({
      chain,
      transport: http(network.rpcUrl),
      pollingInterval: 100,
    }) as PublicClient
    this.cluster = await ensureRegistered({
      network,
      chain,
      publicClient,
      identity,
      operator: this.options.operator,
      endpoint: this.options.publicUrl ?? this.http.url,
      measurement: this.measurement,
      logger: this.log,
      clock: this.options.clock ?? systemClock,
      signal: this.abort.signal,
    })

    this.throwIfStopping()
    const secrets: ContractSecrets = new DevContractSecrets({
      devMasterSecret: DEV_MASTER_SECRET,
      clusterId: String(this.cluster),
    })
    this.store = StateStore.open({
      path: join(this.options.dataDir, 'state'),
      secrets,
      logger: this.log,
      ...(this.options.undoDepth === undefined ? {} : { undoDepth: this.options.undoDepth }),
    })
    // Per-network limits first (every worker must apply the same to commands), then this worker's overrides.
    const limits = this.options.limits ?? network.limits
    this.engines = new EngineRegistry({ logger: this.log, ...(limits ? { limits } : {}) })
    this.chainReader = new ViemChainReader({
      rpcUrl: network.rpcUrl,
      ...(network.wsUrl ? { wsUrl: network.wsUrl } : {}),
      addresses: network.contracts,
      chain,
    })
    this.follower = new ChainFollower({
      chain: this.chainReader,
      store: this.store,
      executor: new BlockExecutor({
        cluster: String(this.cluster),
        secrets,
        engines: this.engines,
        logger: this.log,
      }),
      startBlock: BigInt(network.deployBlock),
      confirmations: this.options.confirmations ?? 0,
      pollIntervalMs: this.options.pollIntervalMs ?? 500,
      logger: this.log,
      onBlock: (header, receipts) => {
        const store = this.store
        if (store)
          this.options.onBlock?.({ number: header.number, hash: header.hash }, store.stateDigest(), receipts)
      },
      onFatal: (error) => {
        this.phase = 'failed'
        this.failure = {
          code: error instanceof VeilError ? error.code : 'INTERNAL',
          message: errorMessage(error),
        }
        this.onFatal(error)
      },
    })
    this.throwIfStopping()
    await this.follower.start()
    this.phase = 'following'
  }

  private throwIfStopping(): void {
    if (this.abort.signal.aborted)
      throw new VeilError('the worker was stopped while starting', { code: 'CANCELLED' })
  }

  async stop(): Promise<void> {
    if (this.phase !== 'failed') this.phase = 'stopping'
    this.abort.abort()
    const steps: [string, (() => Promise<void>) | undefined][] = [
      ['follower', this.follower ? () => this.follower?.stop() ?? Promise.resolve() : undefined],
      ['http', this.http ? () => this.http?.close() ?? Promise.resolve() : undefined],
      ['chain', this.chainReader ? () => this.chainReader?.close() ?? Promise.resolve() : undefined],
      ['engines', this.engines ? () => this.engines?.dispose() ?? Promise.resolve() : undefined],
      ['store', this.store ? () => this.store?.close() ?? Promise.resolve() : undefined],
    ]
    for (const [name, step] of steps) {
      try {
        await step?.()
      } catch (error) {
        this.log.warn(`stopping ${name} failed`, { error: errorMessage(error) })
      }
    }
    this.follower = undefined
    this.http = undefined
    this.chainReader = undefined
    this.engines = undefined
    this.store = undefined
  }

  info(): WorkerInfo {
    const identity = this.identity
    if (!identity) throw new VeilError('the worker is not started', { code: 'NOT_STARTED' })
    const cursor = this.store?.cursor()
    return {
      version: RUNTIME_VERSION,
      address: identity.address,
      x25519: toHex(identity.x25519PublicKey),
      measurement: this.measurement,
      cluster: this.cluster === undefined ? null : String(this.cluster),
      chain: { block: cursor ? String(cursor.number) : null, hash: cursor?.hash ?? null },
      stateDigest: this.store ? this.store.stateDigest() : null,
    }
  }

  health(): WorkerHealth {
    const follower = this.follower
    const cursor = this.store?.cursor()
    return {
      phase: this.phase,
      ...(follower && this.phase === 'following'
        ? { lagBlocks: Math.max(0, Number(follower.head - (cursor?.number ?? 0n))) }
        : {}),
      ...(this.failure ? { error: this.failure } : {}),
    }
  }
}
