/**
 * Runs the cluster's jobs (docs/interop.md). After every committed block, and on a short tick, it reads
 * the contracts with jobs (the public `jobs/contracts` index), and for each job due it decides whether
 * this worker's turn has come: the cluster's active members are ordered by keccak256(contract ‖ job id ‖
 * address), the first runs the job as soon as it is due, the k-th only `takeoverMs · k` later if no
 * outcome has landed by then. Running a job means: its `run(ctx, args)` in the sandbox (one worker,
 * HTTP and secrets allowed), then its outcome, authenticated with the contract's jobs key and sealed to
 * the contract's key, submitted through the ledger from this worker's identity account (which pays the
 * gas). The block executor applies an outcome at most once (`takeJob`), so a takeover that races the
 * first runner costs gas, never a second apply.
 */
import { deriveContractKeys, hpkeCommandInfo, keccak256, setupBaseS } from '@veil/crypto'
import {
  type Clock,
  decodeValue,
  encodeCommandPayload,
  errorMessage,
  type Hex,
  type Logger,
  PayloadFormat,
  type Startable,
  type VeilValue,
} from '@veil/protocol'
import { hexToBytes } from 'viem'
import { queryLogText } from '../api/logs.js'
import type { UsageMeter } from '../api/usage.js'
import { readFuelPrice } from '../follower/billing.js'
import { CODE_TABLE, CONTRACTS_TABLE, decodeContractRecord } from '../follower/contracts.js'
import { type EngineCache, readJobIndex } from '../follower/executor.js'
import { JOB_OUTCOME_METHOD, type JobOutcome, signJobOutcome } from '../follower/job-outcome.js'
import { type PendingJob, pendingJobs } from '../follower/system-state.js'
import { type OffChainServices, offChainHost, readOnlyStorage } from '../offchain/host.js'
import { reportedError } from '../sandbox/index.js'
import type { ContractKeyring, ContractSecrets, StateStore } from '../state/index.js'

export interface JobRunnerOptions {
  store: () => StateStore | undefined
  engines: () => EngineCache | undefined
  secrets: ContractSecrets
  keys: ContractKeyring
  offChain: OffChainServices
  /** This worker's identity address. */
  self: Hex
  /** The cluster's active members (addresses); read from the registry. */
  members: () => Promise<readonly Hex[]>
  /** Submits a payload for `contractId` from this worker's identity account; resolves with the tx hash. */
  submit: (contractId: bigint, payload: Uint8Array) => Promise<Hex>
  chainId: number
  contractsAddress: Hex
  clock: Clock
  logger: Logger
  /** How long a worker waits for the one before it in order (default 20 s). */
  takeoverMs?: number
  /** How often due jobs are looked for between blocks (default 1 s). */
  tickMs?: number
  /** Meters job runs like queries for usage receipts, on a network with billing. */
  usage?: UsageMeter
  /** Called with every outcome this worker submitted (tests, metrics). */
  onSubmitted?: (job: { contractId: string; id: string; txHash: Hex; outcome: JobOutcome }) => void
}

const DEFAULT_TAKEOVER_MS = 20_000
const DEFAULT_TICK_MS = 1_000
const AEAD_AES_128_GCM = 0x01
const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

export class JobRunner implements Startable {
  readonly #options: JobRunnerOptions
  readonly #takeoverMs: number
  /** Jobs this worker ran, by `contract/id`, with when: not run again until a full round has passed. */
  readonly #attempts = new Map<string, number>()
  #timer: ReturnType<typeof setInterval> | undefined
  #scanning: Promise<void> | undefined
  #again = false
  #stopped = false
  readonly #running = new Set<Promise<void>>()
  /** The off-chain hosts of job runs in flight: closed on stop, which cancels their HTTP requests. */
  readonly #hosts = new Set<{ close(): void }>()

  constructor(options: JobRunnerOptions) {
    this.#options = options
    this.#takeoverMs = options.takeoverMs ?? DEFAULT_TAKEOVER_MS
  }

  async start(): Promise<void> {
    this.#stopped = false
    this.#timer = setInterval(() => this.poke(), this.#options.tickMs ?? DEFAULT_TICK_MS)
    this.#timer.unref()
    this.poke()
  }

