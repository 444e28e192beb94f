import { type Clock, VeilError } from '@veil/protocol'
import {
  AbortedError,
  InvalidArgumentError,
  NoWorkersError,
  WorkersUnavailableError,
  WorkerUnavailableError,
  WorkerVerificationError,
} from '../errors.js'
import type { RegisteredWorker, WorkerSelector } from './types.js'

/** What to do with a failed attempt: try the next worker (`next`), and if so whether this one is down. */
export type AttemptVerdict = 'down' | 'next' | 'throw'

export interface WorkerPoolOptions {
  cluster: bigint
  /** Reads the cluster's workers from the ledger. */
  discover: () => Promise<RegisteredWorker[]>
  /** Checks one worker (fetches its /v1/info, runs the verify hook); throws to refuse it. */
  verify: (worker: RegisteredWorker) => Promise<void>
  clock: Clock
  /** How long the worker list is reused before the ledger is read again (default 30 s). */
  refreshMs?: number
  /** First back-off after a worker failed (doubles per failure, up to `maxCooldownMs`). */
  cooldownMs?: number
  maxCooldownMs?: number
}

interface Health {
  failures: number
  /** Until then, the worker is tried only after every healthy one. */
  downUntil: number
  verified: boolean
}

/**
 * The verified, active workers of one cluster, with client-side health: requests are spread round-robin
 * over healthy workers and fail over to the next on connection errors, timeouts and 5xx. A worker that
 * failed is tried again only after a back-off, and last; one that failed verification is not used until
 * the list is read again.
 */
export class WorkerPool {
  private readonly options: WorkerPoolOptions
  private cached: { at: number; workers: RegisteredWorker[] } | undefined
  private loading: Promise<RegisteredWorker[]> | undefined
  private readonly health = new Map<string, Health>()
  private readonly refused = new Map<string, WorkerVerificationError>()
  private cursor = 0

  constructor(options: WorkerPoolOptions) {
    this.options = options
  }

  get cluster(): bigint {
    return this.options.cluster
  }

  /** The cluster's active workers with an endpoint, in registry order (cached for `refreshMs`). */
  async workers(options: { refresh?: boolean } = {}): Promise<RegisteredWorker[]> {
    const now = this.options.clock.now()
    if (!options.refresh && this.cached && now - this.cached.at < (this.options.refreshMs ?? 30_000)) {
      return this.cached.workers
    }
    this.loading ??= this.options
      .discover()
      .then((all) => {
        const workers = all.filter((w) => w.status === 'active' && w.url !== '')
        this.cached = { at: this.options.clock.now(), workers }
        // A re-read may show fixed registrations: give refused workers another chance.
        this.refused.clear()
        return workers
      })
      .finally(() => {
        this.loading = undefined
      })
    return this.loading
  }

  /** Resolves a selector to one of the cluster's active workers. */
  async select(selector: WorkerSelector): Promise<RegisteredWorker> {
    const workers = await this.workers()
    let found: RegisteredWorker | undefined
    if (typeof selector === 'number') {
      found = workers[selector]
      if (!found)
        throw new InvalidArgumentError(`there is no worker ${selector} in cluster ${this.cluster}`, {
          details: `the cluster has ${workers.length} active worker(s), numbered from 0`,
        })
      return found
    }
    const wanted = selector.toLowerCase().replace(/\/+$/, '')
    found = workers.find(
      (w) => w.address.toLowerCase() === wanted || w.url.toLowerCase().replace(/\/+$/, '') === wanted,
    )
    if (!found)
      throw new InvalidArgumentError(`no active worker of cluster ${this.cluster} is ${selector}`, {
        hint: 'use an index, address or endpoint URL from `veil workers`',
      })
    return found
  }

