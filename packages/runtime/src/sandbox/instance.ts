/**
 * One sandbox instance: its own QuickJS WebAssembly instance and memory, the prelude and the contract
 * bundle loaded once, and a snapshot of the memory right after loading.
 *
 * Every `run` first restores the snapshot, so each invocation starts from byte-identical memory: the
 * same interrupt and loop counts for the same call, module-level variables back at their initial
 * values, nothing left over from the previous caller. An instance that trapped (WebAssembly trap,
 * abort, meter abort, host stack overflow) is marked `broken` and must be replaced.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten-core'
import { InvalidBundleError, SandboxCrashError } from './errors.js'
import { FuelMeter, MeterAbort, type StopReason } from './fuel.js'
import type { ContractShape, InvocationDescriptor } from './guest-protocol.js'
import { GuestStrings } from './guest-strings.js'
import { guestStringLength, installHostFunctions } from './host-functions.js'
import { type GuestOutcome, InvocationState } from './invocation.js'
import type { SandboxLimits } from './limits.js'
import { instantiateQuickJS, type QuickJSWasmInstance } from './quickjs-wasm.js'
import type { RandomSource } from './random.js'
import { breakReader, MemorySnapshot } from './snapshot.js'
import { BUNDLE_FILENAME, PRELUDE_FILENAME, type StackMapper } from './source-map.js'
import type { ContractKeyHost, InvocationHost } from './types.js'

export interface InstanceOptions {
  /** The contract bundle. */
  readonly code: string
  /** The prelude script (see `prelude-bundle.ts`). */
  readonly prelude: string
  /** Where the allocator keeps its break pointer (see `snapshot.ts`). */
  readonly breakAddress: number
  /** Upper bound of the WebAssembly memory. */
  readonly maxMemoryBytes: number
  /** Limits for the prelude and the bundle's top-level code. */
  readonly loadLimits: SandboxLimits
  readonly mapper: StackMapper
  /** A snapshot of a sibling instance; adopted when this instance has exactly the same layout. */
  readonly sharedSnapshot?: MemorySnapshot
  /** Check the whole memory against the snapshot after every restore (see `ContractEngineOptions`). */
  readonly verifyRestores?: boolean
}

/** What one invocation needs besides the instance. */
export interface RunPlan {
  readonly descriptor: InvocationDescriptor
  readonly argsText: string
  readonly limits: SandboxLimits
  readonly host: InvocationHost
  readonly random: RandomSource
  /** `Date.now()` inside the sandbox. */
  readonly now: () => number
  /** The contract's keys (`ctx.keys`). */
  readonly keys?: ContractKeyHost | undefined
}

/** An exception that escaped the prelude's dispatcher (e.g. it could not even report a failure). */
export interface EscapedError {
  readonly name: string
  readonly message: string
}

/** Everything observed during one run, before it is turned into an `InvokeOutcome`. */
export interface RawRun {
  readonly outcome: GuestOutcome | undefined
  readonly state: InvocationState
  readonly stopReason: StopReason | undefined
  /** What was thrown out of the WebAssembly instance; the instance is broken if set. */
  readonly trap: unknown
  readonly escaped: EscapedError | undefined
  readonly fuel: number
}

const MAX_ESCAPED_TEXT = 4096
const STOP_REASONS: Record<StopReason, string> = {
  fuel: 'it ran out of fuel',
  memory: 'it ran out of memory',
  deadline: 'it ran out of time',
}
/** An instance whose memory grew past this is replaced after its run, to give the memory back. */
const RETIRE_MEMORY_BYTES = 64 * 1024 * 1024

