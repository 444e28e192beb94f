import { randomBytes as nodeRandomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { quoteMeasurement, reportDataFromHash, type TcbStatus, type TeeProvider } from '@veil/attestation'
import { getLedger, type Ledger, Registry, reportData } from '@veil/ledger'
import {
  type Address,
  bytesToBase64url,
  type Clock,
  errorMessage,
  type Hex,
  isAddress,
  isHex,
  type LedgerAddresses,
  type Logger,
  type Startable,
  silentLogger,
  systemClock,
  VEIL_VERSION,
} from '@veil/protocol'
import { DirLock } from '@veil/protocol/dir-lock'
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  hexToBytes,
  http,
  type PublicClient,
  toHex,
  zeroHash,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { createKmsApp, type KmsHealth, type KmsInfo, type KmsPhase, type KmsStatus } from './app.js'
import { type CollateralSource, WorkerApprover } from './approver.js'
import type { QuotePolicy } from './attestation.js'
import { KmsApiError, KmsError } from './errors.js'
import { Provisioner, type ProvisionResponse } from './provision.js'
import { ContractKeyPublisher } from './publisher.js'
import { type RegistryReader, registryReader } from './registry-reader.js'
import { type KmsSecrets, openKmsSecrets } from './secrets.js'
import { type HttpServer, startHttpServer } from './server.js'
import { TransactionSender } from './transactions.js'

export const KMS_VERSION = VEIL_VERSION

export interface KmsServiceOptions {
  /** Holds the sealed master secret and identity key, and the lock. Created if missing. */
  dataDir: string
  /** The TEE the KMS runs in: its quotes and sealing key. */
  tee: TeeProvider
  /**
   * The 32-byte measurement the KMS reports in `/v1/info` (simulated: the TEE's, e.g.
   * `veilCodeMeasurement('kms', version)`; TDX: `quoteMeasurement(quote)`). Checked against the TEE's own quote.
   */
  measurement: Hex
  rpcUrl: string
  chainId: number
  contracts: LedgerAddresses
  /** Interface of the HTTP API. Default 127.0.0.1. */
  host?: string
  /** HTTP port; 0 (the default) picks a free one. */
  port?: number
  /** Cluster the approver adds the workers it approves to; none by default. */
  assignCluster?: bigint
  /** Intel collateral for hardware quotes at approval; without it they stay pending. */
  collateralFor?: CollateralSource
  /** First block to read registrations and deployments from (the ledger's deploy block). Default 0. */
  fromBlock?: bigint
  /** How often the ledger is polled. Default 500 ms. */
  pollIntervalMs?: number
  /** How often a refused, still-pending worker is checked again. Default 30 s. */
  recheckIntervalMs?: number
  /** Worst TCB status accepted. Default `SWHardeningNeeded`. */
  minStatus?: TcbStatus
  /** Oldest TCB info accepted, in seconds. Default 30 days. */
  maxCollateralAgeSeconds?: number
  /**
   * TEST ONLY, not a command-line option: the root CA (PEM or DER) workers' hardware quotes must chain
   * to, instead of the embedded Intel SGX Root CA, so tests can sign quotes and collateral on a synthetic
   * PKI. Production leaves it unset.
   */
  rootCa?: string | Uint8Array
  logger?: Logger
  clock?: Clock
  /** Randomness for the secrets created on first start (master secret first, then the identity key). */
  randomBytes?: (length: number) => Uint8Array
}

const LOCK_FILE = 'kms.lock'

/**
 * The Veil KMS (gatekeeper): holds the network's master secret inside its TEE, approves attested
 * workers, provisions their cluster secrets over HTTP and publishes contract keys.
 *
 * @example
 * const kms = await KmsService.open({ dataDir, tee, measurement, rpcUrl, chainId, contracts })
 * // the registry owner: registry.addKmsSigner(kms.address)
 * await kms.start()
 * kms.url // http://127.0.0.1:…
 * await kms.stop()
 */
export class KmsService implements Startable {
  /** The KMS identity: the KMS signer's address on the registry. */
  readonly address: Address
  /** The measurement this KMS reports. */
  readonly measurement: Hex

  private readonly log: Logger
  private readonly clock: Clock
  private readonly pollIntervalMs: number
  private phase: KmsPhase = 'starting'
  private signer: boolean | null = null
  private balance: bigint | null = null
  private ledgerError: string | undefined
  private quote: Uint8Array | undefined
  private http: HttpServer | undefined
  private publicClient: PublicClient | undefined
  private ledger: Ledger | undefined
  private reader: RegistryReader | undefined
  private sender: TransactionSender | undefined
  private provisioner: Provisioner | undefined
  private approver: WorkerApprover | undefined
  private publisher: ContractKeyPublisher | undefined
  private watch: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private wake: (() => void) | undefined
  private started = false
  private stopRequested = false
  private stopping: Promise<void> | undefined

  private constructor(
    private readonly options: KmsServiceOptions,
    private readonly secrets: KmsSecrets,
    private readonly lock: DirLock,
  ) {
    this.address = secrets.address
    this.measurement = options.measurement.toLowerCase() as Hex
    this.log = (options.logger ?? silentLogger).forComponent('veil:kms')
    this.clock = options.clock ?? systemClock
    this.pollIntervalMs = options.pollIntervalMs ?? 500
  }

  /**
   * Locks the data dir and unseals the KMS's secrets, or creates and seals them on first start. No
   * network access. Throws `DATA_DIR_IN_USE`, `SEAL_KEY_MISMATCH` (a data dir from another machine), ….
   */
  static async open(options: KmsServiceOptions): Promise<KmsService> {
    checkOptions(options)
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
    const lock = DirLock.acquire(join(options.dataDir, LOCK_FILE), {
      what: 'the KMS data dir',
      code: 'DATA_DIR_IN_USE',
      heldHereHint: 'stop the other KmsService first, or give this one another data dir',
      heldByHint: (pid) =>
        `stop the other KMS (kill ${pid}) before starting this one; one master secret is served by one process`,
    })
    try {
      const random = options.randomBytes ?? ((n: number) => new Uint8Array(nodeRandomBytes(n)))
      const secrets = await openKmsSecrets({
        dataDir: options.dataDir,
        tee: options.tee,
        randomBytes: random,
      })
      const service = new KmsService(options, secrets, lock)
      service.log.info(
        secrets.created
          ? 'created and sealed a new master secret and KMS identity'
          : 'unsealed the master secret and KMS identity',
        { address: secrets.address, tee: options.tee.kind },
      )
      return service
    } catch (error) {
      lock.release()
      throw error
    }
  }

  /** The API's URL (after `start`). */
  get url(): string {
    if (!this.http) throw new KmsError('NOT_STARTED', 'the KMS is not started')
    return this.http.url
  }

  /**
   * Checks the ledger, takes the KMS's own quote, serves the API, and, once the identity is a KMS signer
   * on the registry, runs the approver and the publisher. Not being a signer yet is not an error: it is
   * logged with the fix and shown on `/healthz`, and checked again until it is. A failed start stops the
   * service.
   */
  async start(): Promise<void> {
    if (this.stopRequested) throw new KmsError('STOPPED', 'the KMS has been stopped; open a new one')
    if (this.started) return
    this.started = true
    try {
      await this.startSteps()
    } catch (error) {
      await this.stop()
      throw error
    }
  }

  private async startSteps(): Promise<void> {
    const { options } = this
    const chain = defineChain({
      id: options.chainId,
      name: `veil-${options.chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [options.rpcUrl] } },
    })
    // Batched: the reads a provisioning request makes at once share one HTTP round trip.
    const transport = http(options.rpcUrl, { batch: { wait: 0 } })
    const publicClient = createPublicClient({
      chain,
      transport,
      pollingInterval: this.pollIntervalMs,
    }) as PublicClient
    this.publicClient = publicClient
    const devMode = await this.checkLedger(publicClient)
    this.throwIfStopping()

    const account = privateKeyToAccount(toHex(this.secrets.identityKey))
    this.ledger = getLedger({
      publicClient,
      walletClient: createWalletClient({ account, chain, transport }),
      addresses: options.contracts,
    })
    this.reader = registryReader(getLedger({ publicClient, addresses: options.contracts }))
    this.sender = new TransactionSender(publicClient, {
      pollingIntervalMs: Math.min(this.pollIntervalMs, 100),
    })
    this.quote = await this.ownQuote()
    this.throwIfStopping()
    if (options.tee.kind === 'simulated' && !devMode)
      this.log.warn(
        'a simulated KMS on a production ledger: its master secret is not protected by hardware, and workers will not trust its quote',
        { hint: 'run the KMS in an Intel TDX confidential VM (--tee tdx)' },
      )

    this.provisioner = new Provisioner({
      registry: this.reader,
      chainId: options.chainId,
      registryAddress: options.contracts.registry,
      masterSecret: this.secrets.masterSecret,
      identityKey: this.secrets.identityKey,
      address: this.address,
      policy: this.policy(),
      clock: this.clock,
      logger: this.log.forComponent('veil:kms:provision'),
    })
    const server = await startHttpServer(createKmsApp(this, this.log), {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
    })
    if (this.stopRequested) await server.close() // stop() ran while the server was starting
    this.throwIfStopping()
    this.http = server
    this.log.info('KMS API listening', { url: server.url, address: this.address })

    await this.checkSigner()
    this.watch = this.watchSigner()
  }

  /** Fails fast on a wrong RPC URL, chain or registry address; returns the ledger's dev-mode flag. */
  private async checkLedger(publicClient: PublicClient): Promise<boolean> {
    const { chainId, rpcUrl, contracts } = this.options
    let actual: number
    let code: Hex | undefined
    try {
      ;[actual, code] = await Promise.all([
        publicClient.getChainId(),
        publicClient.getCode({ address: contracts.registry }),
      ])
    } catch (error) {
      throw new KmsError('LEDGER_UNREACHABLE', `the ledger's RPC endpoint ${rpcUrl} does not answer`, {
        details: errorMessage(error),
        hint: 'check the RPC URL in the network file, and that the chain is running',
        cause: error,
      })
    }
    if (actual !== chainId)
      throw new KmsError('CHAIN_MISMATCH', `${rpcUrl} serves chain ${actual}, not ${chainId}`, {
        hint: 'use the network file of this chain',
      })
    const notFound = (what: string, cause?: unknown) =>
      new KmsError('LEDGER_NOT_FOUND', `${what} at ${contracts.registry} on chain ${chainId}`, {
        hint: 'check the contract addresses in the network file (the chain may have been reset)',
        ...(cause === undefined ? {} : { cause }),
      })
    if (code === undefined || code === '0x') throw notFound('no contract')
    try {
      return await publicClient.readContract({
        address: contracts.registry,
        abi: Registry.abi,
        functionName: 'devMode',
      })
    } catch (error) {
      throw notFound('no Veil registry', error)
    }
  }

  /** The KMS's own quote, binding its identity (X25519 = bytes32(0)) to this chain and registry. */
  private async ownQuote(): Promise<Uint8Array> {
    const { options } = this
    const binding = reportData(this.address, zeroHash, options.chainId, options.contracts.registry)
    const quote = await options.tee.getQuote(reportDataFromHash(hexToBytes(binding)))
    const quoted = quoteMeasurement(quote)
    if (quoted !== this.measurement)
      throw new KmsError(
        'MEASUREMENT_MISMATCH',
        `the TEE quotes measurement ${quoted}, not ${this.measurement}`,
        {
          hint: 'pass the measurement of the TEE the KMS runs in',
        },
      )
    return quote
  }

  private policy(): QuotePolicy {
    const { minStatus, maxCollateralAgeSeconds, rootCa } = this.options
    return {
      ...(minStatus === undefined ? {} : { minStatus }),
      ...(maxCollateralAgeSeconds === undefined ? {} : { maxCollateralAgeSeconds }),
      ...(rootCa === undefined ? {} : { rootCa }),
    }
  }

  /** Re-checks the signer role and the gas balance: often while waiting, then every 20 polls. */
  private async watchSigner(): Promise<void> {
    while (!this.stopRequested) {
      await new Promise<void>((resolve) => {
        this.wake = resolve
        this.timer = setTimeout(
          resolve,
          this.phase === 'ready' ? this.pollIntervalMs * 20 : this.pollIntervalMs,
        )
      })
      if (this.stopRequested) break
      await this.checkSigner()
    }
  }

  private async checkSigner(): Promise<void> {
    const reader = this.reader
    const publicClient = this.publicClient
    if (!reader || !publicClient) return
    let signer: boolean
    let balance: bigint
    try {
      ;[signer, balance] = await Promise.all([
        reader.isKmsSigner(this.address),
        publicClient.getBalance({ address: this.address }),
      ])
    } catch (error) {
      const message = errorMessage(error)
      if (message !== this.ledgerError)
        this.log.warn('reading the ledger failed; retrying', { error: message })
      this.ledgerError = message
      return
    }
    this.ledgerError = undefined
    if (balance === 0n && this.balance !== 0n)
      this.log.warn('the KMS identity has no gas for its transactions', {
        address: this.address,
        fix: `send ETH to ${this.address} (the devnet funds it)`,
      })
    this.balance = balance
    if (signer !== this.signer && !signer)
      this.log.warn(
        'this KMS is not a KMS signer on the registry; it approves and provisions nothing until it is',
        {
          address: this.address,
          registry: this.options.contracts.registry,
          fix: `the registry owner calls registry.addKmsSigner(${this.address})`,
        },
      )
    this.signer = signer
    if (!signer) {
      if (this.phase === 'starting' || this.phase === 'ready') this.phase = 'waiting-for-signer'
      return
    }
    if (this.stopRequested) return
    if (!this.approver) await this.startLoops()
    if (this.phase !== 'stopping' && this.phase !== 'ready') {
      this.phase = 'ready'
      this.log.info('KMS ready: approving workers, provisioning and publishing contract keys', {
        address: this.address,
      })
    }
  }

  private async startLoops(): Promise<void> {
    const { options } = this
    const { publicClient, ledger, reader, sender } = this
    if (!publicClient || !ledger || !reader || !sender) return
    this.approver = new WorkerApprover({
      publicClient,
      ledger,
      registry: reader,
      sender,
      chainId: options.chainId,
      fromBlock: options.fromBlock ?? 0n,
      pollIntervalMs: this.pollIntervalMs,
      assignCluster: options.assignCluster,
      collateralFor: options.collateralFor,
      policy: this.policy(),
      ...(options.recheckIntervalMs === undefined ? {} : { recheckIntervalMs: options.recheckIntervalMs }),
      clock: this.clock,
      logger: this.log.forComponent('veil:kms:approver'),
    })
    this.publisher = new ContractKeyPublisher({
      publicClient,
      ledger,
      sender,
      masterSecret: this.secrets.masterSecret,
      fromBlock: options.fromBlock ?? 0n,
      pollIntervalMs: this.pollIntervalMs,
      logger: this.log.forComponent('veil:kms:publisher'),
    })
    await this.approver.start()
    await this.publisher.start()
  }

  private throwIfStopping(): void {
    if (this.stopRequested) throw new KmsError('STOPPED', 'the KMS was stopped while starting')
  }

  /** Graceful and idempotent: ends the loops, closes the API, releases the data dir, wipes the secrets. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown()
    return this.stopping
  }

  private async shutdown(): Promise<void> {
    this.stopRequested = true
    this.phase = 'stopping'
    clearTimeout(this.timer)
    this.wake?.()
    this.sender?.close()
    const steps: [string, () => Promise<void> | undefined][] = [
      ['signer watch', () => this.watch],
      ['approver', () => this.approver?.stop()],
      ['publisher', () => this.publisher?.stop()],
      ['http', () => this.http?.close()],
    ]
    for (const [name, step] of steps) {
      try {
        await step()
      } catch (error) {
        this.log.warn(`stopping the ${name} failed`, { error: errorMessage(error) })
      }
    }
    this.http = undefined
    this.provisioner?.close()
    this.lock.release()
    this.secrets.masterSecret.fill(0)
    this.secrets.identityKey.fill(0)
    this.log.info('KMS stopped')
  }

  health(): KmsHealth {
    const address = this.address
    const registry = this.options.contracts.registry
    const warning: KmsHealth['warning'] =
      this.ledgerError !== undefined
        ? {
            code: 'LEDGER_UNREACHABLE',
            message: `the ledger cannot be read: ${this.ledgerError}`,
            hint: 'check that the chain is running and the RPC URL is right',
          }
        : this.signer === false
          ? {
              code: 'NOT_KMS_SIGNER',
              message: `${address} is not a KMS signer on registry ${registry}`,
              hint: `the registry owner calls registry.addKmsSigner(${address})`,
            }
          : this.balance === 0n
            ? {
                code: 'NO_GAS',
                message: `the KMS identity ${address} has no ETH for gas`,
                hint: `send ETH to ${address}`,
              }
            : undefined
    return {
      phase: this.phase,
      signer: this.signer,
      balanceWei: this.balance === null ? null : String(this.balance),
      ...(warning ? { warning } : {}),
    }
  }

  info(): KmsInfo {
    const quote = this.quote
    if (!quote) throw new KmsApiError(503, 'NOT_READY', 'the KMS is starting')
    return {
      version: KMS_VERSION,
      address: this.address,
      tee: this.options.tee.kind,
      measurement: this.measurement,
      quote: bytesToBase64url(quote),
      chainId: this.options.chainId,
      registry: this.options.contracts.registry,
    }
  }

  status(): KmsStatus {
    return {
      health: this.health(),
      approver: this.approver?.status() ?? null,
      publisher: this.publisher?.status() ?? null,
    }
  }

  /** `POST /v1/provision`; answers 503 NOT_READY until the KMS is a signer (workers would not trust it). */
  provision(body: unknown): Promise<ProvisionResponse> {
    const provisioner = this.provisioner
    if (!provisioner || this.phase !== 'ready')
      throw new KmsApiError(
        503,
        'NOT_READY',
        this.signer === false
          ? 'the KMS is not a KMS signer on the ledger yet'
          : 'the KMS is not ready to provision yet',
      )
    return provisioner.provision(body)
  }
}

function checkOptions(options: KmsServiceOptions): void {
  const fail = (field: string, expected: string): never => {
    throw new KmsError('KMS_OPTIONS_INVALID', `KMS option "${field}" must be ${expected}`)
  }
  if (typeof options.dataDir !== 'string' || options.dataDir === '') fail('dataDir', 'a directory path')
  if (!isHex(options.measurement) || options.measurement.length !== 66)
    fail('measurement', 'a 0x-prefixed 32-byte hex string')
  if (!Number.isSafeInteger(options.chainId) || options.chainId <= 0) fail('chainId', 'a positive integer')
  for (const key of ['registry', 'contracts', 'commands'] as const)
    if (!isAddress(options.contracts?.[key])) fail(`contracts.${key}`, 'an address')
  if (options.assignCluster !== undefined && options.assignCluster <= 0n)
    fail('assignCluster', 'a cluster id (1 or more)')
  if (options.pollIntervalMs !== undefined && !(options.pollIntervalMs > 0))
    fail('pollIntervalMs', 'a positive number')
  if (
    options.port !== undefined &&
    (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
  )
    fail('port', 'a port number (0 picks a free one)')
}