  /**
   * Runs `op` on one worker, failing over until one succeeds. `classify` decides, per error, whether to
   * try the next worker; by default only `WorkerUnavailableError` (marks the worker down) and
   * `WorkerVerificationError` (refuses it) move on. With `pin`, exactly that worker is used.
   */
  async run<T>(
    action: string,
    op: (worker: RegisteredWorker) => Promise<T>,
    options: {
      pin?: WorkerSelector | undefined
      signal?: AbortSignal | undefined
      classify?: (error: unknown) => AttemptVerdict | undefined
    } = {},
  ): Promise<T> {
    if (options.pin !== undefined) {
      const worker = await this.select(options.pin)
      await this.ensureVerified(worker)
      try {
        const result = await op(worker)
        this.markUp(worker)
        return result
      } catch (error) {
        if (error instanceof WorkerUnavailableError) this.markDown(worker)
        throw error
      }
    }
    const attempts: VeilError[] = []
    const tried = new Set<string>()
    let unavailable = false
    for (const refresh of [false, true]) {
      // After every known worker failed for availability, read the ledger again (one may have moved).
      if (refresh && tried.size > 0 && !unavailable) break
      const workers = await this.workers({ refresh })
      for (const worker of this.order(workers)) {
        if (tried.has(key(worker))) continue
        tried.add(key(worker))
        if (options.signal?.aborted) throw new AbortedError(action)
        try {
          await this.ensureVerified(worker)
          const result = await op(worker)
          this.markUp(worker)
          return result
        } catch (error) {
          const verdict = options.classify?.(error) ?? defaultVerdict(error)
          if (verdict === 'throw') throw error
          if (verdict === 'down') this.markDown(worker)
          if (verdict === 'down' || error instanceof WorkerVerificationError) unavailable = true
          attempts.push(
            error instanceof VeilError
              ? error
              : new WorkerUnavailableError(
                  worker.url,
                  error instanceof Error ? error.message : String(error),
                  {
                    cause: error,
                  },
                ),
          )
        }
      }
    }
    if (tried.size === 0) throw new NoWorkersError(this.cluster)
    throw new WorkersUnavailableError(action, attempts)
  }

  /** Marks a worker as failed: it is tried last until its back-off ends. */
  markDown(worker: RegisteredWorker): void {
    const health = this.healthOf(worker)
    health.failures++
    const base = this.options.cooldownMs ?? 1_000
    const cooldown = Math.min(base * 2 ** (health.failures - 1), this.options.maxCooldownMs ?? 30_000)
    health.downUntil = this.options.clock.now() + cooldown
  }

  markUp(worker: RegisteredWorker): void {
    const health = this.healthOf(worker)
    health.failures = 0
    health.downUntil = 0
  }

  /** Whether the worker is currently considered healthy (not backing off). */
  isHealthy(worker: RegisteredWorker): boolean {
    return this.healthOf(worker).downUntil <= this.options.clock.now()
  }

  private async ensureVerified(worker: RegisteredWorker): Promise<void> {
    const refused = this.refused.get(key(worker))
    if (refused) throw refused
    const health = this.healthOf(worker)
    if (health.verified) return
    try {
      await this.options.verify(worker)
    } catch (error) {
      if (error instanceof WorkerUnavailableError || error instanceof AbortedError) throw error
      const refusal =
        error instanceof WorkerVerificationError
          ? error
          : new WorkerVerificationError(
              worker.address,
              error instanceof Error ? error.message : String(error),
              {
                cause: error,
              },
            )
      this.refused.set(key(worker), refusal)
      throw refusal
    }
    health.verified = true
  }

  /** Healthy workers first, rotated so consecutive requests start at different workers; then the rest. */
  private order(workers: RegisteredWorker[]): RegisteredWorker[] {
    const now = this.options.clock.now()
    const until = (w: RegisteredWorker) =>
      this.refused.has(key(w)) ? Number.POSITIVE_INFINITY : this.healthOf(w).downUntil
    const healthy = workers.filter((w) => until(w) <= now)
    const down = workers.filter((w) => until(w) > now).sort((a, b) => until(a) - until(b))
    const start = healthy.length ? this.cursor++ % healthy.length : 0
    return [...healthy.slice(start), ...healthy.slice(0, start), ...down]
  }

  private healthOf(worker: RegisteredWorker): Health {
    let health = this.health.get(key(worker))
    if (!health) {
      health = { failures: 0, downUntil: 0, verified: false }
      this.health.set(key(worker), health)
    }
    return health
  }
}

function key(worker: RegisteredWorker): string {
  return `${worker.address.toLowerCase()} ${worker.url}`
}

function defaultVerdict(error: unknown): AttemptVerdict {
  if (error instanceof WorkerUnavailableError) return 'down'
  if (error instanceof WorkerVerificationError) return 'next'
  return 'throw'
}