  /** Looks for due jobs now (after a block). Scans never overlap; a poke during one runs another after. */
  poke(): void {
    if (this.#stopped) return
    if (this.#scanning) {
      this.#again = true
      return
    }
    this.#scanning = this.#scan()
      .catch((error) => this.#options.logger.warn('job scan failed', { error: errorMessage(error) }))
      .finally(() => {
        this.#scanning = undefined
        if (this.#again) {
          this.#again = false
          this.poke()
        }
      })
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#scanning
    for (const host of this.#hosts) host.close()
    await Promise.allSettled([...this.#running])
  }

  async #scan(): Promise<void> {
    const store = this.#options.store()
    if (!store) return
    const contracts = readJobIndex(store)
    if (contracts.length === 0) return
    const now = this.#options.clock.now()
    let members: readonly Hex[] | undefined
    for (const contractId of contracts) {
      for (const job of pendingJobs(store, contractId)) {
        if (job.dueAt > now) continue
        const key = `${contractId}/${job.id}`
        members ??= (await this.#options.members()).map((m) => m.toLowerCase() as Hex)
        const order = runnerOrder(contractId, job.id, members)
        const position = order.indexOf(this.#options.self.toLowerCase() as Hex)
        if (position < 0) continue
        const round = this.#takeoverMs * Math.max(1, order.length)
        const last = this.#attempts.get(key)
        if (last !== undefined && now - last < round) continue
        // Our turn: we are first, or everyone before us had takeoverMs each. After a full round without an
        // outcome (say, the whole cluster restarted), the order starts over.
        const elapsed = (now - job.dueAt) % round
        if (elapsed < position * this.#takeoverMs) continue
        this.#attempts.set(key, now)
        const running = this.#run(store, contractId, job).finally(() => this.#running.delete(running))
        this.#running.add(running)
      }
    }
    // Forget attempts of jobs that are gone.
    if (this.#attempts.size > 1024) {
      const horizon = now - 10 * this.#takeoverMs
      for (const [key, at] of this.#attempts) if (at < horizon) this.#attempts.delete(key)
    }
  }

  async #run(store: StateStore, contractId: string, job: PendingJob): Promise<void> {
    const { logger } = this.#options
    const started = this.#options.clock.now()
    let outcome: JobOutcome
    try {
      outcome = await this.#execute(store, contractId, job)
    } catch (error) {
      logger.warn('job could not run on this worker', { contractId, job: job.id, error: errorMessage(error) })
      this.#attempts.delete(`${contractId}/${job.id}`) // let the next scan try again
      return
    }
    if (this.#stopped) return
    try {
      const payload = this.#seal(
        contractId,
        signJobOutcome(this.#options.secrets.contractSecret(contractId), job.id, outcome),
      )
      const txHash = await this.#options.submit(BigInt(contractId), payload)
      logger.info('job outcome submitted', {
        contractId,
        job: job.id,
        name: job.name,
        ok: outcome.ok,
        ms: this.#options.clock.now() - started,
        txHash,
      })
      this.#options.onSubmitted?.({ contractId, id: job.id, txHash, outcome })
    } catch (error) {
      logger.warn('job outcome could not be submitted', {
        contractId,
        job: job.id,
        error: errorMessage(error),
      })
    }
  }

  /** Runs the job's run() against the committed state; contract failures are outcomes, not throws. */
  async #execute(store: StateStore, contractId: string, job: PendingJob): Promise<JobOutcome> {
    const engines = this.#options.engines()
    const recordBytes = store.getPlain(CONTRACTS_TABLE, contractId)
    if (!engines || !recordBytes) throw new Error('the contract is not available on this worker')
    const record = decodeContractRecord(recordBytes)
    const code = store.getPlain(CODE_TABLE, record.codeHash)
    if (!code || record.broken) {
      return {
        ok: false,
        error: { code: 'CODE_INVALID', message: record.broken ?? 'the contract code is missing' },
      }
    }
    const engine = await engines.engineFor(record.codeHash, utf8Decoder.decode(code))
    const cursor = store.cursor()
    if (!cursor) throw new Error('no committed block yet')
    const host = offChainHost(this.#options.offChain, store, contractId)
    this.#hosts.add(host)
    const logs: { level: 'info' | 'warn' | 'error'; message: string }[] = []
    const now = this.#options.clock.now()
    try {
      const result = await engine.invoke({
        env: {
          kind: 'job',
          contractId,
          caller: null,
          block: { number: cursor.number, timestamp: now, hash: cursor.hash },
          randomSeed: crypto.getRandomValues(new Uint8Array(32)),
          keys: this.#options.keys.forContract(contractId),
        },
        method: job.name,
        argsText: `[${job.argsText}]`,
        host: {
          storage: readOnlyStorage(store, contractId, 'job runs'),
          log: (level, message) => {
            logs.push({ level, message })
          },
          ...host,
        },
      })
      const price = this.#options.usage ? readFuelPrice(store) : 0n
      if (price > 0n) this.#options.usage?.record(contractId, result.fuel, price)
      if (logs.length > 0) {
        // Like a query's lines: kept on the worker that ran it, sealed, for the owner (veil logs).
        const entries = logs.map((line) => ({
          contractId,
          text: queryLogText(line, job.name, cursor.number, now, 'job'),
        }))
        store.appendLogs(entries).catch((error) =>
          this.#options.logger.warn('could not keep a job’s log lines', {
            contractId,
            error: errorMessage(error),
          }),
        )
      }
      if (result.ok) return { ok: true, value: decodeValue(result.resultText) as VeilValue }
      const { code, message } = reportedError(result.error)
      return { ok: false, error: { code, message } }
    } finally {
      host.close()
      this.#hosts.delete(host)
    }
  }

  /** `{ method: '$job', args: [submission] }` sealed to the contract's key, as a client seals commands. */
  #seal(contractId: string, submission: unknown): Uint8Array {
    const { x25519PublicKey } = deriveContractKeys(this.#options.secrets.contractSecret(contractId))
    const plain = encodeCommandPayload({ method: JOB_OUTCOME_METHOD, args: [submission] })
    const sender = setupBaseS({
      recipientPublicKey: x25519PublicKey,
      info: hpkeCommandInfo({
        chainId: this.#options.chainId,
        contracts: this.#options.contractsAddress,
        contractId: BigInt(contractId),
      }),
      aead: 'aes-128-gcm',
    })
    const ct = sender.seal(plain.subarray(1), hexToBytes(this.#options.self))
    const out = new Uint8Array(2 + sender.enc.length + ct.length)
    out[0] = PayloadFormat.sealed
    out[1] = AEAD_AES_128_GCM
    out.set(sender.enc, 2)
    out.set(ct, 2 + sender.enc.length)
    return out
  }
}

/** The order in which the cluster's workers take a job: by keccak256(contract ‖ job ‖ address). */
export function runnerOrder(contractId: string, jobId: string, members: readonly Hex[]): Hex[] {
  const score = (member: Hex) =>
    Buffer.from(keccak256(utf8.encode(`${contractId}/${jobId}/${member.toLowerCase()}`))).toString('hex')
  return [...members].sort((a, b) => (score(a) < score(b) ? -1 : score(a) > score(b) ? 1 : 0))
}
