/**
 * `ContractEngine`: runs one contract bundle in QuickJS/WebAssembly sandboxes.
 *
 * - init and commands share one instance and run one at a time, in call order;
 * - queries use a pool of up to `queryPoolSize` instances, created on demand;
 * - all instances start every invocation from the snapshot taken after the bundle loaded (instances
 *   built later adopt the first instance's snapshot when their layout is identical);
 * - an instance that trapped is dropped and rebuilt from scratch on next use.
 *
 * The engine never commits anything: it calls the `InvocationHost` callbacks as the contract runs and
 * returns an outcome; a caller must discard the writes and events of an `ok: false` outcome.
 *
 * @example
 * const engine = await ContractEngine.create(bundle)
 * const outcome = await engine.invoke({ env, method: 'add', argsText: encodeValue([1]), host })
 * if (outcome.ok) commit(overlay)
 */
import { type Clock, type Logger, silentLogger, systemClock, VeilError } from '@veil/protocol'
import { MAX_ARGS_BYTES } from './constants.js'
import { EngineDisposedError, InvalidArgumentsError, UnknownMethodError } from './errors.js'
import type { InvocationDescriptor } from './guest-protocol.js'
import { SandboxInstance } from './instance.js'
import {
  DEFAULT_COMMAND_LIMITS,
  DEFAULT_LOAD_LIMITS,
  DEFAULT_QUERY_LIMITS,
  InvalidLimitsError,
  resolveLimits,
  type SandboxLimits,
} from './limits.js'
import { toOutcome } from './outcome.js'
import { InstancePool } from './pool.js'
import { preludeSource } from './prelude-bundle.js'
import { deterministicRandom, mathRandomSeed, type RandomSource, systemRandom } from './random.js'
import { locateBreakAddress, type MemorySnapshot } from './snapshot.js'
import { extractInlineSourceMap, StackMapper } from './source-map.js'
import type { ContractEngineOptions, InvokeOutcome, InvokeRequest } from './types.js'
import { utf8Length } from './value-check.js'

const DEFAULT_QUERY_POOL_SIZE = 2
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/
const MiB = 1024 * 1024
/** Wall-clock deadline of a job's run(): room for its HTTP requests (10 s each by default). */
export const JOB_DEADLINE_MS = 30_000

/** A request the engine cannot even attempt (a caller bug, not a contract failure). */
export class InvalidRequestError extends VeilError {
  override name = 'InvalidRequestError'
  constructor(details: string) {
    super('Invalid sandbox request', { code: 'SANDBOX_REQUEST_INVALID', details })
  }
}

/**
 * WebAssembly memory ceiling for a QuickJS heap limit: static data and the 5 MiB shadow stack, allocator
 * overhead and fragmentation, and the strings the host copies in. QuickJS's own limit trips first.
 */
function memoryCeiling(memoryBytes: number): number {
  return 2 * memoryBytes + 32 * MiB
}

/** The methods a loaded contract defines. */
export interface ContractMethods {
  commands: string[]
  queries: string[]
  hasInit: boolean
  /** Jobs (`jobs: { name: { run, apply } }`). */
  jobs: string[]
}

export class ContractEngine {
  private disposed = false

  private constructor(
    /** The contract's handlers, read from the bundle at load. */
    readonly methods: ContractMethods,
    private readonly commandLimits: SandboxLimits,
    private readonly queryLimits: SandboxLimits,
    private readonly commandPool: InstancePool,
    private readonly queryPool: InstancePool,
    private readonly mapper: StackMapper,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    private readonly logger: Logger,
  ) {}

  /**
   * Loads `code` (an esbuild IIFE with globalName `__veilModule`) into a first instance and snapshots
   * it. Rejects with `InvalidBundleError` when the bundle does not load or define a contract.
   */
  static async create(code: string, options: ContractEngineOptions = {}): Promise<ContractEngine> {
    const { command, query, load, ...shared } = options.limits ?? {}
    const commandLimits = resolveLimits(DEFAULT_COMMAND_LIMITS, { ...shared, ...command })
    const queryLimits = resolveLimits(DEFAULT_QUERY_LIMITS, { ...shared, ...query })
    const loadLimits = resolveLimits(commandLimits, { ...DEFAULT_LOAD_LIMITS, ...load })
    const queryPoolSize = options.queryPoolSize ?? DEFAULT_QUERY_POOL_SIZE
    if (!Number.isSafeInteger(queryPoolSize) || queryPoolSize < 1 || queryPoolSize > 64) {
      throw new InvalidLimitsError(`queryPoolSize must be an integer between 1 and 64, got ${queryPoolSize}`)
    }
    const logger = (options.logger ?? silentLogger).forComponent('veil:runtime:sandbox')
    const mapper = new StackMapper(options.sourceMap ?? extractInlineSourceMap(code))
    const [prelude, breakAddress] = await Promise.all([preludeSource(), locateBreakAddress()])
    const maxMemoryBytes = memoryCeiling(Math.max(commandLimits.memoryBytes, queryLimits.memoryBytes))

    const started = performance.now()
    const verifyRestores = options.verifyRestores ?? false
    const first = await SandboxInstance.create({
      code,
      prelude,
      breakAddress,
      maxMemoryBytes,
      loadLimits,
      mapper,
      verifyRestores,
    })
    logger.debug('contract loaded', {
      ms: Math.round(performance.now() - started),
      snapshotBytes: first.snapshot.size,
      ...first.shape,
    })
    const snapshot: MemorySnapshot = first.snapshot
    const factory = async (): Promise<SandboxInstance> => {
      const instance = await SandboxInstance.create({
        code,
        prelude,
        breakAddress,
        maxMemoryBytes,
        loadLimits,
        mapper,
        sharedSnapshot: snapshot,
        verifyRestores,
      })
      if (instance.snapshot !== snapshot)
        logger.warn('new sandbox instance has its own snapshot (layout differs)')
      return instance
    }
    return new ContractEngine(
      {
        commands: [...first.shape.commands],
        jobs: [...first.shape.jobs],
        queries: [...first.shape.queries],
        hasInit: first.shape.hasInit,
      },
      commandLimits,
      queryLimits,
      new InstancePool(1, factory, [first]),
      new InstancePool(queryPoolSize, factory),
      mapper,
      options.clock ?? systemClock,
      options.random ?? systemRandom,
      logger,
    )
  }

