/**
 * Determinism and clean reset: the same command uses the same fuel and produces the same result on
 * every run and in every engine; nothing survives from one invocation to the next.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContractEngine } from './engine.js'
import {
  BLOCK_TIMESTAMP,
  bundle,
  call,
  codeOf,
  recordingHost,
  recordingLogger,
  resultOf,
} from './test-support.js'

const CONTRACT = bundle(
  `{
  init(ctx, args) { return work(args ?? 100) },
  commands: {
    work(ctx, n) { return work(n) },
    mutate() { counter++; cache.push(counter); Object.prototype.polluted = true; return [counter, cache.length] },
    observe() { return [counter, cache.length, typeof ({}).polluted] },
    clock() {
      const d = new Date()
      return [Date.now(), d.getTime(), new Date().getTimezoneOffset(), d.toISOString(), String(d).includes('GMT+0000'), d.getHours()]
    },
    random(ctx) {
      return [Math.random(), Math.random(), ctx.random(8), crypto.getRandomValues(new Uint8Array(4))]
    },
    storageWork(ctx, n) {
      for (let i = 0; i < n; i++) ctx.storage.set('k' + i, { i, big: BigInt(i) ** 20n, bytes: ctx.random(4) })
      let sum = 0n
      for (let i = 0; i < n; i++) sum += ctx.storage.get('k' + i).big
      ctx.emit('done', { sum })
      return sum
    },
    indexOf() { return 'a'.repeat(1 << 20).indexOf('a'.repeat(1 << 17) + 'b') },
    bomb() { const a = []; for (;;) a.push(new Uint8Array(1 << 20)) },
  },
  queries: {
    clock() { return Date.now() },
    random(ctx) { return [Math.random(), ctx.random(8)] },
    work(ctx, n) { return work(n) },
    mutate() { counter++; return counter },
  },
}`,
  `let counter = 0
  const cache = []
  function work(n) {
    const items = []
    for (let i = 0; i < n; i++) items.push({ id: i, name: 'item-' + i, tags: ['a', 'b'].map((t) => t + i) })
    const index = new Map(items.map((x) => [x.name, x]))
    return JSON.stringify(items).length + index.size + items.sort((a, b) => b.id - a.id)[0].id
  }`,
)

describe('determinism', () => {
  let engine: ContractEngine
  let twin: ContractEngine
  const logger = recordingLogger()
  beforeAll(async () => {
    ;[engine, twin] = await Promise.all([
      ContractEngine.create(CONTRACT, { logger, verifyRestores: true }),
      ContractEngine.create(CONTRACT),
    ])
  })
  afterAll(() => {
    engine.dispose()
    twin.dispose()
  })

  it('uses the same fuel for the same command on every run and in every engine', async () => {
    const outcomes = []
    for (let i = 0; i < 5; i++) outcomes.push(await call(engine, 'command', 'work', [300]))
    outcomes.push(await call(twin, 'command', 'work', [300]))
    const fuels = outcomes.map((o) => o.fuel)
    expect(new Set(fuels).size).toBe(1)
    expect(new Set(outcomes.map((o) => o.ok && o.resultText)).size).toBe(1)
    expect(fuels[0]).toBeGreaterThan(100_000)
  })

  it('uses the same fuel for storage-heavy commands, with identical effects', async () => {
    const runs = []
    for (const target of [engine, engine, twin]) {
      const host = recordingHost()
      const outcome = await call(target, 'command', 'storageWork', [50], { host, seed: 3 })
      runs.push({
        fuel: outcome.fuel,
        result: resultOf(outcome),
        store: [...host.store],
        events: host.events,
      })
    }
    expect(runs[1]).toEqual(runs[0])
    expect(runs[2]).toEqual(runs[0])
  })

  it('keeps the same fuel after hostile runs and instance rebuilds', async () => {
    const before = (await call(engine, 'command', 'work', [300])).fuel
    expect(codeOf(await call(engine, 'command', 'bomb'))).toBe('OUT_OF_MEMORY')
    expect(codeOf(await call(engine, 'command', 'indexOf'))).toBe('OUT_OF_FUEL')
    // The native abort broke that instance; a fresh one was built and adopted the same snapshot.
    expect((await call(engine, 'command', 'work', [300])).fuel).toBe(before)
    expect(logger.warnings).not.toContain('new sandbox instance has its own snapshot (layout differs)')
  })

  it('uses the same fuel in another process with another environment, time zone and argv', async () => {
    const local = await call(engine, 'command', 'storageWork', [20], { seed: 5 })
    const script = `
      const { ContractEngine } = await import(${JSON.stringify(new URL('./engine.ts', import.meta.url).href)})
      const { call } = await import(${JSON.stringify(new URL('./test-support.ts', import.meta.url).href)})
      const engine = await ContractEngine.create(${JSON.stringify(CONTRACT)})
      const outcome = await call(engine, 'command', 'storageWork', [20], { seed: 5 })
      process.stdout.write(JSON.stringify({ fuel: outcome.fuel, result: outcome.resultText }))
    `
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, 'an', 'extra', 'argv'],
      {
        env: {
          ...process.env,
          TZ: 'Pacific/Kiritimati',
          LANG: 'ja_JP.UTF-8',
          VEIL_PADDING: 'x'.repeat(4096),
        },
      },
    )
    expect(JSON.parse(stdout)).toEqual({ fuel: local.fuel, result: local.ok && local.resultText })
  }, 60_000)

  it('runs init deterministically', async () => {
    const a = await call(engine, 'init', 'init', [50])
    const b = await call(twin, 'init', '', [50])
    expect(a).toEqual(b)
  })

  it('gives commands the block timestamp as the clock, in UTC', async () => {
    const [now, time, offset, iso, gmt, hours] = resultOf(await call(engine, 'command', 'clock')) as [
      number,
      number,
      number,
      string,
      boolean,
      number,
    ]
    expect(now).toBe(BLOCK_TIMESTAMP)
    expect(time).toBe(BLOCK_TIMESTAMP)
    expect(offset).toBe(0)
    expect(iso).toBe(new Date(BLOCK_TIMESTAMP).toISOString())
    expect(gmt).toBe(true)
    expect(hours).toBe(new Date(BLOCK_TIMESTAMP).getUTCHours())
    const later = resultOf(
      await call(engine, 'command', 'clock', [], {
        env: { block: { number: 8n, timestamp: 42_000, hash: '0x01' } },
      }),
    ) as number[]
    expect(later[0]).toBe(42_000)
  })

  it('seeds Math.random, ctx.random and crypto from the random seed', async () => {
    const a = resultOf(await call(engine, 'command', 'random', [], { seed: 1 }))
    const b = resultOf(await call(twin, 'command', 'random', [], { seed: 1 }))
    const c = resultOf(await call(engine, 'command', 'random', [], { seed: 2 })) as unknown[]
    expect(a).toEqual(b)
    const [x, y, bytes, crypto] = a as [number, number, Uint8Array, Uint8Array]
    expect(x).not.toBe(y)
    expect(x).toBeGreaterThanOrEqual(0)
    expect(x).toBeLessThan(1)
    expect(bytes).toHaveLength(8)
    // crypto.getRandomValues continues the ctx.random stream.
    expect(crypto).toHaveLength(4)
    expect(c[0]).not.toBe(x)
    expect(c[2]).not.toEqual(bytes)
  })

  it('resets module-level state, prototypes and globals before every invocation', async () => {
    expect(resultOf(await call(engine, 'command', 'mutate'))).toEqual([1, 1])
    expect(resultOf(await call(engine, 'command', 'mutate'))).toEqual([1, 1])
    expect(resultOf(await call(engine, 'command', 'observe'))).toEqual([0, 0, 'undefined'])
    expect(resultOf(await call(engine, 'query', 'mutate'))).toBe(1)
    expect(resultOf(await call(engine, 'query', 'mutate'))).toBe(1)
  })
})

describe('queries', () => {
  it('see the injected clock and randomness', async () => {
    let now = 5_000
    let counter = 0
    const engine = await ContractEngine.create(CONTRACT, {
      clock: { now: () => now },
      random: (length) => new Uint8Array(length).fill(++counter),
    })
    expect(resultOf(await call(engine, 'query', 'clock'))).toBe(5_000)
    now = 6_000
    expect(resultOf(await call(engine, 'query', 'clock'))).toBe(6_000)
    const [, bytes] = resultOf(await call(engine, 'query', 'random')) as [number, Uint8Array]
    expect([...bytes]).toEqual(Array(8).fill(counter))
    engine.dispose()
  })

  it('use real randomness by default', async () => {
    const engine = await ContractEngine.create(CONTRACT)
    const a = resultOf(await call(engine, 'query', 'random'))
    const b = resultOf(await call(engine, 'query', 'random'))
    expect(a).not.toEqual(b)
    engine.dispose()
  })

  it('share one snapshot across the pool: same fuel on every instance', async () => {
    const logger = recordingLogger()
    // Fixed randomness: a query's fuel may vary by a few units with its (real) Math.random seed.
    const random = (length: number) => new Uint8Array(length).fill(9)
    const engine = await ContractEngine.create(CONTRACT, {
      queryPoolSize: 3,
      logger,
      random,
      verifyRestores: true,
    })
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => call(engine, 'query', 'work', [200])))
    expect(new Set(outcomes.map((o) => o.fuel)).size).toBe(1)
    expect(outcomes.every((o) => o.ok)).toBe(true)
    expect(logger.warnings).toEqual([])
    engine.dispose()
  })
})
