import { decodeValue, encodeValue } from '@veil/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContractEngine } from './engine.js'
import { InvalidBundleError } from './errors.js'
import { bundle, call, codeOf, recordingHost, resultOf } from './test-support.js'

const COUNTER = bundle(`{
  init(ctx, args) { ctx.storage.set('n', args.start); ctx.emit('created', { start: args.start }); return 'ready' },
  commands: {
    add(ctx, by) {
      const n = (ctx.storage.get('n') ?? 0) + by
      ctx.storage.set('n', n)
      ctx.emit('added', { by, n })
      ctx.log('added', by, { n })
      return n
    },
    put(ctx, key, value) { ctx.storage.set(key, value); return ctx.storage.has(key) },
    remove(ctx, key) { return ctx.storage.delete(key) },
    echo(ctx, ...args) { return args },
    whoami(ctx) { return { caller: ctx.caller, block: ctx.block, contract: ctx.contract.id } },
    async slow(ctx, x) {
      await null
      const v = await Promise.resolve(x * 2)
      ctx.storage.set('slow', v)
      return v
    },
    logs(ctx) {
      ctx.log.warn('careful', 1n, new Uint8Array([1, 2]))
      ctx.log.error(new Error('bad'))
      console.log('via console', [1, 2, 3])
      console.error({ deep: { deeper: { deepest: 1 } } })
      return null
    },
    nothing() {},
  },
  queries: {
    get(ctx) { return ctx.storage.get('n') ?? 0 },
    read(ctx, key) { return ctx.storage.get(key) ?? null },
    async later(ctx) { await null; return 'later' },
  },
}`)

describe('ContractEngine happy paths', () => {
  let engine: ContractEngine
  beforeAll(async () => {
    engine = await ContractEngine.create(COUNTER)
  })
  afterAll(() => engine.dispose())

  it('reads the method tables from the bundle', () => {
    expect(engine.methods).toEqual({
      commands: ['add', 'put', 'remove', 'echo', 'whoami', 'slow', 'logs', 'nothing'],
      queries: ['get', 'read', 'later'],
      hasInit: true,
      jobs: [],
    })
  })

  it('runs init, commands and queries against the host storage', async () => {
    const host = recordingHost()
    expect(resultOf(await call(engine, 'init', 'init', [{ start: 5 }], { host }))).toBe('ready')
    expect(resultOf(await call(engine, 'command', 'add', [2], { host }))).toBe(7)
    expect(resultOf(await call(engine, 'command', 'add', [3], { host }))).toBe(10)
    expect(resultOf(await call(engine, 'query', 'get', [], { host }))).toBe(10)
    expect(host.store.get('n')).toBe('10')
    expect(host.events).toEqual([
      { name: 'created', data: { start: 5 } },
      { name: 'added', data: { by: 2, n: 7 } },
      { name: 'added', data: { by: 3, n: 10 } },
    ])
    expect(host.logs).toEqual([
      { level: 'info', message: 'added 2 { n: 7 }' },
      { level: 'info', message: 'added 3 { n: 10 }' },
    ])
  })

  it('round-trips bigint, Uint8Array and nested values through storage', async () => {
    const host = recordingHost()
    const value = {
      big: 2n ** 100n,
      neg: -5n,
      bytes: new Uint8Array([0, 1, 254, 255]),
      nested: [{ a: [1, 'two', null, true] }, { $weird: 'key', '': 0 }],
      text: 'héllo \u{1f600}',
    }
    expect(resultOf(await call(engine, 'command', 'put', ['v', value], { host }))).toBe(true)
    expect(host.store.get('v')).toBe(encodeValue(value))
    expect(resultOf(await call(engine, 'query', 'read', ['v'], { host }))).toEqual(value)
    expect(resultOf(await call(engine, 'command', 'remove', ['v'], { host }))).toBe(true)
    expect(resultOf(await call(engine, 'command', 'remove', ['v'], { host }))).toBe(false)
    expect(host.store.has('v')).toBe(false)
  })

  it('passes every argument and returns the canonical encoding', async () => {
    const outcome = await call(engine, 'command', 'echo', [1, 'a', [2n], { z: 1, a: 2 }])
    expect(outcome.ok && outcome.resultText).toBe('[1,"a",[{"$bigint":"2"}],{"a":2,"z":1}]')
    expect(resultOf(await call(engine, 'command', 'nothing'))).toBeNull()
  })

  it('exposes caller, block and contract id on ctx', async () => {
    expect(resultOf(await call(engine, 'command', 'whoami'))).toEqual({
      caller: '0x00000000000000000000000000000000000000aa',
      block: { number: 7n, timestamp: 1_700_000_000_000, hash: `0x${'ab'.repeat(32)}` },
      contract: '42',
    })
    const query = resultOf(await call(engine, 'query', 'later'))
    expect(query).toBe('later')
  })

  it('drives async handlers to completion', async () => {
    const host = recordingHost()
    expect(resultOf(await call(engine, 'command', 'slow', [21], { host }))).toBe(42)
    expect(host.store.get('slow')).toBe('42')
  })

  it('formats logs inside the sandbox, including console', async () => {
    const host = recordingHost()
    resultOf(await call(engine, 'command', 'logs', [], { host }))
    expect(host.logs).toEqual([
      { level: 'warn', message: 'careful 1n Uint8Array(2) [01 02]' },
      { level: 'error', message: 'Error: bad' },
      { level: 'info', message: 'via console [1, 2, 3]' },
      { level: 'error', message: '{ deep: { deeper: [Object] } }' },
    ])
  })

  it('reports fuel for every outcome', async () => {
    const outcome = await call(engine, 'command', 'add', [1])
    expect(outcome.ok).toBe(true)
    expect(outcome.fuel).toBeGreaterThan(0)
  })

  it('runs init as a no-op for a contract without init', async () => {
    const plain = await ContractEngine.create(bundle('{ commands: { x() { return 1 } } }'))
    expect(plain.methods).toEqual({ commands: ['x'], queries: [], hasInit: false, jobs: [] })
    expect(resultOf(await call(plain, 'init', ''))).toBeNull()
    plain.dispose()
  })

  it('rejects bundles that do not define a contract', async () => {
    await expect(ContractEngine.create('var nothing = 1')).rejects.toBeInstanceOf(InvalidBundleError)
    await expect(ContractEngine.create(bundle('{ commands: { x: 1 } }'))).rejects.toThrow(
      /commands.x is not a function/,
    )
    await expect(ContractEngine.create('throw new Error("top level")')).rejects.toThrow(/top level/)
    await expect(
      ContractEngine.create('var __veilModule = { default: {} }; syntax error here'),
    ).rejects.toThrow(/SyntaxError/)
    const small = { limits: { load: { fuel: 1_000_000 } } }
    await expect(ContractEngine.create('for (;;) {}', small)).rejects.toThrow(/ran out of fuel/)
    // Native work at load time is metered too (and aborted through the loop meter).
    await expect(
      ContractEngine.create("'a'.repeat(1 << 20).indexOf('a'.repeat(1 << 17) + 'b')", small),
    ).rejects.toThrow(/ran out of fuel/)
    await expect(ContractEngine.create(`[${'['.repeat(100_000)}]`)).rejects.toBeInstanceOf(InvalidBundleError)
  })

  it('rejects invocations after dispose', async () => {
    const doomed = await ContractEngine.create(COUNTER)
    doomed.dispose()
    await expect(call(doomed, 'command', 'add', [1])).rejects.toThrow(/disposed/)
  })

  it('serves concurrent queries from a pool while commands stay ordered', async () => {
    const host = recordingHost()
    const commands = Array.from({ length: 5 }, (_, i) =>
      call(engine, 'command', 'put', [`k${i}`, i], { host }),
    )
    const queries = Array.from({ length: 6 }, () => call(engine, 'query', 'later', [], { host }))
    const outcomes = await Promise.all([...commands, ...queries])
    expect(outcomes.map(codeOf)).toEqual(Array(11).fill('OK'))
    expect([...host.store.keys()]).toEqual(['k0', 'k1', 'k2', 'k3', 'k4'])
  })

  it('decodes results with the shared encoding', async () => {
    const outcome = await call(engine, 'command', 'echo', [new Uint8Array([9])])
    expect(outcome.ok && decodeValue(outcome.resultText)).toEqual([new Uint8Array([9])])
  })
})

