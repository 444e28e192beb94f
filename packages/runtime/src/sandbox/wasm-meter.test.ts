import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { CHUNK, METER_EXPORT, meterWasm, STACK_LOW_EXPORT, WasmRewriteError } from './wasm-meter.js'

const u32 = (value: number): number[] => {
  const out: number[] = []
  let rest = value
  do {
    let b = rest & 0x7f
    rest >>>= 7
    if (rest) b |= 0x80
    out.push(b)
  } while (rest)
  return out
}
const vec = (items: number[][]): number[] => [...u32(items.length), ...items.flat()]
const str = (text: string): number[] => [...u32(text.length), ...new TextEncoder().encode(text)]
const section = (id: number, bytes: number[]): number[] => [id, ...u32(bytes.length), ...bytes]
const body = (locals: number[][], code: number[]): number[] => {
  const content = [...vec(locals), ...code, 0x0b]
  return [...u32(content.length), ...content]
}

/** i++ (local 1) */
const increment = [0x20, 1, 0x41, 1, 0x6a, 0x21, 1]
/** br_if 0 while i < n */
const continueWhileBelow = [0x20, 1, 0x20, 0, 0x48, 0x0d, 0]

/** A hand-assembled module: a hook import, four functions that loop, exit early, branch out, and fill. */
function testModule(extraCode: number[] = []): Uint8Array {
  // biome-ignore format: sections and instructions are grouped by meaning
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, 1, 0x7f, 1, 0x7f], [0x60, 2, 0x7f, 0x7f, 0]])),
    ...section(2, vec([[...str('a'), ...str('i'), 0x00, 0]])),
    ...section(3, vec([[0], [0], [0], [1]])),
    ...section(5, vec([[0x00, 2]])),
    ...section(7, vec([[...str('count'), 0, 1], [...str('early'), 0, 2], [...str('brOut'), 0, 3], [...str('fill'), 0, 4]])),
    ...section(
      10,
      [
        ...u32(4),
        // count(n): loop { i++ } while (i < n); return i
        ...body([[1, 0x7f]], [0x03, 0x40, ...increment, ...continueWhileBelow, 0x0b, 0x20, 1, ...extraCode]),
        // early(n): like count, but `return i` as soon as i == 5
        ...body(
          [[1, 0x7f]],
          [0x03, 0x40, ...increment, 0x20, 1, 0x41, 5, 0x46, 0x04, 0x40, 0x20, 1, 0x0f, 0x0b, ...continueWhileBelow, 0x0b, 0x20, 1],
        ),
        // brOut(n): block { loop { i++; if (i >= n) br 2 (the function label, with i) ; br 0 } } unreachable
        ...body(
          [[1, 0x7f]],
          [0x02, 0x40, 0x03, 0x40, ...increment, 0x20, 1, 0x20, 0, 0x4e, 0x04, 0x40, 0x20, 1, 0x0c, 3, 0x0b, 0x0c, 0, 0x0b, 0x0b, 0x00],
        ),
        // fill(ptr, len): memory.fill(ptr, 0, len)
        ...body([], [0x20, 0, 0x41, 0, 0x20, 1, 0xfc, 0x0b, 0x00]),
      ],
    ),
  ]
  return new Uint8Array(bytes)
}

/**
 * A module with a shadow-stack pointer (global 0, starting at 65536) in the Emscripten style: `sp` reads
 * it, `alloc(n)` moves it down, `restore(p)` sets it, and `deep(n)` loops n times moving it down 16 bytes.
 */
function stackModule(getter: number[] = [0x23, 0], exportGlobal = false): Uint8Array {
  // biome-ignore format: sections and instructions are grouped by meaning
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, 1, 0x7f, 1, 0x7f], [0x60, 0, 1, 0x7f]])),
    ...section(2, vec([[...str('a'), ...str('i'), 0x00, 0]])),
    ...section(3, vec([[1], [0], [0], [0]])),
    ...section(6, vec([[0x7f, 1, 0x41, ...[0x80, 0x80, 0x04], 0x0b]])),
    ...section(7, vec([
      [...str('sp'), 0, 1], [...str('alloc'), 0, 2], [...str('restore'), 0, 3], [...str('deep'), 0, 4],
      ...(exportGlobal ? [[...str('stack'), 3, 0]] : []),
    ])),
    ...section(
      10,
      [
        ...u32(4),
        ...body([], getter),
        // alloc(n): sp = sp - n; return sp
        ...body([], [0x23, 0, 0x20, 0, 0x6b, 0x24, 0, 0x23, 0]),
        // restore(p): sp = p; return p
        ...body([], [0x20, 0, 0x24, 0, 0x20, 0]),
        // deep(n): loop { sp -= 16; i++ } while (i < n); return sp
        ...body([[1, 0x7f]], [0x03, 0x40, 0x23, 0, 0x41, 16, 0x6b, 0x24, 0, ...increment, ...continueWhileBelow, 0x0b, 0x23, 0]),
      ],
    ),
  ]
  return new Uint8Array(bytes)
}

