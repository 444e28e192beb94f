import { randomBytes as nodeRandomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import {
  createSimulatedTee,
  quoteMeasurement,
  reportDataFromHash,
  SealedFiles,
  type TeeProvider,
  veilCodeMeasurement,
} from '@veil/attestation'
import { deriveContractKeys, keccakReady } from '@veil/crypto'
import { getLedger, reportData } from '@veil/ledger'
import {
  bytesToBase64url,
  type Clock,
  type CommandReceipt,
  decodeValue,
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
  createWalletClient,
  defineChain,
  hexToBytes,
  http,
  type PublicClient,
  toHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  createWorkerApp,
  type WorkerApiSource,
  type WorkerHealth,
  type WorkerInfo,
  type WorkerPhase,
} from '../api/app.js'
import { createNodeQueryCrypto } from '../api/crypto.js'
import { ApiError } from '../api/errors.js'
import { EventHub } from '../api/events.js'
import { Limiter } from '../api/limiter.js'
import { WorkerMetrics } from '../api/metrics.js'
import { OpenThread } from '../api/open-thread.js'
import { type QueryCrypto, QueryService } from '../api/query.js'
import { createQueryRoute } from '../api/query-route.js'
import { openOnEventLoop } from '../api/request-opener.js'
import { type HttpServer, startHttpServer } from '../api/server.js'
import { attachEventSockets } from '../api/sockets.js'
import { UsageMeter } from '../api/usage.js'
import { receiptsView, tagged } from '../api/views.js'
import { Egress } from '../egress/index.js'
import { billedContracts, readAccount } from '../follower/billing.js'
import { ViemChainReader } from '../follower/chain.js'
import { CODE_TABLE, CONTRACTS_TABLE, decodeContractRecord } from '../follower/contracts.js'
import { EngineRegistry } from '../follower/engines.js'
import { BlockExecutor } from '../follower/executor.js'
import { ChainFollower } from '../follower/follower.js'
import { SealedCommandOpener } from '../follower/opener.js'
import { EvmEndpoints } from '../offchain/evm.js'
import type { OffChainServices } from '../offchain/host.js'
import type { ContractEngineOptions } from '../sandbox/index.js'
import { systemRandom } from '../sandbox/random.js'
import { ClusterContractSecrets, ContractKeyring, type ContractSecrets, StateStore } from '../state/index.js'
import { runBenchmark } from './benchmark.js'
import { loadOrCreateIdentity, type WorkerIdentity } from './identity.js'
import { JobRunner } from './job-runner.js'
import { MiningService, miningChain } from './mining.js'
import { obtainClusterSecret } from './provisioning.js'
import { ensureRegistered } from './registration.js'
import { billingChain, UsageClaimer } from './usage-claims.js'

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
  /**
   * The TEE this worker runs in: quotes, and the key its secrets are sealed under. Default: the
   * simulated TEE (development only; a production ledger refuses it), measuring this checkout's code.
   */
  tee?: TeeProvider
  /** Intel collateral sent with a hardware quote when provisioning (simulated quotes need none). */
  collateral?: () => Promise<unknown>
  /** The primitives for sealed queries and commands (default: node:crypto and noble). */
  queryCrypto?: QueryCrypto
  /**
   * Open sealed queries on a second thread (default true, unless `queryCrypto` is given), beside the
   * event loop; `false` opens them on the event loop. Same bytes either way.
   */
  openThread?: boolean
  /**
   * `host[:port]` entries contracts may reach even though they resolve to private addresses (a local
   * test server, an internal API). Everything else non-public is refused (docs/interop.md).
   */
  egressAllow?: readonly string[]
  /** Named EVM RPC endpoints for `ctx.evm`, added to (and overriding) the network file's `rpc`. */
  rpc?: Readonly<Record<string, string>>
  /** How long a worker waits for the one before it to land a job's outcome (default 20 s). */
  jobTakeoverMs?: number
  /**
   * Mining (when the network file names the mining contracts): score at start and every
   * `rescoreEpochs`, one heartbeat per epoch, and (with billing) a usage claim per contract every
   * `usageClaimIntervalMs` (default: one epoch). `false` turns it off.
   */
  mining?: false | { rescoreEpochs?: number; usageClaimIntervalMs?: number }
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
  /** Contracts' own keys, shared by commands and queries (one derivation per contract). */
  private contractKeys: ContractKeyring | undefined
  private follower: ChainFollower | undefined
  private chainReader: ViemChainReader | undefined
  private engines: EngineRegistry | undefined
  private cluster: bigint | undefined
  private jobs: JobRunner | undefined
  private mining: MiningService | undefined
  /** Query usage not claimed yet (networks with billing). */
  private readonly usage = new UsageMeter()
  private usageClaims: UsageClaimer | undefined
  private offChain: OffChainServices | undefined
  private readonly abort = new AbortController()
  private readonly metrics = new WorkerMetrics()
  private readonly events = new EventHub()
  private readonly limiter = new Limiter(64, 256)
  private detachSockets: (() => void) | undefined
  private crypto: (QueryCrypto & { dispose?(): void }) | undefined
  /** Started with the identity, awaited before the first query (docs/architecture.md: the query path). */
  private openThread: Promise<OpenThread | undefined> | undefined
  private opener: OpenThread | undefined
  private queries: QueryService | undefined
  private readonly fatal: Promise<Error>
  private onFatal!: (error: Error) => void
  private quote: Uint8Array | undefined
  private teeKind: TeeProvider['kind'] | undefined
  /** The measurement this worker registers (known once started). */
  measurement: Hex | undefined

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
    const tee =
      this.options.tee ??
      createSimulatedTee({ measurement: hexToBytes(veilCodeMeasurement('worker', RUNTIME_VERSION)) })
    this.teeKind = tee.kind
    if (tee.kind === 'simulated' && !network.devMode) {
      throw new VeilError('the simulated TEE cannot join a production network', {
        code: 'SIMULATED_TEE_REFUSED',
        details: 'its quotes are signed by a public development key; the ledger is not in dev mode',
        hint: 'run the worker in an Intel TDX confidential VM with --tee tdx (docs/trust.md)',
      })
    }
    const kms = network.kms
    if (!kms) {
      throw new VeilError('the network file names no KMS, and workers get their keys from it', {
        code: 'KMS_REQUIRED',
        hint: 'add "kms": { "url": … } to network.json (veil dev writes it)',
      })
    }
    mkdirSync(this.options.dataDir, { recursive: true })
    // Answers hash four times each: serve them on the WebAssembly keccak, not on its fallback.
    await keccakReady
    const random = this.options.randomBytes ?? ((n: number) => new Uint8Array(nodeRandomBytes(n)))
    const sealed = new SealedFiles(tee)
    const identity = await loadOrCreateIdentity(this.options.dataDir, random, sealed)
    this.identity = identity
    // Bundles and starts while the worker registers and is provisioned.
    this.openThread = this.startOpenThread(identity)
    const binding = reportData(
      identity.address,
      identity.x25519PublicKey,
      network.chainId,
      network.contracts.registry,
    )
    const quote = await tee.getQuote(reportDataFromHash(hexToBytes(binding)))
    this.quote = quote
    this.measurement = quoteMeasurement(quote)

    const api: WorkerApiSource = {
      info: () => this.info(),
      health: () => this.health(),
      receipts: (txHash) => this.receiptsOf(txHash),
      contract: (id) => this.describeContract(id),
      metrics: this.metrics,
      limiter: this.limiter,
      query: (body: unknown) => this.answer(body),
    }
    this.http = await startHttpServer(createWorkerApp(api), {
      host: this.options.host ?? '127.0.0.1',
      port: this.options.port ?? 0,
      routes: [createQueryRoute(api)],
    })
    this.detachSockets = attachEventSockets(this.http.server, this.events, (id) =>
      Boolean(this.store?.getPlain(CONTRACTS_TABLE, id)),
    )
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
      quote,
      logger: this.log,
      clock: this.options.clock ?? systemClock,
      signal: this.abort.signal,
    })

    this.throwIfStopping()
    const registry = getLedger({ publicClient, addresses: network.contracts }).registry
    const clusterSecret = await obtainClusterSecret({
      kmsUrl: kms.url,
      identity,
      cluster: this.cluster,
      quote,
      collateral: this.options.collateral ? await this.options.collateral() : null,
      chainId: network.chainId,
      registry: network.contracts.registry,
      isKmsSigner: (address) => registry.read.isKmsSigner([address]),
      dataDir: this.options.dataDir,
      sealed,
      logger: this.log,
      signal: this.abort.signal,
    })
    this.throwIfStopping()
    // Before anything can answer a query (queries need the contract keys below).
    this.opener = await this.openThread
    this.throwIfStopping()
    const secrets: ContractSecrets = new ClusterContractSecrets(clusterSecret)
    const contractKeys = new ContractKeyring(secrets)
    this.contractKeys = contractKeys
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
      ...(network.mining?.billing ? { billing: network.mining.billing } : {}),
      chain,
    })
    this.follower = new ChainFollower({
      chain: this.chainReader,
      store: this.store,
      executor: new BlockExecutor({
        cluster: String(this.cluster),
        secrets,
        keys: contractKeys,
        engines: this.engines,
        logger: this.log,
        ...(limits?.command?.fuel !== undefined ? { commandFuelLimit: limits.command.fuel } : {}),
        opener: new SealedCommandOpener({
          crypto: this.cryptoFor(identity),
          chainId: network.chainId,
          contractsAddress: network.contracts.contracts,
          secrets,
        }),
      }),
      startBlock: BigInt(network.deployBlock),
      confirmations: this.options.confirmations ?? 0,
      pollIntervalMs: this.options.pollIntervalMs ?? 500,
      logger: this.log,
      onBlock: (header, receipts) => this.afterBlock(header, receipts),
      onFatal: (error) => {
        this.phase = 'failed'
        this.failure = {
          code: error instanceof VeilError ? error.code : 'INTERNAL',
          message: errorMessage(error),
        }
        this.onFatal(error)
      },
    })
    this.offChain = {
      egress: new Egress({
        allow: this.options.egressAllow ?? [],
        ...(network.egress ? { limits: network.egress } : {}),
      }),
      evm: new EvmEndpoints({ ...(network.rpc ?? {}), ...(this.options.rpc ?? {}) }),
      signingKeyFor: (contractId) => deriveContractKeys(secrets.contractSecret(contractId)).signingKey,
    }
    const cluster = this.cluster
    let members: { at: number; list: readonly Hex[] } | undefined
    const clock = this.options.clock ?? systemClock
    const identityWallet = createWalletClient({
      account: privateKeyToAccount(toHex(identity.signingKey)),
      chain,
      transport: http(network.rpcUrl),
    })
    const ledger = getLedger({ publicClient, walletClient: identityWallet, addresses: network.contracts })
    this.jobs = new JobRunner({
      store: () => this.store,
      engines: () => this.engines,
      secrets,
      keys: contractKeys,
      offChain: this.offChain,
      self: identity.address,
      members: async () => {
        if (!members || clock.now() - members.at > 5_000) {
          members = { at: clock.now(), list: await ledger.registry.read.clusterMembers([cluster]) }
        }
        return members.list
      },
      submit: (contractId, payload) => ledger.commands.write.submit([contractId, toHex(payload)]),
      chainId: network.chainId,
      contractsAddress: network.contracts.contracts,
      clock,
      logger: this.log,
      ...(this.options.jobTakeoverMs === undefined ? {} : { takeoverMs: this.options.jobTakeoverMs }),
      ...(network.mining?.billing ? { usage: this.usage } : {}),
    })
    const miningOptions = this.options.mining === false ? undefined : this.options.mining
    const mining =
      network.mining && this.options.mining !== false
        ? miningChain(publicClient, identityWallet, network.mining, identity.address, clock)
        : undefined
    if (mining) {
      this.mining = new MiningService({
        chain: mining,
        benchmark: runBenchmark,
        logger: this.log,
        ...(miningOptions?.rescoreEpochs ? { rescoreEpochs: miningOptions.rescoreEpochs } : {}),
      })
    }
    const billing = network.mining?.billing
    if (mining && billing) {
      // One claim round per epoch; the mining chain reads (and keeps) the epoch length once for both.
      const intervalMs =
        miningOptions?.usageClaimIntervalMs ??
        (await mining
          .epochSeconds()
          .then((seconds) => seconds * 1000)
          .catch(() => 60_000))
      this.usageClaims = new UsageClaimer({
        chain: billingChain(publicClient, identityWallet, billing, network.chainId),
        meter: this.usage,
        self: identity.address,
        commandCharges: (contractId) => (this.store ? readAccount(this.store, contractId).charged : 0n),
        chargedContracts: () => billedContracts(this.store),
        intervalMs,
        logger: this.log,
      })
    }
    this.throwIfStopping()
    await this.follower.start()
    await this.jobs.start()
    await this.mining?.start()
    await this.usageClaims?.start()
    this.phase = 'following'
  }

  /** Metrics and event subscribers learn about a block only once it is committed. */
  private afterBlock(header: { number: bigint; hash: Hex }, receipts: CommandReceipt[]): void {
    const store = this.store
    if (!store) return
    this.jobs?.poke()
    this.metrics.blockHeight.set(Number(header.number))
    this.metrics.chainLag.set(Math.max(0, Number((this.follower?.head ?? header.number) - header.number)))
    for (const receipt of receipts) {
      if (receipt.kind !== 'command') continue
      if (receipt.charge !== undefined) this.usageClaims?.noteCharged(receipt.contractId)
      this.metrics.commands.inc({ ok: String(receipt.ok) })
      this.metrics.commandFuel.observe(receipt.fuel)
      if (!receipt.ok && receipt.error) this.metrics.errors.inc({ code: receipt.error.code })
      for (const event of receipt.events) {
        this.events.publish({
          contract: receipt.contractId,
          block: String(receipt.blockNumber),
          txHash: receipt.txHash,
          logIndex: receipt.logIndex,
          name: event.name,
          data: tagged(event.data),
        })
      }
    }
    this.options.onBlock?.({ number: header.number, hash: header.hash }, store.stateDigest(), receipts)
  }

  private async startOpenThread(identity: WorkerIdentity): Promise<OpenThread | undefined> {
    if (this.options.openThread === false || this.options.queryCrypto) return undefined
    const crypto = this.cryptoFor(identity)
    return OpenThread.start({
      x25519PrivateKey: identity.x25519PrivateKey,
      logger: this.log,
      fallback: openOnEventLoop(crypto, identity.x25519PrivateKey),
    })
  }

  private cryptoFor(identity: WorkerIdentity): QueryCrypto {
    this.crypto ??=
      this.options.queryCrypto ??
      createNodeQueryCrypto({
        chainId: this.options.network.chainId,
        registry: this.options.network.contracts.registry,
        signingKey: identity.signingKey,
        clock: this.options.clock ?? systemClock,
      })
    return this.crypto
  }

  private answer(body: unknown): Promise<unknown> {
    const identity = this.identity
    const crypto = this.crypto
    const keys = this.contractKeys
    if (!identity || !crypto || !keys)
      throw new ApiError(503, 'NOT_READY', 'queries are not available yet', { retryAfterSeconds: 1 })
    this.queries ??= new QueryService({
      chainId: this.options.network.chainId,
      registry: this.options.network.contracts.registry,
      worker: {
        address: identity.address,
        x25519PrivateKey: identity.x25519PrivateKey,
      },
      store: () => this.store,
      engines: () => this.engines,
      crypto,
      clock: this.options.clock ?? systemClock,
      randomBytes: this.options.randomBytes ?? systemRandom,
      keys,
      metrics: this.metrics,
      logger: this.log,
      ...(this.offChain ? { offChain: this.offChain } : {}),
      ...(this.options.network.mining?.billing ? { usage: this.usage } : {}),
      // Even when its thread is gone, it opens on the event loop, with the same answers.
      ...(this.opener ? { opener: this.opener } : {}),
    })
    return this.queries.answer(body)
  }

  private receiptsOf(txHash: Hex): unknown | undefined {
    const store = this.store
    if (!store)
      throw new ApiError(503, 'NOT_READY', 'the worker is not following the chain yet', {
        retryAfterSeconds: 1,
      })
    const stored = store.getReceipt(txHash)
    return stored ? receiptsView(txHash, decodeValue(stored.receiptText) as CommandReceipt[]) : undefined
  }

  private async describeContract(id: string): Promise<unknown | undefined> {
    const store = this.store
    const engines = this.engines
    if (!store || !engines)
      throw new ApiError(503, 'NOT_READY', 'the worker is not following the chain yet', {
        retryAfterSeconds: 1,
      })
    const bytes = store.getPlain(CONTRACTS_TABLE, id)
    if (!bytes) return undefined
    const record = decodeContractRecord(bytes)
    let methods: { commands: string[]; queries: string[] } | undefined
    const code = store.getPlain(CODE_TABLE, record.codeHash)
    if (code && !record.broken) {
      try {
        const engine = await engines.engineFor(record.codeHash, new TextDecoder().decode(code))
        methods = { commands: engine.methods.commands, queries: engine.methods.queries }
      } catch {
        methods = undefined
      }
    }
    return {
      id: record.id,
      cluster: record.cluster,
      owner: record.owner,
      codeHash: record.codeHash,
      deployedAt: String(record.deployedAt),
      ...(methods ? { methods } : {}),
      ...(record.broken ? { broken: record.broken } : {}),
    }
  }

  private throwIfStopping(): void {
    if (this.abort.signal.aborted)
      throw new VeilError('the worker was stopped while starting', { code: 'CANCELLED' })
  }

  async stop(): Promise<void> {
    if (this.phase !== 'failed') this.phase = 'stopping'
    this.abort.abort()
    this.detachSockets?.()
    this.detachSockets = undefined
    this.crypto?.dispose?.()
    this.crypto = undefined
    const openThread = this.openThread
    this.openThread = undefined
    const steps: [string, (() => Promise<void>) | undefined][] = [
      ['mining', this.mining ? () => this.mining?.stop() ?? Promise.resolve() : undefined],
      ['usage claims', this.usageClaims ? () => this.usageClaims?.stop() ?? Promise.resolve() : undefined],
      ['jobs', this.jobs ? () => this.jobs?.stop() ?? Promise.resolve() : undefined],
      ['follower', this.follower ? () => this.follower?.stop() ?? Promise.resolve() : undefined],
      ['http', this.http ? () => this.http?.close() ?? Promise.resolve() : undefined],
      // After the HTTP server closed: the queries still in flight finish their opens first.
      ['opening thread', openThread ? async () => (await openThread)?.stop() : undefined],
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
    this.jobs = undefined
    this.mining = undefined
    this.usageClaims = undefined
    this.follower = undefined
    this.http = undefined
    this.opener = undefined
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
      measurement: this.measurement ?? null,
      tee: this.teeKind ?? null,
      quote: this.quote ? bytesToBase64url(this.quote) : null,
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
