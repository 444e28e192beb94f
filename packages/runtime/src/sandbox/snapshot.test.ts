import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { instantiateQuickJS, STACK_BYTES } from './quickjs-wasm.js'
import { locateBreakAddress, MemorySnapshot, readBreak } from './snapshot.js'
import { constantLoadAddresses } from './wasm-meter.js'

const MiB = 1024 * 1024

async function loadedQuickJS() {
  const breakAddress = await locateBreakAddress()
  const wasm = await instantiateQuickJS(128 * MiB)
  const context = wasm.module.newContext()
  // As in the engine: QuickJS's own limit stops JS recursion before V8's stack runs out.
  context.runtime.setMaxStackSize(256 * 1024)
  const evaluate = (code: string): unknown => {
    const result = context.evalCode(code)
    if (result.error) throw new Error(String(context.dump(result.error)))
    return context.dump(result.value)
  }
  return { breakAddress, wasm, evaluate }
}

describe('memory snapshots', () => {
  it('finds the same break pointer every time', async () => {
    expect(await locateBreakAddress()).toBe(await locateBreakAddress())
  })

  it('relies on an allocator that never lowers its break', async () => {
    const { breakAddress, wasm, evaluate } = await loadedQuickJS()
    evaluate(`globalThis.big = new ArrayBuffer(${8 * MiB}); 0`)
    const grown = readBreak(wasm.memory, breakAddress)
    // Dropping the only reference frees the buffer at once (reference counting).
    evaluate('delete globalThis.big; 0')
    expect(readBreak(wasm.memory, breakAddress)).toBe(grown)
  })

  it('restores byte-identical memory, with everything above the snapshot zeroed', async () => {
    const { breakAddress, wasm, evaluate } = await loadedQuickJS()
    evaluate('globalThis.counter = 1; 0')
    const snapshot = MemorySnapshot.capture(wasm.memory, breakAddress, 'test', wasm.stackRegion)
    expect(snapshot.matches(wasm.memory)).toBe(true)

    evaluate(
      `globalThis.counter++; globalThis.junk = []; for (let i = 0; i < 1000; i++) junk.push(new Uint8Array(${16 * 1024}).fill(7)); 0`,
    )
    expect(readBreak(wasm.memory, breakAddress)).toBeGreaterThan(snapshot.size)
    expect(snapshot.matches(wasm.memory)).toBe(false)

    // No tracking since instantiation (the tracker reads 0): the restore is complete.
    expect(wasm.lowestStackPointer()).toBe(0)
    expect(snapshot.restoreInto(wasm.memory, wasm.lowestStackPointer())).toBeGreaterThanOrEqual(snapshot.size)
    expect(snapshot.matches(wasm.memory)).toBe(true)
    const heap = new Uint8Array(wasm.memory.buffer)
    expect(heap.subarray(snapshot.size).every((b) => b === 0)).toBe(true)
    // QuickJS is back in the state of the snapshot and keeps working.
    expect(evaluate('[globalThis.counter, typeof globalThis.junk]')).toEqual([1, 'undefined'])
  })

  it('locates a 5 MiB stack between the static data and the heap', async () => {
    const { breakAddress, wasm } = await loadedQuickJS()
    const { low, high } = wasm.stackRegion
    expect(high - low).toBe(STACK_BYTES)
    expect(breakAddress).toBeLessThan(low)
    expect(wasm.stackPointer()).toBe(high)
    expect(readBreak(wasm.memory, breakAddress)).toBeGreaterThan(high)
  })

  it('finds no static variable inside the assumed stack (the restore never skips static data)', async () => {
    const { wasm } = await loadedQuickJS()
    const require = createRequire(import.meta.url)
    const binary = new Uint8Array(await readFile(require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm')))
    const addresses = [...constantLoadAddresses(binary)]
    expect(addresses.length).toBeGreaterThan(20)
    const { low, high } = wasm.stackRegion
    // Static data sits just below the stack: the highest static load is close to `low`, none is above.
    expect(addresses.filter((a) => a >= low && a < high)).toEqual([])
    expect(Math.max(...addresses.filter((a) => a < low))).toBeGreaterThan(low - 4096)
  })

  it('tracks the lowest stack pointer that any code reached', async () => {
    const { wasm, evaluate } = await loadedQuickJS()
    wasm.resetLowestStackPointer()
    expect(wasm.lowestStackPointer()).toBe(wasm.stackRegion.high)
    evaluate('0')
    const shallow = wasm.lowestStackPointer()
    evaluate('function f(n) { return n === 0 ? 0 : 1 + f(n - 1) } f(300)')
    const deep = wasm.lowestStackPointer()
    expect(shallow).toBeLessThan(wasm.stackRegion.high)
    expect(deep).toBeLessThan(shallow - 10_000)
    // Back at the base, but the low-water mark stays until the next reset.
    expect(wasm.stackPointer()).toBe(wasm.stackRegion.high)
    expect(wasm.lowestStackPointer()).toBe(deep)
  })

  it('restores only the used part of the stack, and memory is still byte-identical', async () => {
    const { breakAddress, wasm, evaluate } = await loadedQuickJS()
    evaluate('globalThis.counter = 1; 0')
    const snapshot = MemorySnapshot.capture(wasm.memory, breakAddress, 'test', wasm.stackRegion)
    wasm.resetLowestStackPointer()
    // Workloads that use the stack in different ways: deep JS recursion, native recursion in the parser
    // and JSON, regular expressions with backtracking, a caught stack overflow, large frames.
    const workloads = [
      'globalThis.counter++; 0',
      'function f(n) { return n === 0 ? 0 : 1 + f(n - 1) } f(500)',
      `JSON.stringify(JSON.parse('${'['.repeat(400)}${']'.repeat(400)}')).length`,
      `eval('${'('.repeat(300)}1${')'.repeat(300)}')`,
      "/^(a+)+b$/.test('a'.repeat(18)) ? 1 : 0",
      'function g() { return g() } try { g() } catch (e) { 0 }',
      "[3, 1, 2].sort((a, b) => a - b).map(String).join('').localeCompare('x')",
    ]
    for (const code of workloads) {
      evaluate(code)
      expect(snapshot.matches(wasm.memory)).toBe(false)
      const lowest = wasm.lowestStackPointer()
      expect(lowest).toBeGreaterThan(wasm.stackRegion.low)
      const copied = snapshot.restoreInto(wasm.memory, lowest)
      wasm.resetLowestStackPointer()
      expect(copied).toBeLessThan(snapshot.size)
      expect(snapshot.matches(wasm.memory)).toBe(true)
      expect(evaluate('globalThis.counter')).toBe(1)
    }
  })

  it('skips the stack below the lowest pointer, so the tracking must be reset only when memory is clean', async () => {
    const { breakAddress, wasm } = await loadedQuickJS()
    const snapshot = MemorySnapshot.capture(wasm.memory, breakAddress, 'test', wasm.stackRegion)
    wasm.resetLowestStackPointer()
    // A byte in the never-used part of the stack: the tracked restore does not look there...
    const untouched = wasm.stackRegion.low + 1024
    new Uint8Array(wasm.memory.buffer)[untouched] = 0xff
    snapshot.restoreInto(wasm.memory, wasm.lowestStackPointer())
    expect(snapshot.matches(wasm.memory)).toBe(false)
    // ...a complete restore does.
    snapshot.restoreInto(wasm.memory)
    expect(snapshot.matches(wasm.memory)).toBe(true)
  })
})
