import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { createSimulatedTee, veilCodeMeasurement } from '@veil/attestation'
import { buildContract } from '@veil/contract/build'
import { KmsService } from '@veil/kms'
import {
  type AnvilInstance,
  artifactsHash,
  DEVNET_MINING_PARAMS,
  deployLedger,
  devAccount,
  explainLedgerError,
  getLedger,
  type Ledger,
  startAnvil,
  VEIL,
} from '@veil/ledger'
import {
  type Clock,
  encodeInitPayload,
  type Logger,
  type NetworkFile,
  silentLogger,
  systemClock,
  VEIL_VERSION,
  VeilError,
} from '@veil/protocol'
import { DirLock, type DirLockOwner } from '@veil/protocol/dir-lock'
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  hexToBytes,
  http,
  keccak256,
  type PublicClient,
  parseEventLogs,
  toHex,
} from 'viem'
import {
  bootstrapDevnetPools,
  DEVNET_EXAMPLE_FUNDING,
  deployDevnetMining,
  fundDevnetContract,
} from './dev-mining.js'
import { bootstrapDevnetRoles, retireWorkers } from './dev-roles.js'
import { readNetworkFile, writeFileAtomic } from './files.js'
import { rememberPid, stopOrphan } from './orphans.js'
import { defaultVeilCommand, spawnWorker, type VeilCommand, type WorkerProcess } from './worker-process.js'

/** What `veil dev` keeps in `network.json` beyond the public fields. */
export interface DevnetInfo {
  /** Hash of the Solidity sources the deployed ledger was compiled from. */
  artifactsHash: string
  /** The registry owner (dev account 0). */
  owner: `0x${string}`
  /** The cluster the devnet creates for its workers and example contracts. */
  cluster: number
  /** Example contracts deployed on first start, by name (e.g. `counter`), as contract ids. */
  examples?: Record<string, string>
  /** The simulated measurement of the worker build the devnet's workers were registered with. */
  workerMeasurement?: `0x${string}`
}

export type DevnetNetworkFile = NetworkFile & { devnet: DevnetInfo }

export interface ProgressEvent {
  step: string
  phase: 'start' | 'done'
  /** Milliseconds the step took (on `done`). */
  ms?: number
  detail?: string
}

export interface LocalNetworkOptions {
  /** Data dir: chain state, network.json, later worker and KMS data. */
  dir: string
  /** Delete the data dir's previous contents first. */
  reset?: boolean
  /** anvil JSON-RPC port; 0 picks a free one. */
  port?: number
  chainId?: number
  /** Deploy `examples/counter` on first start (default: when there are workers). */
  example?: boolean
  /** Workers to run (each a `veil worker start` process). Default 2. */
  workers?: number
  /** How to run `veil` for the workers; defaults to the installed `@veil/cli`. */
  veil?: VeilCommand
  /** Level of the worker log lines passed to `onWorkerLog`. Default `warn`. */
  workerLogLevel?: 'debug' | 'info' | 'warn' | 'error'
  onWorkerLog?: (worker: number, line: string) => void
  /**
   * The simulated TEE's platform secret file for the KMS and the workers. Default: the user's
   * (`$VEIL_SIM_PLATFORM_SECRET_FILE` or `~/.veil/simulated-tee-platform.key`). Tests pass their own.
   */
  platformSecretFile?: string
  /** KMS HTTP port; 0 (the default) picks a free one. */
  kmsPort?: number
  /** `host[:port]` entries the workers let contracts reach although private (`--egress-allow`). */
  egressAllow?: readonly string[]
  logger?: Logger
  clock?: Clock
  onProgress?: (event: ProgressEvent) => void
}

const MARKER = '.veil-devnet'

/** How a second `veil dev` on the same data dir is refused. */
function devnetLockOwner(dir: string): DirLockOwner {
  return {
    what: `data dir ${dir}`,
    heldHereHint: 'dispose the other LocalNetwork first, or use another data dir with --dir',
    heldByHint: (pid) => `stop the other \`veil dev\` (kill ${pid}), or use another data dir with --dir`,
  }
}

