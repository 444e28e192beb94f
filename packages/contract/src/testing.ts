import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { type ContractEvent, decodeValue, encodeValue, type Hex, VeilError } from '@veil/protocol'
import {
  ContractEngine,
  type ContractEngineOptions,
  contractKeyHost,
  DEV_MASTER_SECRET,
  DevContractSecrets,
  type InvokeOutcome,
  type SandboxError,
} from '@veil/runtime'
import { buildContract } from './build.js'
import type { CommandMethods, ContractDefinition, InitArgs, QueryMethods } from './types.js'

export interface TestContractOptions {
  /** `ctx.caller` for init and commands (default: a fixed test address). */
  caller?: Hex
  /** Block context of the first command; each command advances it by one block of 12 s. */
  block?: { number?: bigint; timestamp?: number }
  /** Sandbox limits, e.g. a smaller fuel budget to test exhaustion. */
  limits?: ContractEngineOptions['limits']
  /** Where imports of a `source` string resolve from (default: cwd). */
  resolveDir?: string
  /**
   * `ctx.contract.id` (default `'1'`). With `clusterId` (default `'1'`) it picks the contract's keys: the
   * ones a dev network derives for that contract, from the public development master secret.
   */
  contractId?: string
  clusterId?: string
  /** `ctx.secrets` in queries and job runs. */
  secrets?: Record<string, string>
  /**
   * `ctx.http.fetch` in queries and job runs: your stand-in for the network (the workers' egress guard
   * is not involved). Without it, fetches fail with `FetchError` code `UNAVAILABLE`.
   */
  fetch?: (request: {
    url: string
    method: string
    headers: Record<string, string>
    body?: Uint8Array
  }) => Promise<{ status: number; headers?: Record<string, string>; body: string | Uint8Array }>
}

/** A job queued by `ctx.jobs.enqueue` or due from a timer, in the test harness. */
export interface TestJob {
  id: string
  name: string
  args: unknown
}

/** A failed init, command or query: the typed sandbox error, plus the fuel it used. */
export class ContractCallError extends VeilError {
  override name = 'ContractCallError'
  readonly error: SandboxError
  readonly fuel: number
  constructor(method: string, error: SandboxError, fuel: number) {
    super(`${method} failed: ${error.shortMessage}`, {
      code: error.code,
      ...(error.details ? { details: error.details } : {}),
      metaMessages: error.metaMessages,
      cause: error,
    })
    this.error = error
    this.fuel = fuel
  }
}

export interface CallRecord {
  kind: 'init' | 'command' | 'query' | 'job' | 'apply'
  method: string
  ok: boolean
  result?: unknown
  error?: SandboxError
  events: ContractEvent[]
  logs: { level: string; message: string }[]
  fuel: number
}

export interface TestContract<D> {
  /** Runs `init` (once, before any command). */
  init(...args: InitArgs<D> extends undefined ? [] : [InitArgs<D>]): Promise<void>
  /** Commands: `t.command.add(5)` resolves with the result or rejects with a `ContractCallError`. */
  command: CommandMethods<D>
  /** Queries: read-only, against the state the commands left. */
  query: QueryMethods<D>
  /** Runs any method by name and returns the full record instead of throwing. */
  call(kind: 'command' | 'query', method: string, ...args: unknown[]): Promise<CallRecord>
  /** Jobs queued by `ctx.jobs.enqueue` and not yet run, oldest first. */
  readonly jobs: readonly TestJob[]
  /**
   * Runs a queued job (the oldest, or `id`) as a worker would: its `run` (HTTP through `options.fetch`,
   * secrets), then its `apply` with the outcome. Resolves with the outcome; `apply`'s failure throws.
   */
  runJob(
    id?: string,
  ): Promise<{ ok: true; value: unknown } | { ok: false; error: { code: string; message: string } }>
  /** Sends the following commands from another address. */
  as(caller: Hex): TestContract<D>
  /** The stored value of `key`, decoded (what `ctx.storage.get` would return). */
  storage(key: string): unknown
  /** Every event emitted by successful commands so far. */
  readonly events: ContractEvent[]
  /** The record of the last call. */
  readonly last: CallRecord | undefined
  /** `ctx.contract.address`: what signatures made with `ctx.keys.sign` recover to. */
  readonly address: Hex
  dispose(): void
}