/** Reads `name` and `message` of a guest exception, bounded; runs under the active meter. */
function describeGuestException(
  context: QuickJSContext,
  strings: GuestStrings,
  handle: QuickJSHandle,
): EscapedError & { stack: string } {
  const read = (key: string, max: number): string => {
    if (context.typeof(handle) !== 'object') return ''
    const value = context.getProp(handle, key)
    if (context.typeof(value) !== 'string' || guestStringLength(context, value) > max) return ''
    try {
      return strings.read(value)
    } catch {
      return '' // QuickJS ran out of memory copying it
    }
  }
  const type = context.typeof(handle)
  if (type !== 'object') return { name: 'Error', message: `a thrown ${type}`, stack: '' }
  return {
    name: read('name', 128) || 'Error',
    message: read('message', MAX_ESCAPED_TEXT),
    stack: read('stack', 4 * MAX_ESCAPED_TEXT),
  }
}

/** quickjs-emscripten keeps the raw pointers private; the snapshot layout check needs them. */
function rawPointers(context: QuickJSContext): number[] {
  const internals = context as unknown as { ctx: { value: number }; rt: { value: number } }
  return [internals.ctx.value, internals.rt.value]
}

export class SandboxInstance {
  /** True once the instance trapped; it must not run again. */
  broken = false
  /** True once its memory grew large; it still works but should be replaced. */
  retired = false
  private current: InvocationState | undefined

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly stackTracker: Pick<
      QuickJSWasmInstance,
      'lowestStackPointer' | 'resetLowestStackPointer'
    >,
    private readonly runtime: QuickJSRuntime,
    private readonly context: QuickJSContext,
    private readonly strings: GuestStrings,
    private readonly meter: FuelMeter,
    private readonly dispatch: QuickJSHandle,
    private readonly setClock: (now: () => number) => void,
    private readonly stackPointer: () => number,
    private readonly baseStackPointer: number,
    /** The allocator's break before QuickJS allocated anything: memory limits count from here. */
    private readonly heapStart: number,
    readonly shape: ContractShape,
    readonly snapshot: MemorySnapshot,
    private readonly verifyRestores: boolean,
  ) {}

  /**
   * Instantiates QuickJS, installs the host functions and the prelude, runs the bundle's top level
   * under `loadLimits`, and snapshots the memory. Throws `InvalidBundleError` for a bad bundle.
   */
  static async create(options: InstanceOptions): Promise<SandboxInstance> {
    const wasm = await instantiateQuickJS(options.maxMemoryBytes)
    const heapEnd = breakReader(wasm.memory, options.breakAddress)
    const heapStart = heapEnd()
    const meter = new FuelMeter(wasm.meter, heapEnd)
    wasm.hooks.onMeter = () => meter.onMeter()
    const runtime = wasm.module.newRuntime()
    runtime.setInterruptHandler(() => meter.onInterrupt())
    const context = runtime.newContext()
    // quickjs-emscripten allocates these lazily; they must exist in the snapshot, not after it.
    for (const handle of [context.undefined, context.null, context.true, context.false, context.global]) {
      if (!handle.alive) throw new SandboxCrashError('QuickJS context is not alive')
    }

    // Allocates once, before the snapshot.
    const strings = new GuestStrings(context, wasm.memory, wasm.strings)
    let instance: SandboxInstance | undefined
    installHostFunctions(context, strings, { current: () => instance?.current, meter })

    const { loadLimits } = options
    runtime.setMemoryLimit(loadLimits.memoryBytes)
    runtime.setMaxStackSize(loadLimits.stackBytes)
    meter.begin(loadLimits.fuel, loadLimits.deadlineMs, heapStart + loadLimits.memoryBytes)
    let dispatch: QuickJSHandle
    let shape: ContractShape
    try {
      const prelude = SandboxInstance.loadPrelude(context, strings, options.prelude)
      dispatch = prelude.dispatch
      shape = SandboxInstance.loadBundle(context, strings, runtime, meter, prelude.describe, options)
    } catch (error) {
      // Traps while loading: the bundle is at fault (too much work, too deep), unless QuickJS aborted.
      if (error instanceof MeterAbort)
        throw new InvalidBundleError(`the bundle failed to load: ${STOP_REASONS[error.reason]}`)
      if (error instanceof RangeError && /call stack/i.test(error.message)) {
        throw new InvalidBundleError('the bundle failed to load: it nests code or data too deeply')
      }
      throw error
    } finally {
      meter.end()
    }
    runtime.setMemoryLimit(-1)

    const stackPointer = wasm.stackPointer
    const baseStackPointer = stackPointer()
    const layout = [
      heapStart,
      heapEnd(),
      wasm.memory.buffer.byteLength,
      baseStackPointer,
      ...rawPointers(context),
      dispatch.value,
      context.global.value,
      context.undefined.value,
      context.true.value,
    ].join(',')
    const shared = options.sharedSnapshot
    let snapshot: MemorySnapshot
    if (shared && shared.layout === layout && shared.size <= wasm.memory.buffer.byteLength) {
      // This memory differs from the adopted snapshot (its own load left other bytes on the stack): the
      // stack tracker is left at 0, so the first restore is complete.
      snapshot = shared
    } else {
      snapshot = MemorySnapshot.capture(wasm.memory, options.breakAddress, layout, wasm.stackRegion)
      // Memory equals the snapshot now: from here on, the stack below the lowest pointer stays clean.
      wasm.resetLowestStackPointer()
    }
    instance = new SandboxInstance(
      wasm.memory,
      wasm,
      runtime,
      context,
      strings,
      meter,
      dispatch,
      (now) => {
        wasm.hooks.now = now
      },
      stackPointer,
      baseStackPointer,
      heapStart,
      shape,
      snapshot,
      options.verifyRestores ?? false,
    )
    return instance
  }

  /** Evaluates the prelude and takes its exports before any contract code can see or replace them. */
  private static loadPrelude(
    context: QuickJSContext,
    strings: GuestStrings,
    prelude: string,
  ): { dispatch: QuickJSHandle; describe: QuickJSHandle } {
    const evaluate = (code: string): void => {
      const result = context.evalCode(code, PRELUDE_FILENAME, { type: 'global', strict: true })
      if (result.error) {
        const { name, message } = describeGuestException(context, strings, result.error)
        throw new SandboxCrashError(`the prelude failed to load: ${name}: ${message}`)
      }
      result.value.dispose()
    }
    evaluate(prelude)
    const exported = context.getProp(context.global, '__veilPrelude')
    const dispatch = context.getProp(exported, 'dispatch')
    const describe = context.getProp(exported, 'describe')
    exported.dispose()
    evaluate('delete globalThis.__veilPrelude')
    if (context.typeof(dispatch) !== 'function' || context.typeof(describe) !== 'function') {
      throw new SandboxCrashError('the prelude did not export its dispatcher')
    }
    return { dispatch, describe }
  }

  private static loadBundle(
    context: QuickJSContext,
    strings: GuestStrings,
    runtime: QuickJSRuntime,
    meter: FuelMeter,
    describe: QuickJSHandle,
    options: InstanceOptions,
  ): ContractShape {
    const fail = (what: string, error: QuickJSHandle | undefined): never => {
      if (meter.stopReason) throw new InvalidBundleError(`${what}: ${STOP_REASONS[meter.stopReason]}`)
      if (!error) throw new InvalidBundleError(what)
      const { name, message, stack } = describeGuestException(context, strings, error)
      const frames = options.mapper.frames(stack)
      throw new InvalidBundleError(`${what}: ${name}: ${message}`, { metaMessages: frames })
    }
    const evaluated = context.evalCode(options.code, BUNDLE_FILENAME, { type: 'global' })
    if (evaluated.error) fail('the bundle threw while loading', evaluated.error)
    else evaluated.value.dispose()
    // Top-level promises (e.g. an async IIFE) settle before the snapshot.
    const jobs = runtime.executePendingJobs(-1)
    if (jobs.error) fail('a promise job of the bundle failed', jobs.error)

    // Short top levels may never reach a check point: judge the final fuel and heap too.
    if (meter.overBudget()) fail('the bundle failed to load', undefined)
    const described = context.callFunction(describe, context.undefined)
    describe.dispose()
    if (described.error) return fail('the bundle does not define a contract', described.error)
    const text = context.typeof(described.value) === 'string' ? strings.read(described.value) : ''
    described.value.dispose()
    return JSON.parse(text) as ContractShape
  }

  /** Restores the snapshot, runs one invocation, and reports what happened. Never throws for guest faults. */
  async run(plan: RunPlan): Promise<RawRun> {
    if (this.broken) throw new SandboxCrashError('this sandbox instance is broken')
    // QuickJS's own limit only stops single allocations larger than the limit in this build; the meter
    // enforces the limit on the heap as a whole (see fuel.ts).
    const { context, strings, runtime, meter, stackTracker } = this
    // Only the stack above the lowest pointer reached since the last restore can differ (snapshot.ts);
    // restart the tracking right away, while memory equals the snapshot.
    this.snapshot.restoreInto(this.memory, stackTracker.lowestStackPointer())
    stackTracker.resetLowestStackPointer()
    if (this.verifyRestores && !this.snapshot.matches(this.memory)) {
      this.broken = true
      throw new SandboxCrashError('the memory differs from the snapshot after a restore')
    }
    runtime.setMemoryLimit(plan.limits.memoryBytes)
    runtime.setMaxStackSize(plan.limits.stackBytes)

    const state = new InvocationState({ ...plan, meter })
    let trap: unknown
    let escaped: EscapedError | undefined
    this.current = state
    this.setClock(plan.now)
    meter.begin(plan.limits.fuel, plan.limits.deadlineMs, this.heapStart + plan.limits.memoryBytes)
    try {
      const descriptor = strings.create(JSON.stringify(plan.descriptor))
      const args = strings.create(plan.argsText)
      const called = context.callFunction(this.dispatch, context.undefined, descriptor, args)
      if (called.error) {
        if (!meter.stopReason) escaped = describeGuestException(context, strings, called.error)
      } else {
        escaped = await this.drain(state)
      }
    } catch (error) {
      trap = error
      this.broken = true
    } finally {
      this.current = undefined
      this.setClock(() => 0)
    }
    // Short runs may never reach a check point: judge the final fuel and heap too (both deterministic).
    meter.overBudget()
    const fuel = meter.end()
    if (!this.broken && this.stackPointer() !== this.baseStackPointer) {
      // The shadow stack did not unwind: treat as a trap even if nothing was thrown.
      this.broken = true
      trap ??= new SandboxCrashError('the WebAssembly stack did not unwind')
    }
    if (this.memory.buffer.byteLength > RETIRE_MEMORY_BYTES) this.retired = true
    return { outcome: state.outcome, state, stopReason: meter.stopReason, trap, escaped, fuel }
  }

  /**
   * Runs promise jobs until the queue is empty or the invocation must stop. Host work the guest waits on
   * (the seam for promise-returning host functions such as a future `ctx.http.fetch`) is awaited here,
   * bounded by the deadline.
   */
  private async drain(state: InvocationState): Promise<EscapedError | undefined> {
    const { runtime, meter } = this
    for (;;) {
      if (meter.stopReason || state.violation || state.hostFailure) return undefined
      if (runtime.hasPendingJob()) {
        const jobs = runtime.executePendingJobs(-1)
        if (jobs.error) {
          return meter.stopReason ? undefined : describeGuestException(this.context, this.strings, jobs.error)
        }
        continue
      }
      const task = state.nextHostTask()
      if (!task) return undefined
      const remaining = meter.remainingMs()
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([task, new Promise<void>((resolve) => (timer = setTimeout(resolve, remaining)))])
      clearTimeout(timer)
      meter.exhausted()
    }
  }
}
