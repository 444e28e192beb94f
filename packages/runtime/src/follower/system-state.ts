/**
 * What Veil itself keeps for a contract in the replicated state, beside the contract's own keys: its
 * secrets and its jobs and timers. It lives under the contract's system id (`<id>~veil`), which the
 * state store seals and digests like any contract (with that id's own keys), and which no contract can
 * address (ledger contract ids are decimal numbers). Every change is made by the block executor, in
 * ledger order, so it is identical on every worker.
 */
import { decodeValue, encodeValue, VeilError } from '@veil/protocol'

/** The state id under which Veil keeps a contract's secrets and jobs. */
export function systemId(contractId: string): string {
  return `${contractId}~veil`
}

/** Reads and writes contract state (a `BlockWriter` in a block, the committed store outside). */
export interface StateAccess {
  get(contractId: string, key: string): string | undefined
  set?(contractId: string, key: string, valueText: string): void
  delete?(contractId: string, key: string): boolean
}

/** A refused system request: the code and message go into the receipt (or to the contract). */
export class SystemRequestError extends VeilError {
  override name = 'SystemRequestError'
  constructor(code: string, message: string) {
    super(message, { code })
  }
}

// ── Secrets ────────────────────────────────────────────────────────────────────────────────────────

const SECRETS_KEY = 'secrets'
/** `KEY` names: letters, digits and `_`, not starting with a digit (as environment variables). */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/
export const MAX_SECRETS = 64
export const MAX_SECRET_VALUE_BYTES = 4096

export function readSecrets(state: StateAccess, contractId: string): Record<string, string> {
  const text = state.get(systemId(contractId), SECRETS_KEY)
  return text === undefined ? {} : (decodeValue(text) as Record<string, string>)
}

/** A `$secrets` request: names to set (with values) and names to delete. */
export interface SecretsChange {
  set: Record<string, string>
  delete: string[]
}

/** Validates the argument of a `$secrets` command. Throws `SystemRequestError` (BAD_ARGUMENTS). */
export function parseSecretsChange(value: unknown): SecretsChange {
  const bad = (message: string): never => {
    throw new SystemRequestError('BAD_ARGUMENTS', message)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    bad('$secrets expects { set?: { NAME: value }, delete?: [NAME] }')
  }
  const { set = {}, delete: remove = [] } = value as { set?: unknown; delete?: unknown }
  if (set === null || typeof set !== 'object' || Array.isArray(set)) bad('set must be an object of strings')
  if (!Array.isArray(remove)) bad('delete must be an array of names')
  const change: SecretsChange = { set: {}, delete: [] }
  for (const [name, secret] of Object.entries(set as Record<string, unknown>)) {
    if (!SECRET_NAME.test(name)) {
      bad(
        `secret name ${JSON.stringify(name.slice(0, 70))} is invalid: use letters, digits and _, at most 64`,
      )
    }
    if (typeof secret !== 'string') bad(`secret ${name} must be a string`)
    if (Buffer.byteLength(secret as string) > MAX_SECRET_VALUE_BYTES) {
      bad(`secret ${name} is longer than ${MAX_SECRET_VALUE_BYTES} bytes`)
    }
    change.set[name] = secret as string
  }
  for (const name of remove as unknown[]) {
    if (typeof name !== 'string' || !SECRET_NAME.test(name))
      bad(`cannot delete ${JSON.stringify(name)}: not a secret name`)
    change.delete.push(name as string)
  }
  if (Object.keys(change.set).length === 0 && change.delete.length === 0) bad('nothing to set or delete')
  return change
}

/** Applies a change; returns the names set and deleted (never the values). */
export function applySecretsChange(
  state: Required<StateAccess>,
  contractId: string,
  change: SecretsChange,
): { set: string[]; deleted: string[] } {
  const secrets = readSecrets(state, contractId)
  const deleted: string[] = []
  for (const name of change.delete) {
    if (name in secrets) {
      delete secrets[name]
      deleted.push(name)
    }
  }
  for (const [name, value] of Object.entries(change.set)) secrets[name] = value
  if (Object.keys(secrets).length > MAX_SECRETS) {
    throw new SystemRequestError('TOO_MANY_SECRETS', `a contract has at most ${MAX_SECRETS} secrets`)
  }
  const sorted = Object.fromEntries(Object.entries(secrets).sort(([a], [b]) => (a < b ? -1 : 1)))
  if (Object.keys(sorted).length === 0) state.delete(systemId(contractId), SECRETS_KEY)
  else state.set(systemId(contractId), SECRETS_KEY, encodeValue(sorted))
  return { set: Object.keys(change.set).sort(), deleted }
}

// ── Jobs and timers ────────────────────────────────────────────────────────────────────────────────

const JOBS_KEY = 'jobs'
export const MAX_PENDING_JOBS = 64
export const MAX_TIMERS = 16
export const MIN_TIMER_SECONDS = 5
export const MAX_TIMER_SECONDS = 365 * 24 * 3600

/** A job waiting for its outcome. */
export interface PendingJob {
  /** `j<n>` for an enqueued job, `t<n>.<k>` for occurrence k of timer n. */
  id: string
  name: string
  argsText: string
  /** When it became due: the enqueuing block's timestamp, or the timer occurrence's time (ms). */
  dueAt: number
}

export interface Timer {
  id: string
  name: string
  argsText: string
  intervalMs: number
  startAt: number
  /** The next occurrence to run (1-based): due at startAt + next · intervalMs. */
  next: number
}

