/**
 * Linear-memory snapshots of a loaded sandbox instance.
 *
 * Layout of the QuickJS build: static data, then the 5 MiB shadow stack, then the malloc heap, which
 * grows upwards through `sbrk`. The allocator never returns memory to `sbrk` (checked by a test), so
 * everything a guest can have touched lies below the current break. A snapshot therefore copies
 * [0, break) once, after the bundle loaded; a restore writes it back and zeroes [snapshot end, current
 * break), which leaves the memory byte-identical to the moment of the snapshot — memory above the
 * break was zero then and has never been handed out since.
 *
 * The stack is 5 of the ≈ 5.4 MB below the break, and an invocation rarely uses more than a few dozen
 * KiB of it. The stack grows down and compiled code writes it only inside frames it allocated by moving
 * the stack pointer down, so the stack below the lowest pointer reached since memory last equalled the
 * snapshot still equals it. The metered binary tracks that lowest pointer (`wasm-meter.ts`), and a restore
 * skips [stack low, lowest pointer): it copies the static data, the used top of the stack and the heap.
 * Whoever restores must restart the tracking right after each restore, and only then (see
 * `SandboxInstance`); before the first restart the tracker reads 0 and the restore is complete.
 */
import { instantiateQuickJS, type QuickJSWasmInstance, type StackRegion } from './quickjs-wasm.js'

/** Reads the allocator's current break (the end of the heap). */
export function readBreak(memory: WebAssembly.Memory, breakAddress: number): number {
  return new Uint32Array(memory.buffer)[breakAddress >>> 2] ?? 0
}

/** A fast reader of the break for hot paths: keeps one view, renewed only when the memory grew. */
export function breakReader(memory: WebAssembly.Memory, breakAddress: number): () => number {
  let buffer = memory.buffer
  let view = new Uint32Array(buffer)
  const index = breakAddress >>> 2
  return () => {
    if (memory.buffer !== buffer) {
      buffer = memory.buffer
      view = new Uint32Array(buffer)
    }
    return view[index] ?? 0
  }
}

/** An immutable copy of [0, break) of one instance's memory, restorable into any instance of the same layout. */
export class MemorySnapshot {
  /** [0, stack.low): static data, copied on every restore. */
  private readonly staticBytes: Uint8Array

  private constructor(
    private readonly bytes: Uint8Array,
    readonly breakAddress: number,
    /** Host-visible pointers the snapshot assumes (runtime, context, handles); see `SandboxInstance`. */
    readonly layout: string,
    readonly stack: StackRegion,
  ) {
    this.staticBytes = bytes.subarray(0, stack.low)
  }

  static capture(
    memory: WebAssembly.Memory,
    breakAddress: number,
    layout: string,
    stack: StackRegion,
  ): MemorySnapshot {
    const end = readBreak(memory, breakAddress)
    if (end <= 0 || end > memory.buffer.byteLength) throw new Error(`implausible heap break ${end}`)
    // The heap starts above the stack, and the break pointer is static data below it.
    if (!(stack.low < stack.high && stack.high <= end && breakAddress + 4 <= stack.low)) {
      throw new Error(
        `implausible layout: stack [${stack.low}, ${stack.high}), break ${end} at ${breakAddress}`,
      )
    }
    return new MemorySnapshot(new Uint8Array(memory.buffer, 0, end).slice(), breakAddress, layout, stack)
  }

  /** Bytes of the snapshot (what a complete restore copies). */
  get size(): number {
    return this.bytes.length
  }

  /** True when `memory` equals the snapshot byte for byte and is zero above it, up to its current break. */
  matches(memory: WebAssembly.Memory): boolean {
    const heap = new Uint8Array(memory.buffer)
    const top = readBreak(memory, this.breakAddress)
    if (heap.length < this.bytes.length || top > heap.length) return false
    if (Buffer.compare(heap.subarray(0, this.bytes.length), this.bytes) !== 0) return false
    for (let i = this.bytes.length; i < top; i++) if (heap[i] !== 0) return false
    return true
  }

  /**
   * Makes `memory` byte-identical to the snapshot (up to the highest break it has reached), given the
   * lowest stack pointer reached since `memory` last equalled the snapshot (0 if unknown: restores all).
   * Returns the number of bytes copied or zeroed.
   */
  restoreInto(memory: WebAssembly.Memory, lowestStackPointer = 0): number {
    const heap = new Uint8Array(memory.buffer)
    const bytes = this.bytes
    if (heap.length < bytes.length) throw new Error('memory is smaller than the snapshot')
    const top = readBreak(memory, this.breakAddress)
    // A break outside the plausible range means the heap metadata was trashed: clear everything.
    const dirtyEnd = top >= bytes.length && top <= heap.length ? top : heap.length
    // [stack.low, cleanEnd) is untouched. A pointer below the stack (an overflow into static data) or
    // above it (never reset) leaves nothing to skip.
    const { low, high } = this.stack
    const cleanEnd = lowestStackPointer > low && lowestStackPointer <= high ? lowestStackPointer : low
    let copied: number
    if (cleanEnd > low) {
      heap.set(this.staticBytes, 0)
      heap.set(bytes.subarray(cleanEnd), cleanEnd)
      copied = low + bytes.length - cleanEnd
    } else {
      heap.set(bytes, 0)
      copied = bytes.length
    }
    if (dirtyEnd > bytes.length) heap.fill(0, bytes.length, dirtyEnd)
    return copied + Math.max(0, dirtyEnd - bytes.length)
  }
}

let breakAddress: Promise<number> | undefined

/**
 * Finds where the allocator keeps its break pointer (a static C variable of the build), once per
 * process: in a scratch instance, it is the word of static data that moves furthest past a fresh 4 MiB
 * allocation.
 */
export function locateBreakAddress(): Promise<number> {
  breakAddress ??= instantiateQuickJS(64 * 1024 * 1024).then(findBreakAddress)
  breakAddress.catch(() => {
    breakAddress = undefined
  })
  return breakAddress
}

function findBreakAddress(instance: QuickJSWasmInstance): number {
  const stackTop = instance.stackPointer()
  const words = (): Uint32Array => new Uint32Array(instance.memory.buffer)
  const before = words()
  const candidates: { index: number; value: number }[] = []
  for (let i = 256; i < stackTop >>> 2; i++) {
    const value = before[i] as number
    if (value >= stackTop && value <= instance.memory.buffer.byteLength && value % 8 === 0) {
      candidates.push({ index: i, value })
    }
  }
  const context = instance.module.newContext()
  const allocation = 4 * 1024 * 1024
  const result = context.evalCode(`globalThis.probe = new ArrayBuffer(${allocation}); 0`)
  if (result.error) throw new Error('break probe failed to allocate')
  const after = words()
  // The allocator's own "top chunk" pointer moves too, but always stays below the break.
  let best: { index: number; top: number } | undefined
  for (const { index, value } of candidates) {
    const top = after[index] as number
    if (top >= value + allocation && top <= instance.memory.buffer.byteLength && (!best || top > best.top)) {
      best = { index, top }
    }
  }
  if (!best) throw new Error('cannot locate the heap break pointer')
  // The scratch instance is dropped without disposal: its memory is garbage once unreferenced.
  return best.index * 4
}
