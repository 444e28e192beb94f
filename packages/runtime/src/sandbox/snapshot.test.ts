import { describe, expect, it } from 'vitest'
import { instantiateQuickJS } from './quickjs-wasm.js'
import { locateBreakAddress, MemorySnapshot, readBreak } from './snapshot.js'

const MiB = 1024 * 1024

async function loadedQuickJS() {
  const breakAddress = await locateBreakAddress()
  const wasm = await instantiateQuickJS(128 * MiB)
  const context = wasm.module.newContext()
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
    const snapshot = MemorySnapshot.capture(wasm.memory, breakAddress, 'test')
    expect(snapshot.matches(wasm.memory)).toBe(true)

    evaluate(
      `globalThis.counter++; globalThis.junk = []; for (let i = 0; i < 1000; i++) junk.push(new Uint8Array(${16 * 1024}).fill(7)); 0`,
    )
    expect(readBreak(wasm.memory, breakAddress)).toBeGreaterThan(snapshot.size)
    expect(snapshot.matches(wasm.memory)).toBe(false)

    snapshot.restoreInto(wasm.memory)
    expect(snapshot.matches(wasm.memory)).toBe(true)
    const heap = new Uint8Array(wasm.memory.buffer)
    expect(heap.subarray(snapshot.size).every((b) => b === 0)).toBe(true)
    // QuickJS is back in the state of the snapshot and keeps working.
    expect(evaluate('[globalThis.counter, typeof globalThis.junk]')).toEqual([1, 'undefined'])
  })
})