interface JobsRecord {
  seq: number
  pending: PendingJob[]
  timers: Timer[]
}

function readJobs(state: StateAccess, contractId: string): JobsRecord {
  const text = state.get(systemId(contractId), JOBS_KEY)
  return text === undefined
    ? { seq: 0, pending: [], timers: [] }
    : (decodeValue(text) as unknown as JobsRecord)
}

/** Jobs due now or later: enqueued ones, and each timer's next occurrence. */
export function pendingJobs(state: StateAccess, contractId: string): PendingJob[] {
  const record = readJobs(state, contractId)
  return [
    ...record.pending,
    ...record.timers.map((timer) => ({
      id: `${timer.id}.${timer.next}`,
      name: timer.name,
      argsText: timer.argsText,
      dueAt: timer.startAt + timer.next * timer.intervalMs,
    })),
  ]
}

/** `ctx.jobs` of one invocation, writing into the block (deterministic ids). */
export class JobBook {
  constructor(
    private readonly state: Required<StateAccess>,
    private readonly contractId: string,
    private readonly jobNames: readonly string[],
    /** The block timestamp (ms). */
    private readonly now: number,
    private readonly onChange: () => void,
  ) {}

  private checkName(name: string): void {
    if (!this.jobNames.includes(name)) {
      throw new SystemRequestError(
        'UNKNOWN_JOB',
        `no job named ${JSON.stringify(name)}: define it under jobs: { ${name}: { run, apply } }`,
      )
    }
  }

  private write(record: JobsRecord): void {
    this.state.set(systemId(this.contractId), JOBS_KEY, encodeValue(record as never))
    this.onChange()
  }

  enqueue(name: string, argsText: string): string {
    this.checkName(name)
    const record = readJobs(this.state, this.contractId)
    if (record.pending.length >= MAX_PENDING_JOBS) {
      throw new SystemRequestError(
        'TOO_MANY_JOBS',
        `a contract has at most ${MAX_PENDING_JOBS} jobs waiting for their outcome`,
      )
    }
    record.seq++
    const id = `j${record.seq}`
    record.pending.push({ id, name, argsText, dueAt: this.now })
    this.write(record)
    return id
  }

  every(seconds: number, name: string, argsText: string): string {
    this.checkName(name)
    if (!Number.isInteger(seconds) || seconds < MIN_TIMER_SECONDS || seconds > MAX_TIMER_SECONDS) {
      throw new SystemRequestError(
        'BAD_INTERVAL',
        `ctx.jobs.every(seconds, …): seconds must be a whole number from ${MIN_TIMER_SECONDS} to ${MAX_TIMER_SECONDS}`,
      )
    }
    const record = readJobs(this.state, this.contractId)
    if (record.timers.length >= MAX_TIMERS) {
      throw new SystemRequestError('TOO_MANY_TIMERS', `a contract has at most ${MAX_TIMERS} timers`)
    }
    record.seq++
    const id = `t${record.seq}`
    record.timers.push({ id, name, argsText, intervalMs: seconds * 1000, startAt: this.now, next: 1 })
    this.write(record)
    return id
  }

  cancel(id: string): boolean {
    const record = readJobs(this.state, this.contractId)
    const timers = record.timers.filter((timer) => timer.id !== id)
    const pending = record.pending.filter((job) => job.id !== id)
    if (timers.length === record.timers.length && pending.length === record.pending.length) return false
    this.write({ ...record, timers, pending })
    return true
  }
}

/**
 * Takes job `id` for its outcome to be applied at block time `now` (ms): removes an enqueued job, or
 * advances a timer past the occurrence (skipping occurrences already due, so a late outcome does not
 * cause a burst). Returns the job, or throws `SystemRequestError` when it is not pending (applied
 * already, cancelled, never enqueued, or a timer occurrence that is not the next one or not yet due).
 */
export function takeJob(
  state: Required<StateAccess>,
  contractId: string,
  id: string,
  now: number,
): PendingJob {
  const record = readJobs(state, contractId)
  const index = record.pending.findIndex((job) => job.id === id)
  let job: PendingJob | undefined
  if (index >= 0) {
    job = record.pending[index]
    record.pending.splice(index, 1)
  } else {
    const match = /^(t\d+)\.(\d+)$/.exec(id)
    const timer = match ? record.timers.find((t) => t.id === match[1]) : undefined
    if (timer && match && Number(match[2]) === timer.next) {
      const dueAt = timer.startAt + timer.next * timer.intervalMs
      // A little early is fine (clocks differ); more than a tenth of the interval is not.
      if (now + Math.min(timer.intervalMs / 10, 5_000) >= dueAt) {
        job = { id, name: timer.name, argsText: timer.argsText, dueAt }
        timer.next = Math.max(timer.next + 1, Math.floor((now - timer.startAt) / timer.intervalMs) + 1)
      }
    }
  }
  if (!job) {
    throw new SystemRequestError(
      'JOB_NOT_PENDING',
      `job ${id} is not waiting for an outcome (applied already, cancelled, or not due)`,
    )
  }
  state.set(systemId(contractId), JOBS_KEY, encodeValue(record as never))
  return job
}

/** Whether the contract has jobs or timers (the runner's index). */
export function hasJobs(state: StateAccess, contractId: string): boolean {
  const record = readJobs(state, contractId)
  return record.pending.length > 0 || record.timers.length > 0
}