async function instantiate(bytes: Uint8Array) {
  const calls: number[] = []
  const metered = meterWasm(bytes, { module: 'a', name: 'i' })
  const { instance } = await WebAssembly.instantiate(metered.bytes, {
    a: {
      i: (x: number) => {
        calls.push(x)
        return 0
      },
    },
  })
  const exports = instance.exports as Record<string, unknown>
  const meter = exports[METER_EXPORT] as WebAssembly.Global
  const fn = (name: string) => exports[name] as (...args: number[]) => number
  return { metered, calls, meter: () => Number(meter.value as bigint), fn }
}

describe('meterWasm', () => {
  it('counts every loop iteration exactly and calls the hook every CHUNK', async () => {
    const { calls, meter, fn, metered } = await instantiate(testModule())
    expect(metered.loopCount).toBe(3)
    expect(metered.functionCount).toBe(4)
    expect(fn('count')(25_000)).toBe(25_000)
    expect(meter()).toBe(25_000)
    expect(calls).toEqual([0, 0])
    expect(fn('count')(1)).toBe(1)
    expect(meter()).toBe(25_001)
  })

  it('flushes the count on early returns and on branches to the function label', async () => {
    const { meter, fn } = await instantiate(testModule())
    expect(fn('early')(100)).toBe(5)
    expect(meter()).toBe(5)
    expect(fn('brOut')(CHUNK * 3 + 7)).toBe(CHUNK * 3 + 7)
    expect(meter()).toBe(5 + CHUNK * 3 + 7)
  })

  it('charges bulk memory operations by size', async () => {
    const { meter, fn } = await instantiate(testModule())
    fn('fill')(0, 65_536)
    expect(meter()).toBe(65_536 / 64)
  })

  it('refuses opcodes it cannot decode instead of guessing', () => {
    // v128.const (SIMD) in the count function's tail.
    const simd = testModule([0x1a, 0xfd, 0x0c, ...new Array(16).fill(0), 0x1a, 0x20, 1])
    expect(() => meterWasm(simd, { module: 'a', name: 'i' })).toThrow(WasmRewriteError)
    expect(() => meterWasm(testModule(), { module: 'a', name: 'missing' })).toThrow(/not found/)
  })

  it('instruments the QuickJS build into a valid module', async () => {
    const require = createRequire(import.meta.url)
    const original = new Uint8Array(
      await readFile(require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm')),
    )
    const metered = meterWasm(original, { module: 'a', name: 'i' })
    expect(metered.loopCount).toBeGreaterThan(1000)
    expect(metered.functionCount).toBeGreaterThan(400)
    expect(WebAssembly.validate(metered.bytes)).toBe(true)
  })

  it('tracks the lowest value the stack pointer took, without changing the loop count', async () => {
    const metered = meterWasm(stackModule(), { module: 'a', name: 'i' }, { stackPointerExport: 'sp' })
    expect(metered.stack).toEqual({ global: 0, top: 65_536, writes: 3 })
    expect(WebAssembly.validate(metered.bytes)).toBe(true)
    const { instance } = await WebAssembly.instantiate(metered.bytes, { a: { i: () => 0 } })
    const exports = instance.exports as Record<string, unknown>
    const fn = (name: string) => exports[name] as (...args: number[]) => number
    const low = exports[STACK_LOW_EXPORT] as WebAssembly.Global
    const meter = exports[METER_EXPORT] as WebAssembly.Global
    expect(low.value).toBe(0) // untracked until the host resets it
    low.value = fn('sp')()
    expect(fn('alloc')(100)).toBe(65_436)
    expect(low.value).toBe(65_436)
    fn('restore')(65_536)
    expect(low.value).toBe(65_436) // a rise does not move the mark
    expect(fn('deep')(10)).toBe(65_536 - 160)
    expect(low.value).toBe(65_536 - 160)
    expect(Number(meter.value as bigint)).toBe(10)
  })

  it('refuses to track a stack pointer it cannot prove only the module moves', () => {
    const hook = { module: 'a', name: 'i' }
    // The getter does more than read one global.
    expect(() =>
      meterWasm(stackModule([0x23, 0, 0x41, 1, 0x6a]), hook, { stackPointerExport: 'sp' }),
    ).toThrow(/not a stack-pointer getter/)
    // The host could set an exported global behind the tracker's back.
    expect(() => meterWasm(stackModule(undefined, true), hook, { stackPointerExport: 'sp' })).toThrow(
      /exported/,
    )
    expect(() => meterWasm(stackModule(), hook, { stackPointerExport: 'nope' })).toThrow(
      /no exported function/,
    )
  })
})
