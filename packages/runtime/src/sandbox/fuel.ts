/**
 * Fuel and memory accounting, and the two ways an invocation is stopped.
 *
 * fuel = loop iterations × FUEL_COSTS.loopIteration  (every metered WebAssembly loop iteration: one per
 *                                                     interpreted bytecode, plus native loops)
 *      + host calls, stored bytes and read bytes     (charged by the host functions)
 *
 * Every term is a pure function of the executed code and its inputs, so the same invocation from the
 * same snapshot always uses the same fuel, on every worker. (QuickJS's interrupt count is not part of
 * it: it measures calls and backward jumps, not work, and misses native code entirely.)
 *
 * Memory: QuickJS's own heap limit is inert in this WebAssembly build (it sizes allocations with
 * `malloc_usable_size`, which Emscripten lacks, so its counter never grows). The meter therefore watches
 * the allocator's break instead: the peak heap size, checked at the same deterministic points as fuel.
 *
 * Stopping:
 * - soft: QuickJS's interrupt handler returns true once fuel or the deadline is exhausted; QuickJS then
 *   throws an uncatchable "interrupted" error and unwinds cleanly. Interpreted code is always stopped
 *   this way.
 * - hard: native code (a string search, a bigint multiplication, a sort) never reaches the interrupt
 *   handler. The loop meter calls `onMeter` every 10,000 units of a function; past the limit plus a grace
 *   (left for a soft stop to happen first) it throws `MeterAbort` through the WebAssembly frames. The
 *   instance is then in an undefined state and must be rebuilt.
 */
import { FUEL_COSTS } from './limits.js'

/** Extra fuel a soft stop may use before a hard abort (covers unwinding and freeing large heaps). */
const HARD_FUEL_GRACE = 4_000_000
/** Extra time a soft stop may take before a hard abort. */
const HARD_DEADLINE_GRACE_MS = 50
/** Extra heap a soft stop may claim before a hard abort. */
const HARD_MEMORY_GRACE = 32 * 1024 * 1024

export type StopReason = 'fuel' | 'memory' | 'deadline'

/** Thrown from the meter callback through WebAssembly frames to abort native code. */
export class MeterAbort extends Error {
  override name = 'MeterAbort'
  constructor(readonly reason: StopReason) {
    super(`sandbox aborted: ${reason}`)
  }
}

export class FuelMeter {
  /** QuickJS interrupts this session (diagnostics only; not part of fuel). */
  interrupts = 0
  private accumulatorBase = 0n
  private hostFuel = 0
  private limit = Number.POSITIVE_INFINITY
  private heapLimit = Number.POSITIVE_INFINITY
  private deadline = Number.POSITIVE_INFINITY
  private frozen: number | undefined
  /** Why the current session must stop, once it must. */
  stopReason: StopReason | undefined
  /** > 0 while a host function runs: aborting there would unwind through the host's own FFI calls. */
  hostDepth = 0

  constructor(
    /** The metered binary's i64 global of flushed loop iterations. */
    private readonly accumulator: WebAssembly.Global,
    /** The allocator's current break (end of the heap). */
    private readonly heapEnd: () => number,
    private readonly monotonicNow: () => number = () => performance.now(),
  ) {}

  /** Starts a metered session: resets the counters; the heap may grow up to `heapLimit` (a break address). */
  begin(fuelLimit: number, deadlineMs: number, heapLimit = Number.POSITIVE_INFINITY): void {
    this.interrupts = 0
    this.accumulatorBase = this.accumulator.value as bigint
    this.hostFuel = 0
    this.frozen = undefined
    this.stopReason = undefined
    this.hostDepth = 0
    this.limit = fuelLimit
    this.heapLimit = heapLimit
    this.deadline = this.monotonicNow() + deadlineMs
  }

  /** Ends the session and returns the fuel it used; later loops are not limited. */
  end(): number {
    const used = this.used()
    this.frozen = used
    this.limit = Number.POSITIVE_INFINITY
    this.heapLimit = Number.POSITIVE_INFINITY
    this.deadline = Number.POSITIVE_INFINITY
    return used
  }

  /**
   * Metered units since `begin` (see `wasm-meter.ts`). Functions still running have not flushed their
   * current chunk yet, so this is exact once the guest's frames have all returned.
   */
  loopIterations(): number {
    return Number((this.accumulator.value as bigint) - this.accumulatorBase)
  }

  /** Fuel used since `begin`. */
  used(): number {
    if (this.frozen !== undefined) return this.frozen
    return this.loopIterations() * FUEL_COSTS.loopIteration + this.hostFuel
  }

  /** Milliseconds left before the deadline (0 when past it). */
  remainingMs(): number {
    return Math.max(0, this.deadline - this.monotonicNow())
  }

  /** Charges host work. Returns false (and records the stop) when the budget is exhausted. */
  charge(amount: number): boolean {
    this.hostFuel += amount
    return !this.exhausted()
  }

  /** Whether fuel or memory is exhausted (deterministic); records why on the first positive answer. */
  overBudget(): boolean {
    if (this.stopReason !== undefined) return true
    if (this.used() >= this.limit) this.stopReason = 'fuel'
    else if (this.heapEnd() > this.heapLimit) this.stopReason = 'memory'
    return this.stopReason !== undefined
  }

  /** Whether the session must stop, the deadline included; records why on the first positive answer. */
  exhausted(): boolean {
    if (this.overBudget()) return true
    if (this.monotonicNow() >= this.deadline) this.stopReason = 'deadline'
    return this.stopReason !== undefined
  }

  /** QuickJS's interrupt handler: true interrupts the guest with an uncatchable error. */
  onInterrupt(): boolean {
    this.interrupts++
    return this.exhausted()
  }

  /**
   * The loop meter's callback (after each chunk): records a soft stop, which the interrupt handler then
   * enforces; aborts native code that runs on past the hard limits.
   */
  onMeter(): void {
    this.overBudget()
    if (this.hostDepth > 0) return
    if (this.used() >= this.limit + HARD_FUEL_GRACE) {
      this.stopReason ??= 'fuel'
      throw new MeterAbort('fuel')
    }
    if (this.heapEnd() > this.heapLimit + HARD_MEMORY_GRACE) {
      this.stopReason ??= 'memory'
      throw new MeterAbort('memory')
    }
    if (
      this.deadline !== Number.POSITIVE_INFINITY &&
      this.monotonicNow() >= this.deadline + HARD_DEADLINE_GRACE_MS
    ) {
      this.stopReason ??= 'deadline'
      throw new MeterAbort('deadline')
    }
  }
}
