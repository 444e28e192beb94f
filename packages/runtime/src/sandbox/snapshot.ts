/**
 * Linear-memory snapshots of a loaded sandbox instance.
 *
 * Layout of the QuickJS build: static data, then the ≈ 5 MiB shadow stack, then the malloc heap, which
 * grows upwards through `sbrk`. The allocator never returns memory to `sbrk` (checked by a test), so
 * everything a guest can have touched lies below the current break. A snapshot therefore copies
 * [0, break) once, after the bundle loaded; a restore writes it back and zeroes [snapshot end, current
 * break), which leaves the memory byte-identical to the moment of the snapshot — memory above the
 * break was zero then and has never been handed out since.
 */
import { instantiateQuickJS, type QuickJSWasmInstance } from './quickjs-wasm.js'

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
  private constructor(
    private readonly bytes: Uint8Array,
    readonly breakAddress: number,
    /** Host-visible pointers the snapshot assumes (runtime, context, handles); see `SandboxInstance`. */
    readonly layout: string,
  ) {}

  static capture(memory: WebAssembly.Memory, breakAddress: number, layout: string): MemorySnapshot {
    const end = readBreak(memory, breakAddress)
    if (end <= 0 || end > memory.buffer.byteLength) throw new Error(`implausible heap break ${end}`)
    return new MemorySnapshot(new Uint8Array(memory.buffer, 0, end).slice(), breakAddress, layout)
  }

  /** Bytes copied on every restore. */
  get size(): number {
    return this.bytes.length
  }

  /** True when `memory` equals the snapshot byte for byte and is zero above it, up to its current break. */
  matches(memory: WebAssembly.Memory): boolean {
    const heap = new Uint8Array(memory.buffer)
    const top = readBreak(memory, this.breakAddress)
    if (heap.length < this.bytes.length || top > heap.length) return false
    for (let i = 0; i < this.bytes.length; i++) if (heap[i] !== this.bytes[i]) return false
    for (let i = this.bytes.length; i < top; i++) if (heap[i] !== 0) return false
    return true
  }

  /** Makes `memory` byte-identical to the snapshot (up to the highest break it has reached). */
  restoreInto(memory: WebAssembly.Memory): void {
    const heap = new Uint8Array(memory.buffer)
    if (heap.length < this.bytes.length) throw new Error('memory is smaller than the snapshot')
    const top = readBreak(memory, this.breakAddress)
    // A break outside the plausible range means the heap metadata was trashed: clear everything.
    const dirtyEnd = top >= this.bytes.length && top <= heap.length ? top : heap.length
    heap.set(this.bytes, 0)
    if (dirtyEnd > this.bytes.length) heap.fill(0, this.bytes.length, dirtyEnd)
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