const DEFAULT_CALLER: Hex = '0x00000000000000000000000000000000000A11CE'

/**
 * Runs a contract in the real Veil sandbox with an in-memory store, so contract authors can unit-test
 * without a chain. Semantics match a worker: a failed command changes nothing, `Date.now()` is the
 * block timestamp, `Math.random()`/`ctx.random` are seeded per command, fuel is counted, and `ctx.keys`
 * signs with the contract's development key (see `address`).
 *
 * @example
 * import Counter from './counter.js'
 * const counter = await createTestContract<typeof Counter>('./src/counter.ts')
 * await counter.init({ start: 1 })
 * expect(await counter.command.add(2)).toBe(3)
 * expect(await counter.query.get()).toBe(3)
 */
export async function createTestContract<D = ContractDefinition>(
  sourceOrFile: string,
  options: TestContractOptions = {},
): Promise<TestContract<D>> {
  const isFile =
    !sourceOrFile.includes('\n') && /\.[cm]?[jt]sx?$/.test(sourceOrFile) && existsSync(resolve(sourceOrFile))
  const bundle = await buildContract(
    isFile
      ? { entry: sourceOrFile }
      : { source: sourceOrFile, ...(options.resolveDir ? { resolveDir: options.resolveDir } : {}) },
  )
  const contractId = options.contractId ?? '1'
  // DEVELOPMENT ONLY keys, as a dev network derives them (publicly known master secret).
  const keys = contractKeyHost(
    new DevContractSecrets({
      devMasterSecret: DEV_MASTER_SECRET,
      clusterId: options.clusterId ?? '1',
    }).contractSecret(contractId),
  )
  const engine = await ContractEngine.create(bundle.code, options.limits ? { limits: options.limits } : {})
  const state = new Map<string, string>()
  const events: ContractEvent[] = []
  let blockNumber = options.block?.number ?? 1n
  let timestamp = options.block?.timestamp ?? Date.UTC(2026, 0, 1)
  let last: CallRecord | undefined
  let position = 0
  const queued: TestJob[] = []
  let jobSeq = 0
  const fetchOption = options.fetch

  const run = async (
    kind: CallRecord['kind'],
    method: string,
    args: unknown[],
    caller: Hex,
  ): Promise<CallRecord> => {
    const overlay = new Map<string, string | undefined>()
    const pendingJobs: TestJob[] = []
    const emitted: ContractEvent[] = []
    const logs: CallRecord['logs'] = []
    const read = (key: string) => (overlay.has(key) ? overlay.get(key) : state.get(key))
    const seed = createHash('sha256').update(`veil-test/${blockNumber}/${position++}`).digest()
    const outcome: InvokeOutcome = await engine.invoke({
      env: {
        kind,
        contractId,
        caller: kind === 'query' || kind === 'job' ? null : caller,
        block: {
          number: blockNumber,
          timestamp,
          hash: `0x${createHash('sha256').update(String(blockNumber)).digest('hex')}`,
        },
        randomSeed: new Uint8Array(seed),
        keys,
      },
      method: kind === 'init' ? 'init' : method,
      argsText: encodeValue(args, 'args'),
      host: {
        storage: {
          get: read,
          set: (key, value) => {
            overlay.set(key, value)
          },
          delete: (key) => {
            const had = read(key) !== undefined
            overlay.set(key, undefined)
            return had
          },
        },
        emit: (name, dataText) => {
          emitted.push({ name, data: decodeValue(dataText) })
        },
        log: (level, message) => {
          logs.push({ level, message })
        },
        secrets: () => options.secrets ?? {},
        jobs: {
          enqueue: (name, argsText) => {
            const id = `j${++jobSeq}`
            pendingJobs.push({ id, name, args: decodeValue(argsText) })
            return id
          },
          every: (_seconds, name, argsText) => {
            const id = `t${++jobSeq}`
            pendingJobs.push({ id: `${id}.1`, name, args: decodeValue(argsText) })
            return id
          },
          cancel: (id) => {
            const index = pendingJobs.findIndex((job) => job.id === id || job.id.startsWith(`${id}.`))
            if (index >= 0) pendingJobs.splice(index, 1)
            return index >= 0
          },
        },
        ...(fetchOption
          ? {
              fetch: async (request) => {
                const answer = await fetchOption(request)
                const body =
                  typeof answer.body === 'string' ? new TextEncoder().encode(answer.body) : answer.body
                return {
                  status: answer.status,
                  statusText: '',
                  headers: Object.entries(answer.headers ?? {}),
                  body,
                  url: request.url,
                  redirected: false,
                }
              },
            }
          : {}),
      },
    })
    if (outcome.ok) queued.push(...pendingJobs)
    if (kind !== 'query' && kind !== 'job') {
      blockNumber++
      timestamp += 12_000
    }
    if (outcome.ok) {
      for (const [key, value] of overlay) {
        if (value === undefined) state.delete(key)
        else state.set(key, value)
      }
      events.push(...emitted)
      last = {
        kind,
        method,
        ok: true,
        result: decodeValue(outcome.resultText),
        events: emitted,
        logs,
        fuel: outcome.fuel,
      }
    } else {
      last = { kind, method, ok: false, error: outcome.error, events: [], logs, fuel: outcome.fuel }
    }
    return last
  }

  const make = (caller: Hex): TestContract<D> => {
    const methods = (kind: 'command' | 'query') =>
      new Proxy(
        {},
        {
          get: (_target, name) => {
            if (typeof name !== 'string') return undefined
            return async (...args: unknown[]) => {
              const record = await run(kind, name, args, caller)
              if (!record.ok && record.error) throw new ContractCallError(name, record.error, record.fuel)
              return record.result
            }
          },
        },
      )
    return {
      init: async (...args: unknown[]) => {
        const record = await run('init', 'init', args.length ? [args[0]] : [undefined], caller)
        if (!record.ok && record.error) throw new ContractCallError('init', record.error, record.fuel)
      },
      command: methods('command') as CommandMethods<D>,
      query: methods('query') as QueryMethods<D>,
      call: (kind, method, ...args) => run(kind, method, args, caller),
      as: (other) => make(other),
      get jobs() {
        return queued
      },
      runJob: async (id) => {
        const index = id === undefined ? 0 : queued.findIndex((job) => job.id === id)
        const job = queued[index]
        if (!job) throw new Error(id === undefined ? 'no job is queued' : `no queued job ${id}`)
        queued.splice(index, 1)
        const ran = await run('job', job.name, [job.args], caller)
        const outcome = ran.ok
          ? { ok: true as const, value: ran.result }
          : {
              ok: false as const,
              error: { code: ran.error?.code ?? 'FAILED', message: ran.error?.message ?? '' },
            }
        const applied = await run('apply', job.name, [outcome], caller)
        if (!applied.ok && applied.error)
          throw new ContractCallError(`apply of ${job.name}`, applied.error, applied.fuel)
        return outcome
      },
      storage: (key) => {
        const text = state.get(key)
        return text === undefined ? undefined : decodeValue(text)
      },
      get events() {
        return events
      },
      get last() {
        return last
      },
      address: keys.address,
      dispose: () => engine.dispose(),
    }
  }
  return make(options.caller ?? DEFAULT_CALLER)
}