  /**
   * Runs one init, command or query. Resolves with `ok: false` for every contract fault (including
   * exhausted limits); rejects only for caller bugs (`InvalidRequestError`, `InvalidLimitsError`) and
   * after `dispose()`.
   */
  async invoke(request: InvokeRequest): Promise<InvokeOutcome> {
    if (this.disposed) throw new EngineDisposedError()
    const { env } = request
    const kind = env.kind
    if (kind !== 'init' && kind !== 'command' && kind !== 'query' && kind !== 'job' && kind !== 'apply') {
      throw new InvalidRequestError(`unknown invocation kind ${JSON.stringify(kind)}`)
    }
    if (!(env.randomSeed instanceof Uint8Array) || env.randomSeed.length !== 32) {
      throw new InvalidRequestError('env.randomSeed must be 32 bytes')
    }
    if (!Number.isFinite(env.block.timestamp))
      throw new InvalidRequestError('env.block.timestamp must be a number')
    const keys = env.keys
    if (keys !== undefined && (typeof keys.address !== 'string' || !ADDRESS_RE.test(keys.address))) {
      throw new InvalidRequestError('env.keys.address must be a 0x-prefixed 20-byte hex address')
    }
    // Job runs are off-chain like queries, with a deadline that leaves room for their HTTP requests.
    const offChain = kind === 'query' || kind === 'job'
    const base =
      kind === 'job'
        ? { ...this.queryLimits, deadlineMs: Math.max(this.queryLimits.deadlineMs, JOB_DEADLINE_MS) }
        : offChain
          ? this.queryLimits
          : this.commandLimits
    const limits = resolveLimits(base, request.limits)
    if (limits.memoryBytes > Math.max(this.commandLimits.memoryBytes, this.queryLimits.memoryBytes)) {
      throw new InvalidLimitsError('memoryBytes cannot exceed the largest limit the engine was created with')
    }

    const method = kind === 'init' ? 'init' : request.method
    if (kind === 'command' && !this.methods.commands.includes(method)) {
      return { ok: false, error: new UnknownMethodError(kind, method), fuel: 0 }
    }
    if (kind === 'query' && !this.methods.queries.includes(method)) {
      return { ok: false, error: new UnknownMethodError(kind, method), fuel: 0 }
    }
    if ((kind === 'job' || kind === 'apply') && !this.methods.jobs.includes(method)) {
      return { ok: false, error: new UnknownMethodError('job', method), fuel: 0 }
    }
    if (typeof request.argsText !== 'string' || utf8Length(request.argsText) > MAX_ARGS_BYTES) {
      return {
        ok: false,
        error: new InvalidArgumentsError(`argsText must be a string of at most ${MAX_ARGS_BYTES} bytes`),
        fuel: 0,
      }
    }

    const descriptor: InvocationDescriptor = {
      kind,
      method,
      contractId: env.contractId,
      caller: env.caller,
      contractAddress: keys?.address ?? null,
      block: { number: env.block.number.toString(), timestamp: env.block.timestamp, hash: env.block.hash },
      mathRandomSeed: mathRandomSeed(offChain ? this.random : env.randomSeed),
      maxResultBytes: limits.maxResultBytes,
    }
    const timestamp = env.block.timestamp
    const pool = offChain ? this.queryPool : this.commandPool
    const instance = await pool.acquire()
    let raw: Awaited<ReturnType<SandboxInstance['run']>>
    try {
      raw = await instance.run({
        descriptor,
        argsText: request.argsText,
        limits,
        host: request.host,
        random: offChain ? this.random : deterministicRandom(env.randomSeed),
        now: offChain ? () => this.clock.now() : () => timestamp,
        keys,
      })
    } finally {
      pool.release(instance)
    }
    if (raw.trap !== undefined) {
      this.logger.warn('sandbox instance trapped and will be rebuilt', {
        kind,
        method,
        trap: raw.trap instanceof Error ? `${raw.trap.name}: ${raw.trap.message}` : String(raw.trap),
      })
    }
    return toOutcome(raw, {
      kind,
      method,
      memoryBytes: limits.memoryBytes,
      fuelLimit: limits.fuel,
      deadlineMs: limits.deadlineMs,
      maxResultBytes: limits.maxResultBytes,
      mapper: this.mapper,
    })
  }

  /** Stops accepting invocations and releases the instances. In-flight invocations finish normally. */
  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    this.commandPool.dispose()
    this.queryPool.dispose()
  }
}
