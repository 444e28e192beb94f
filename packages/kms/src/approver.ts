/**
 * The KMS's admission role (docs/protocol.md, end of "Provisioning (KMS)"): for each `WorkerRegistered`
 * of a still-pending worker it verifies the quote from the registration (the same check as provisioning)
 * and approves the worker on chain, then, when configured with a cluster to fill, adds it there.
 *
 * A refused worker stays pending. Its refusal is logged once per distinct reason and kept for operators
 * (`/v1/status`), and it is checked again from time to time: the owner may allow its measurement later,
 * or a collateral source may come back.
 */
import { AttestationError, type DcapCollateral, isSimulatedQuote } from '@veil/attestation'
import { type Ledger, Registry, WorkerStatus } from '@veil/ledger'
import { type Address, type Clock, errorMessage, type Logger, type Startable } from '@veil/protocol'
import { hexToBytes, type PublicClient } from 'viem'
import { type QuotePolicy, verifyRegisteredWorker } from './attestation.js'
import type { RegistryReader, WorkerRecord } from './registry-reader.js'
import { LedgerScanner } from './scanner.js'
import type { TransactionSender } from './transactions.js'

/** Where the KMS gets Intel collateral for a hardware quote (e.g. from a PCCS); undefined when it has none. */
export type CollateralSource = (quote: Uint8Array) => Promise<DcapCollateral | undefined>

/** Why a pending worker was not approved, as `/v1/status` shows it. */
export interface WorkerRefusal {
  worker: Address
  /** An `AttestationError` code, e.g. `MEASUREMENT_NOT_ALLOWED`. */
  code: string
  message: string
  /** When this reason was first seen (ISO 8601). */
  since: string
}

export interface ApproverStatus {
  /** Last block whose registrations were handled, or null before the first round. */
  scannedTo: string | null
  /** Workers this process approved. */
  approved: number
  /** Pending workers it refused, newest first (at most 50). */
  refusals: WorkerRefusal[]
}

export interface WorkerApproverOptions {
  publicClient: PublicClient
  /** The ledger as the KMS identity. */
  ledger: Ledger
  registry: RegistryReader
  sender: TransactionSender
  chainId: number
  fromBlock: bigint
  pollIntervalMs: number
  /** Cluster to add approved workers to; none when undefined. */
  assignCluster?: bigint | undefined
  /** Without it, hardware quotes stay pending (`COLLATERAL_MISSING`). */
  collateralFor?: CollateralSource | undefined
  policy: QuotePolicy
  /** How often a refused, still-pending worker is checked again. Default 30 s. */
  recheckIntervalMs?: number
  clock: Clock
  logger: Logger
}

interface Registration {
  worker: Address
  quote: Uint8Array
}

interface Refused {
  quote: Uint8Array
  code: string
  message: string
  since: number
  checkedAt: number
}

const MAX_LISTED_REFUSALS = 50

/** Approves pending workers whose registration quote verifies. */
export class WorkerApprover implements Startable {
  private readonly log: Logger
  private readonly scanner: LedgerScanner<Registration>
  private readonly refused = new Map<Address, Refused>()
  /** Approved by this process but not yet added to `assignCluster` (the second transaction failed). */
  private readonly toAssign = new Set<Address>()
  private approvedCount = 0

  constructor(private readonly options: WorkerApproverOptions) {
    this.log = options.logger
    this.scanner = new LedgerScanner<Registration>({
      publicClient: options.publicClient,
      fromBlock: options.fromBlock,
      pollIntervalMs: options.pollIntervalMs,
      logger: options.logger,
      read: (fromBlock, toBlock) => this.read(fromBlock, toBlock),
      handle: (registration) => this.admit(registration.worker, registration.quote),
      afterRound: () => this.recheck(),
    })
  }

  async start(): Promise<void> {
    await this.scanner.start()
  }

  async stop(): Promise<void> {
    await this.scanner.stop()
  }

  /** One round now, without the loop (tests, tools). */
  poll(): Promise<void> {
    return this.scanner.poll()
  }

  status(): ApproverStatus {
    const scannedTo = this.scanner.scannedTo
    const refusals = [...this.refused.entries()]
      .sort(([, a], [, b]) => b.since - a.since)
      .slice(0, MAX_LISTED_REFUSALS)
      .map(([worker, r]) => ({
        worker,
        code: r.code,
        message: r.message,
        since: new Date(r.since).toISOString(),
      }))
    return {
      scannedTo: scannedTo === undefined ? null : String(scannedTo),
      approved: this.approvedCount,
      refusals,
    }
  }