/** Worker i's operator is dev account 2 + (i mod 7): distinct funded accounts, so parallel top-ups never race. */
function workerOperatorIndex(index: number): number {
  return 2 + (index % 7)
}
export const DEFAULT_DEVNET_PORT = 8545
export const DEVNET_CHAIN_ID = 31337

/**
 * A whole Veil network on this machine: an anvil chain with its state in the data dir, the ledger
 * deployed once and reused on every later start, and `network.json` written when everything is ready.
 *
 * @example
 * const net = new LocalNetwork({ dir: '.veil' })
 * const network = await net.start()
 * // ... network.rpcUrl, network.contracts.registry
 * await net.dispose()
 */
export class LocalNetwork {
  readonly dir: string
  readonly networkPath: string
  /** Resolves with the network once `start()` has finished; rejects if it failed. */
  readonly ready: Promise<DevnetNetworkFile>

  private readonly options: LocalNetworkOptions
  private readonly log: Logger
  private readonly clock: Clock
  private resolveReady!: (network: DevnetNetworkFile) => void
  private rejectReady!: (error: unknown) => void
  private anvil: AnvilInstance | undefined
  private kms: KmsService | undefined
  private workerProcesses: WorkerProcess[] = []
  private lock: DirLock | undefined
  private started = false
  private disposed: Promise<void> | undefined