describe('prelude globals', () => {
  let engine: ContractEngine
  beforeAll(async () => {
    engine = await ContractEngine.create(
      bundle(`{
        commands: {
          eval(ctx, source) { return (0, eval)(source) },
          random(ctx, n) { return [ctx.random(n), crypto.getRandomValues(new Uint8Array(n)), crypto.randomUUID()] },
        },
        queries: { eval(ctx, source) { return (0, eval)(source) } },
      }`),
    )
  })
  afterAll(() => engine.dispose())
  const run = async (source: string): Promise<unknown> =>
    resultOf(await call(engine, 'command', 'eval', [source]))

  it('provides TextEncoder and TextDecoder (UTF-8)', async () => {
    expect(await run(`Array.from(new TextEncoder().encode('a€\u{1f600}'))`)).toEqual([
      ...new TextEncoder().encode('a€\u{1f600}'),
    ])
    expect(
      await run(`new TextDecoder().decode(new Uint8Array([0x68, 0xc3, 0xa9, 0xff, 0xf0, 0x9f, 0x98, 0x80]))`),
    ).toBe(new TextDecoder().decode(new Uint8Array([0x68, 0xc3, 0xa9, 0xff, 0xf0, 0x9f, 0x98, 0x80])))
    expect(
      await run(
        `try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xc3])) } catch (e) { e.name }`,
      ),
    ).toBe('TypeError')
    expect(await run(`new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]).buffer)`)).toBe('A')
  })

  it('provides atob and btoa', async () => {
    expect(await run(`btoa('hello\\u00ff')`)).toBe(Buffer.from('hello\u00ff', 'latin1').toString('base64'))
    expect(await run(`atob('aGVsbG8')`)).toBe('hello')
    expect(await run(`try { btoa('€') } catch (e) { e.name }`)).toBe('InvalidCharacterError')
  })

  it('provides crypto.getRandomValues, randomUUID and ctx.random', async () => {
    const [a, b, uuid] = resultOf(await call(engine, 'command', 'random', [8])) as [
      Uint8Array,
      Uint8Array,
      string,
    ]
    expect(a).toHaveLength(8)
    expect(b).toHaveLength(8)
    expect(a).not.toEqual(b)
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('provides queueMicrotask and self, but no timers or host objects', async () => {
    expect(await run(`typeof queueMicrotask + typeof self + typeof globalThis.crypto`)).toBe(
      'functionobjectobject',
    )
    expect(await run(`typeof setTimeout + typeof setInterval + typeof setImmediate + typeof fetch`)).toBe(
      'undefinedundefinedundefinedundefined',
    )
  })
})