  private async read(fromBlock: bigint, toBlock: bigint): Promise<Registration[]> {
    const events = await this.options.publicClient.getContractEvents({
      address: this.options.ledger.addresses.registry,
      abi: Registry.abi,
      eventName: 'WorkerRegistered',
      fromBlock,
      toBlock,
      strict: true,
    })
    return events.map((event) => ({ worker: event.args.worker, quote: hexToBytes(event.args.quote) }))
  }

  /** Idempotent: looks at the worker's current state on the ledger before doing anything. */
  private async admit(worker: Address, quote: Uint8Array): Promise<void> {
    const record = await this.options.registry.getWorker(worker)
    if (record.status === WorkerStatus.Pending) {
      await this.review(worker, record, quote)
      return
    }
    this.refused.delete(worker)
    // Only workers this process approved are assigned here: an active worker out of any cluster may
    // have been taken out by the registry owner on purpose.
    if (record.status === WorkerStatus.Active && this.toAssign.has(worker)) await this.assign(worker, record)
    else this.toAssign.delete(worker)
  }

  private async review(worker: Address, record: WorkerRecord, quote: Uint8Array): Promise<void> {
    const { options } = this
    try {
      const collateral = await this.collateralFor(quote)
      await verifyRegisteredWorker({
        worker: { address: worker, x25519PublicKey: record.x25519PublicKey, measurement: record.measurement },
        quote,
        collateral,
        chainId: options.chainId,
        registry: options.ledger.addresses.registry,
        devMode: await options.registry.devMode(),
        isMeasurementAllowed: (m) => options.registry.measurementAllowed(m),
        now: Math.floor(options.clock.now() / 1000),
        policy: options.policy,
      })
    } catch (error) {
      if (!(error instanceof AttestationError)) throw error
      this.refuse(worker, quote, error)
      return
    }
    await options.sender.send(`approving worker ${worker}`, () =>
      options.ledger.registry.write.approveWorker([worker]),
    )
    this.approvedCount++
    this.refused.delete(worker)
    this.log.info('approved a worker', { worker, measurement: record.measurement })
    if (options.assignCluster !== undefined) {
      this.toAssign.add(worker)
      await this.assign(worker, record)
    }
  }

  /** Adds an approved worker to `assignCluster`; while the transaction has not gone through, it stays in `toAssign`. */
  private async assign(worker: Address, record: WorkerRecord): Promise<void> {
    const { options } = this
    const cluster = options.assignCluster
    if (cluster === undefined || record.cluster === cluster) {
      this.toAssign.delete(worker)
      return
    }
    if (record.cluster !== 0n) {
      this.toAssign.delete(worker)
      this.log.info('not adding a worker that is already in another cluster', {
        worker,
        cluster: String(record.cluster),
      })
      return
    }
    await options.sender.send(`adding worker ${worker} to cluster ${cluster}`, () =>
      options.ledger.registry.write.addClusterMember([cluster, worker]),
    )
    this.toAssign.delete(worker)
    this.log.info('added a worker to its cluster', { worker, cluster: String(cluster) })
  }

  private async collateralFor(quote: Uint8Array): Promise<DcapCollateral | undefined> {
    if (isSimulatedQuote(quote)) return undefined
    const source = this.options.collateralFor
    if (!source)
      throw new AttestationError('COLLATERAL_MISSING', 'the KMS has no source of Intel collateral', {
        hint: 'start the KMS with a collateral source (PCCS) to approve hardware workers',
      })
    let collateral: DcapCollateral | undefined
    try {
      collateral = await source(quote)
    } catch (error) {
      throw new AttestationError(
        'COLLATERAL_MISSING',
        `fetching Intel collateral failed: ${errorMessage(error)}`,
        { cause: error },
      )
    }
    if (!collateral)
      throw new AttestationError('COLLATERAL_MISSING', 'no Intel collateral is available for this quote')
    return collateral
  }

  private refuse(worker: Address, quote: Uint8Array, error: AttestationError): void {
    const now = this.options.clock.now()
    const previous = this.refused.get(worker)
    const same = previous?.code === error.code && previous.message === error.shortMessage
    if (!same)
      this.log.warn('not approving a worker', {
        worker,
        code: error.code,
        reason: error.shortMessage,
        ...(error.hint ? { hint: error.hint } : {}),
      })
    this.refused.set(worker, {
      quote,
      code: error.code,
      message: error.shortMessage,
      since: same && previous ? previous.since : now,
      checkedAt: now,
    })
  }

  /** Checks refused, still-pending workers again once their recheck interval has passed. */
  private async recheck(): Promise<void> {
    const now = this.options.clock.now()
    const interval = this.options.recheckIntervalMs ?? 30_000
    for (const [worker, refused] of [...this.refused]) {
      if (now - refused.checkedAt < interval) continue
      await this.admit(worker, refused.quote)
    }
  }
}