  constructor(options: LocalNetworkOptions) {
    this.options = options
    this.dir = resolve(options.dir)
    this.networkPath = join(this.dir, 'network.json')
    this.log = (options.logger ?? silentLogger).forComponent('veil:devnet')
    this.clock = options.clock ?? systemClock
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res
      this.rejectReady = rej
    })
    // Callers that only use start()'s promise must not see an unhandled rejection here.
    this.ready.catch(() => {})
  }

  /** Starts everything; if a step fails, whatever already started is stopped again. */
  async start(): Promise<DevnetNetworkFile> {
    if (this.started)
      throw new VeilError('LocalNetwork.start() was called twice', { code: 'ALREADY_STARTED' })
    this.started = true
    try {
      const network = await this.startSteps()
      this.resolveReady(network)
      return network
    } catch (error) {
      await this.stopAll()
      this.rejectReady(error)
      throw error
    }
  }

  /** Stops everything in reverse order. Safe to call more than once and after a failed start. */
  dispose(): Promise<void> {
    this.disposed ??= this.stopAll()
    return this.disposed
  }

  private async startSteps(): Promise<DevnetNetworkFile> {
    this.prepareDir()
    this.lock = DirLock.acquire(join(this.dir, 'devnet.lock'), devnetLockOwner(this.dir))

    const statePath = join(this.dir, 'anvil-state.json')
    const pidFile = join(this.dir, 'anvil.pid')
    await stopOrphan(pidFile, statePath, this.log)
    const anvil = await this.step(
      'chain',
      async () => {
        this.anvil = await startAnvil({
          port: this.options.port ?? DEFAULT_DEVNET_PORT,
          chainId: this.options.chainId ?? DEVNET_CHAIN_ID,
          statePath,
          stateIntervalSeconds: 1,
          detached: true,
          logger: this.log,
        })
        rememberPid(pidFile, this.anvil.pid)
        return this.anvil
      },
      (a) => a.rpcUrl,
    )

    const chain = defineChain({
      id: this.options.chainId ?? DEVNET_CHAIN_ID,
      name: 'veil-devnet',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [anvil.rpcUrl], webSocket: [anvil.wsUrl] } },
    })
    const transport = http(anvil.rpcUrl)
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 }) as PublicClient
    const owner = devAccount(0)
    const walletClient = createWalletClient({ account: owner, chain, transport })

    const previous = existsSync(this.networkPath) ? readNetworkFile(this.networkPath) : undefined
    let network: DevnetNetworkFile
    if (previous) {
      network = await this.step(
        'ledger',
        () => this.reuseLedger(previous, publicClient),
        () => 'reused',
      )
      network = { ...network, rpcUrl: anvil.rpcUrl, wsUrl: anvil.wsUrl }
    } else {
      network = await this.step(
        'ledger',
        async () => {
          const deployment = await deployLedger({ publicClient, walletClient, devMode: true })
          const ledger = getLedger({ publicClient, walletClient, addresses: deployment.addresses })
          try {
            const hash = await ledger.registry.write.createCluster()
            await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 })
          } catch (error) {
            throw explainLedgerError(error, 'creating the devnet cluster')
          }
          const file: DevnetNetworkFile = {
            version: 1,
            chainId: deployment.chainId,
            rpcUrl: anvil.rpcUrl,
            wsUrl: anvil.wsUrl,
            devMode: true,
            deployBlock: deployment.deployBlock,
            contracts: deployment.addresses,
            kms: null,
            workers: [],
            devnet: { artifactsHash: deployment.artifactsHash, owner: owner.address, cluster: 1 },
          }
          return file
        },
        () => 'deployed',
      )
    }

    if (!network.mining) {
      const registry = network.contracts.registry
      const mining = await this.step(
        'mining',
        () =>
          deployDevnetMining({
            publicClient,
            walletClient,
            registry,
            contracts: network.contracts.contracts,
          }),
        () => `${DEVNET_MINING_PARAMS.epochSeconds} s epochs`,
      )
      network = { ...network, mining }
    }

    const ledger = getLedger({ publicClient, walletClient, addresses: network.contracts })
    const kms = await this.step(
      'kms',
      () => this.startKms(network, ledger, publicClient, walletClient),
      (k) => k.url,
    )
    // Contracts reach the devnet chain itself as `ctx.evm.call('devnet', …)`.
    network = {
      ...network,
      kms: { url: kms.url, address: kms.address },
      rpc: { ...(network.rpc ?? {}), devnet: anvil.rpcUrl },
    }

    const workerCount = this.options.workers ?? 2
    const workersDir = join(this.dir, 'workers')
    const workerMeasurement = veilCodeMeasurement('worker', VEIL_VERSION)
    if (network.devnet.workerMeasurement !== workerMeasurement) {
      // Another build registered the existing worker identities: the KMS will not provision them.
      await retireWorkers({
        ledger,
        publicClient,
        workers: network.workers.map((w) => w.address),
        logger: this.log,
      })
      rmSync(workersDir, { recursive: true, force: true })
      network = { ...network, workers: [], devnet: { ...network.devnet, workerMeasurement } }
    }
    if (workerCount > 0) {
      // Workers read the chain half of the network now; network.json itself appears only when ready.
      mkdirSync(workersDir, { recursive: true })
      const chainView = join(workersDir, 'network.json')
      writeFileAtomic(chainView, `${JSON.stringify({ ...network, workers: [] }, null, 2)}\n`)
      const workers = await this.step(
        'workers',
        () => this.startWorkers(workerCount, chainView, workersDir),
        (w) => `${w.length} ready`,
      )
      network = { ...network, workers: workers.map((w) => ({ url: w.url, address: w.address })) }
      const mining = network.mining
      if (mining) {
        await this.step(
          'pools',
          () =>
            bootstrapDevnetPools({
              publicClient,
              chain,
              transport,
              owner: walletClient,
              addresses: mining,
              workers: workers.map((w) => ({
                address: w.address,
                operatorIndex: workerOperatorIndex(w.index),
              })),
              logger: this.log,
            }),
          (r) => (r.bound ? `${r.bound} staked` : 'ready'),
        )
      }
    } else {
      network = { ...network, workers: [] }
    }

    if ((this.options.example ?? workerCount > 0) && !network.devnet.examples?.counter) {
      const id = await this.step(
        'example',
        () => this.deployExample(publicClient, network),
        (id) => `counter is contract ${id}`,
      )
      network = {
        ...network,
        devnet: { ...network.devnet, examples: { ...network.devnet.examples, counter: id } },
      }
      const mining = network.mining
      if (mining?.billing) {
        await this.step(
          'billing',
          () =>
            fundDevnetContract({
              publicClient,
              funder: walletClient,
              addresses: mining,
              contractId: BigInt(id),
              amount: DEVNET_EXAMPLE_FUNDING,
            }),
          () => `counter funded with ${DEVNET_EXAMPLE_FUNDING / VEIL} VEIL`,
        )
      }
    }

    writeFileAtomic(this.networkPath, `${JSON.stringify(network, null, 2)}\n`)
    this.log.info('devnet ready', { rpcUrl: network.rpcUrl, dir: this.dir })
    return network
  }

  /**
   * Opens (first start: creates and seals) the devnet's KMS in `<dir>/kms`, makes it a funded KMS
   * signer that approves workers into the devnet cluster, and starts it.
   */
  private async startKms(
    network: DevnetNetworkFile,
    ledger: Ledger,
    publicClient: PublicClient,
    walletClient: ReturnType<typeof createWalletClient>,
  ): Promise<KmsService> {
    const measurement = veilCodeMeasurement('kms', VEIL_VERSION)
    const kms = await KmsService.open({
      dataDir: join(this.dir, 'kms'),
      tee: createSimulatedTee({
        measurement: hexToBytes(measurement),
        ...(this.options.platformSecretFile ? { platformSecretFile: this.options.platformSecretFile } : {}),
      }),
      measurement,
      rpcUrl: network.rpcUrl,
      chainId: network.chainId,
      contracts: network.contracts,
      port: this.options.kmsPort ?? 0,
      assignCluster: BigInt(network.devnet.cluster),
      fromBlock: BigInt(network.deployBlock),
      pollIntervalMs: 100,
      logger: this.options.logger ?? silentLogger,
      clock: this.clock,
    })
    this.kms = kms
    await bootstrapDevnetRoles({
      ledger,
      publicClient,
      walletClient,
      kms: kms.address,
      workerMeasurement: veilCodeMeasurement('worker', VEIL_VERSION),
    })
    await kms.start()
    return kms
  }

  /** Builds and deploys `examples/counter` from dev account 1, the default client account. */
  private async deployExample(publicClient: PublicClient, network: DevnetNetworkFile): Promise<string> {
    const entry = createRequire(import.meta.url).resolve('@veil-examples/counter')
    const bundle = await buildContract({ entry })
    const account = devAccount(1)
    const chain = defineChain({
      id: network.chainId,
      name: 'veil-devnet',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [network.rpcUrl] } },
    })
    const walletClient = createWalletClient({ account, chain, transport: http(network.rpcUrl) })
    const ledger = getLedger({ publicClient, walletClient, addresses: network.contracts })
    const code = toHex(new TextEncoder().encode(bundle.code))
    try {
      await publicClient.waitForTransactionReceipt({
        hash: await ledger.contracts.write.uploadCode([code]),
        pollingInterval: 50,
      })
      const receipt = await publicClient.waitForTransactionReceipt({
        hash: await ledger.contracts.write.deploy([
          BigInt(network.devnet.cluster),
          keccak256(code),
          toHex(encodeInitPayload({ start: 0 })),
          0n,
        ]),
        pollingInterval: 50,
      })
      const [deployed] = parseEventLogs({
        abi: ledger.contracts.abi,
        logs: receipt.logs,
        eventName: 'ContractDeployed',
      })
      if (!deployed)
        throw new VeilError('deploying the example did not emit ContractDeployed', {
          code: 'LEDGER_DEPLOY_FAILED',
        })
      return String(deployed.args.contractId)
    } catch (error) {
      throw explainLedgerError(error, 'deploying examples/counter')
    }
  }

  private async startWorkers(
    count: number,
    networkPath: string,
    workersDir: string,
  ): Promise<WorkerProcess[]> {
    const veil = this.options.veil ?? defaultVeilCommand()
    const started = await Promise.allSettled(
      Array.from({ length: count }, (_, index) =>
        spawnWorker({
          index,
          veil,
          networkPath,
          dataDir: join(workersDir, String(index)),
          // Distinct funded dev accounts, so parallel gas top-ups never race on a nonce.
          operatorKey: toHex(
            devAccount(workerOperatorIndex(index)).getHdKey().privateKey ?? new Uint8Array(32),
          ),
          logLevel: this.options.workerLogLevel ?? 'warn',
          onLog: (line) => this.options.onWorkerLog?.(index, line),
          ...(this.options.egressAllow?.length ? { egressAllow: this.options.egressAllow } : {}),
          ...(this.options.platformSecretFile
            ? { env: { VEIL_SIM_PLATFORM_SECRET_FILE: this.options.platformSecretFile } }
            : {}),
        }),
      ),
    )
    for (const result of started) if (result.status === 'fulfilled') this.workerProcesses.push(result.value)
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason
    return this.workerProcesses
  }

  /** Checks that the chain state still holds the ledger that `network.json` describes. */
  private async reuseLedger(previous: NetworkFile, publicClient: PublicClient): Promise<DevnetNetworkFile> {
    const info = (previous as Partial<DevnetNetworkFile>).devnet
    if (!info || typeof info.artifactsHash !== 'string') {
      throw new VeilError(`${this.networkPath} was not written by \`veil dev\``, {
        code: 'NETWORK_FILE_INVALID',
        hint: 'use another --dir for a local network, or start from scratch with `veil dev --reset`',
      })
    }
    const chainId = await publicClient.getChainId()
    if (chainId !== previous.chainId) {
      throw new VeilError(
        `the chain in ${this.dir} has id ${chainId}, but network.json says ${previous.chainId}`,
        {
          code: 'DEVNET_STATE_MISMATCH',
          hint: 'start from scratch with `veil dev --reset`',
        },
      )
    }
    for (const [name, address] of Object.entries(previous.contracts)) {
      const code = await publicClient.getCode({ address })
      if (!code || code === '0x') {
        throw new VeilError(`the chain state no longer holds the ledger's ${name} contract at ${address}`, {
          code: 'DEVNET_STATE_MISMATCH',
          details:
            'the chain state file was lost or is older than network.json (was `veil dev` killed hard?)',
          hint: 'start from scratch with `veil dev --reset`',
        })
      }
    }
    if (info.artifactsHash !== artifactsHash) {
      throw new VeilError('the ledger contracts changed since this local network was created', {
        code: 'LEDGER_OUTDATED',
        details: `deployed from sources ${info.artifactsHash.slice(0, 12)}…, current sources ${artifactsHash.slice(0, 12)}…`,
        hint: 'start from scratch with `veil dev --reset` to deploy the new contracts',
      })
    }
    return { ...previous, devnet: info } as DevnetNetworkFile
  }

  private prepareDir(): void {
    const marker = join(this.dir, MARKER)
    if (existsSync(this.dir)) {
      const entries = readdirSync(this.dir)
      if (entries.length > 0 && !entries.includes(MARKER)) {
        throw new VeilError(`${this.dir} exists and is not a Veil devnet data dir`, {
          code: 'DIR_NOT_DEVNET',
          details: `it holds ${entries.length} other file(s) and no ${MARKER} marker`,
          hint: 'choose an empty or new directory with --dir',
        })
      }
      if (this.options.reset && entries.length > 0) {
        DirLock.acquire(join(this.dir, 'devnet.lock'), devnetLockOwner(this.dir)).release()
        rmSync(this.dir, { recursive: true, force: true })
        this.progress({ step: 'reset', phase: 'done', detail: this.dir })
      }
    }
    mkdirSync(this.dir, { recursive: true })
    if (!existsSync(marker)) writeFileSync(marker, 'This directory holds a Veil local network (veil dev).\n')
  }

  private async step<T>(step: string, run: () => Promise<T>, detail: (result: T) => string): Promise<T> {
    this.progress({ step, phase: 'start' })
    const started = this.clock.now()
    const result = await run()
    this.progress({ step, phase: 'done', ms: this.clock.now() - started, detail: detail(result) })
    return result
  }

  private progress(event: ProgressEvent): void {
    this.options.onProgress?.(event)
  }

  private async stopAll(): Promise<void> {
    const workers = this.workerProcesses
    this.workerProcesses = []
    const anvil = this.anvil
    this.anvil = undefined
    try {
      await Promise.all(workers.map((w) => w.stop()))
      await this.kms?.stop()
      this.kms = undefined
      await anvil?.stop()
      if (anvil) rmSync(join(this.dir, 'anvil.pid'), { force: true })
    } finally {
      this.lock?.release()
      this.lock = undefined
    }
  }
}
