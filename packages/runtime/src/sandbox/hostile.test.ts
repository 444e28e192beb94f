/**
 * Hostile contracts: each must fail only its own invocation, with the right typed error, and the engine
 * must keep serving the next call.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ContractEngine } from './engine.js'
import { ContractError } from './errors.js'
import { bundle, call, codeOf, recordingHost, recordingLogger, resultOf } from './test-support.js'

const HOSTILE = bundle(`{
  commands: {
    ping() { return 'pong' },
    loop() { for (;;) {} },
    recurse() { const f = (n) => f(n + 1) + 1; return f(0) },
    recurseCaught() { const f = (n) => f(n + 1) + 1; try { return f(0) } catch (e) { return 'caught ' + e.message } },
    deepJson() { return JSON.parse('['.repeat(100000) + ']'.repeat(100000)) },
    deepEval() { return eval('('.repeat(50000) + '1' + ')'.repeat(50000)) },
    deepToString() { let a = []; for (let i = 0; i < 100000; i++) a = [a]; return String(a) },
    memoryBomb() { const a = []; for (;;) a.push(new Uint8Array(1024 * 1024)) },
    stringBomb() { const a = []; for (;;) a.push('x'.repeat(1024) + a.length) },
    hugeResult() { return 'x'.repeat(2 * 1024 * 1024) },
    storageFlood(ctx) { for (let i = 0; ; i++) ctx.storage.set('k' + i, 'x'.repeat(1000)) },
    bigValue(ctx) { ctx.storage.set('big', 'x'.repeat(300 * 1024)) },
    longKey(ctx) { ctx.storage.set('k'.repeat(2000), 1) },
    deposit(ctx, user, amount) { ctx.storage.set('balance:' + user, amount); return ctx.storage.get('balance:' + user) },
    setKey(ctx, key, value) { try { ctx.storage.set(key, value); return 'set' } catch (e) { return e.name + ': ' + e.message } },
    regex() { return /(a+)+$/.test('a'.repeat(40) + '!') },
    indexOf() { return 'a'.repeat(1 << 20).indexOf('a'.repeat(1 << 17) + 'b') },
    bigint() { return (3n ** 3000000n).toString().length },
    getterResult() { return { get x() { for (;;) {} } } },
    toJsonResult() { return { toJSON() { for (;;) {} } } },
    proxyResult() { return new Proxy({}, { ownKeys() { for (;;) {} } }) },
    proxyProtoResult() { return new Proxy({}, { getPrototypeOf() { for (;;) {} } }) },
    classResult() { return new (class Point { constructor() { this.x = 1 } })() },
    throwString() { throw 'plain string' },
    throwObject() { throw { code: 42, nested: { deep: true } } },
    throwNull() { throw null },
    throwProxy() { throw new Proxy({}, { get() { throw new Error('trap') }, getPrototypeOf() { throw new Error('trap') } }) },
    throwLoopingProxy() { throw new Proxy({}, { getPrototypeOf() { for (;;) {} } }) },
    throwHostileError() { const e = new Error('x'); Object.defineProperty(e, 'message', { get() { for (;;) {} } }); throw e },
    async rejectLater() { await null; throw new RangeError('async failure') },
    neverSettles() { return new Promise(() => {}) },
    microtaskFlood() { const f = () => Promise.resolve().then(f); f(); return 'done' },
    tamper() { JSON.stringify = () => '{'; return 'text' },
    tamperSort() { Array.prototype.sort = function () { return this }; return { b: 1, a: 2 } },
    probe() {
      const g = Function('return this')()
      return {
        same: g === globalThis,
        names: Object.getOwnPropertyNames(globalThis).sort(),
        types: [typeof process, typeof require, typeof module, typeof exports, typeof fetch, typeof setTimeout,
          typeof setInterval, typeof setImmediate, typeof WebAssembly, typeof std, typeof os, typeof print,
          typeof __veilHost, typeof __veilPrelude, typeof XMLHttpRequest, typeof importScripts, typeof Deno,
          typeof Bun].join(','),
      }
    },
    async importFs() { try { await eval('import("fs")'); return 'imported' } catch (e) { return 'refused' } },
    writeGlobal() { globalThis.leak = 'secret'; return typeof globalThis.leak },
    readGlobal() { return typeof globalThis.leak },
  },
  queries: {
    write(ctx) { ctx.storage.set('x', 1) },
    writeCaught(ctx) { try { ctx.storage.set('x', 1) } catch (e) { return 'caught ' + e.name } },
    remove(ctx) { ctx.storage.delete('x') },
    emit(ctx) { ctx.emit('nope', 1) },
    ping() { return 'pong' },
  },
}`)

describe('hostile contracts', () => {
  let engine: ContractEngine
  const logger = recordingLogger()
  beforeAll(async () => {
    engine = await ContractEngine.create(HOSTILE, { logger, verifyRestores: true })
  })
  afterAll(() => engine.dispose())
  beforeEach(() => {
    logger.warnings.length = 0
  })

  async function expectFailure(method: string, code: string, kind: 'command' | 'query' = 'command') {
    const outcome = await call(engine, kind, method)
    expect(codeOf(outcome), method).toBe(code)
    // The engine keeps serving, from a clean state.
    expect(resultOf(await call(engine, kind, 'ping'))).toBe('pong')
    return outcome
  }

  it('stops an infinite loop on fuel, without breaking the instance', async () => {
    const outcome = await expectFailure('loop', 'OUT_OF_FUEL')
    expect(outcome.fuel).toBe(10_000_000)
    expect(logger.warnings).toEqual([])
  })

  it('stops an infinite loop on the deadline when fuel is huge', async () => {
    const started = performance.now()
    const outcome = await call(engine, 'command', 'loop', [], { limits: { fuel: 1e15, deadlineMs: 50 } })
    expect(codeOf(outcome)).toBe('TIMEOUT')
    expect(performance.now() - started).toBeLessThan(1000)
    expect(resultOf(await call(engine, 'command', 'ping'))).toBe('pong')
  })

  it('reports unbounded recursion as a stack overflow', async () => {
    await expectFailure('recurse', 'STACK_OVERFLOW')
    // QuickJS's stack overflow is an ordinary (catchable) error inside the contract.
    expect(resultOf(await call(engine, 'command', 'recurseCaught'))).toBe('caught stack overflow')
  })

  it('reports deeply nested data and code as a stack overflow', async () => {
    await expectFailure('deepJson', 'STACK_OVERFLOW')
    await expectFailure('deepEval', 'STACK_OVERFLOW')
    await expectFailure('deepToString', 'STACK_OVERFLOW')
  })

  it('keeps queued commands flowing when one of them breaks its instance', async () => {
    const outcomes = await Promise.all([
      call(engine, 'command', 'ping'),
      call(engine, 'command', 'indexOf'),
      call(engine, 'command', 'ping'),
      call(engine, 'command', 'deepJson'),
      call(engine, 'command', 'ping'),
    ])
    expect(outcomes.map(codeOf)).toEqual(['OK', 'OUT_OF_FUEL', 'OK', 'STACK_OVERFLOW', 'OK'])
  })

  it('stops a memory bomb at the memory limit', async () => {
    await expectFailure('memoryBomb', 'OUT_OF_MEMORY')
    const small = await call(engine, 'command', 'stringBomb', [], {
      limits: { memoryBytes: 8 * 1024 * 1024, fuel: 1e9 },
    })
    expect(codeOf(small)).toBe('OUT_OF_MEMORY')
  })

  it('refuses a gigantic result', async () => {
    const outcome = await expectFailure('hugeResult', 'INVALID_RESULT')
    expect(outcome.ok || outcome.error.message).toMatch(/more than the limit/)
  })

  it('stops a storage flood on fuel and never forwards oversized writes', async () => {
    const host = recordingHost()
    const outcome = await call(engine, 'command', 'storageFlood', [], { host })
    expect(codeOf(outcome)).toBe('OUT_OF_FUEL')
    // Each write of ~1 KB costs ~105k fuel: the flood ends after about a hundred writes.
    expect(host.store.size).toBeGreaterThan(10)
    expect(host.store.size).toBeLessThan(200)

    const big = await call(engine, 'command', 'bigValue', [], { host })
    expect(big.ok || big.error.message).toMatch(/RangeError: .*longer than 262144/)
    const key = await call(engine, 'command', 'longKey', [], { host })
    expect(key.ok || key.error.message).toMatch(/RangeError: The storage key is longer than 1024/)
    expect(host.store.has('big')).toBe(false)
  })

  it('cannot alias another storage key with NUL, a leading BOM or an unpaired surrogate', async () => {
    const host = recordingHost(
      new Map([
        ['balance:victim', '100'],
        ['admin', '"alice"'],
        ['\ufffd\ufffd\ufffd', '"replacement"'],
      ]),
    )
    // Each of these used to reach the host as a key that already existed: cut at the NUL, stripped of the
    // U+FEFF by the C-string decoder, or with the surrogate replaced by U+FFFD.
    for (const user of ['victim\0', 'victim\0evil', 'victim\0\0']) {
      expect(resultOf(await call(engine, 'command', 'deposit', [user, 1], { host }))).toBe(1)
    }
    expect(resultOf(await call(engine, 'command', 'setKey', ['\ufeffadmin', 'mallory'], { host }))).toBe(
      'set',
    )
    expect(resultOf(await call(engine, 'command', 'setKey', ['admin\0', 'mallory'], { host }))).toBe('set')
    expect(resultOf(await call(engine, 'command', 'setKey', ['\ud800', 'mallory'], { host }))).toMatch(
      /^TypeError: Storage keys must be well-formed Unicode/,
    )
    expect(host.store.get('balance:victim')).toBe('100')
    expect(host.store.get('admin')).toBe('"alice"')
    expect(host.store.get('\ufffd\ufffd\ufffd')).toBe('"replacement"')
    expect([...host.store.keys()].sort()).toEqual(
      [
        'balance:victim',
        'admin',
        '\ufffd\ufffd\ufffd',
        'balance:victim\0',
        'balance:victim\0evil',
        'balance:victim\0\0',
        '\ufeffadmin',
        'admin\0',
      ].sort(),
    )
  })

  it('interrupts catastrophic regex backtracking inside the regexp engine', async () => {
    await expectFailure('regex', 'OUT_OF_FUEL')
    // QuickJS's regexp engine polls the interrupt handler: a soft stop, the instance stays healthy.
    expect(logger.warnings).toEqual([])
    const timed = await call(engine, 'command', 'regex', [], { limits: { fuel: 1e15, deadlineMs: 50 } })
    expect(codeOf(timed)).toBe('TIMEOUT')
  })

  it('meters native operations that never reach the interrupt handler', async () => {
    const started = performance.now()
    await expectFailure('indexOf', 'OUT_OF_FUEL')
    await expectFailure('bigint', 'OUT_OF_FUEL')
    expect(performance.now() - started).toBeLessThan(5000)
    // Native code is aborted through the loop meter; that instance is rebuilt.
    expect(logger.warnings.length).toBeGreaterThan(0)
  })

  it('runs result getters, toJSON and Proxy traps under the limits', async () => {
    await expectFailure('getterResult', 'OUT_OF_FUEL')
    await expectFailure('proxyResult', 'OUT_OF_FUEL')
    await expectFailure('proxyProtoResult', 'OUT_OF_FUEL')
    // toJSON is never called: a function-valued property is refused.
    const toJson = await expectFailure('toJsonResult', 'INVALID_RESULT')
    expect(toJson.ok || toJson.error.message).toMatch(/function/)
    const instance = await expectFailure('classResult', 'INVALID_RESULT')
    expect(instance.ok || instance.error.message).toMatch(/instance of Point/)
  })

  it('describes thrown non-Error values safely', async () => {
    const text = await expectFailure('throwString', 'CONTRACT_ERROR')
    expect(text.ok || text.error).toMatchObject({
      errorName: 'NonErrorThrown',
      errorMessage: 'the contract threw a string: plain string',
      thrownNonError: true,
    })
    const object = await expectFailure('throwObject', 'CONTRACT_ERROR')
    expect(object.ok || (object.error as ContractError).errorMessage).toBe(
      'the contract threw an object: { code: 42, nested: { deep: true } }',
    )
    const nul = await expectFailure('throwNull', 'CONTRACT_ERROR')
    expect(nul.ok || (nul.error as ContractError).errorMessage).toBe('the contract threw null: null')
    const proxy = await expectFailure('throwProxy', 'CONTRACT_ERROR')
    expect(proxy.ok || (proxy.error as ContractError).errorMessage).toMatch(
      /could not be described|uninspectable/,
    )
    await expectFailure('throwLoopingProxy', 'OUT_OF_FUEL')
    await expectFailure('throwHostileError', 'OUT_OF_FUEL')
  })

  it('reports async rejections and promises that never settle', async () => {
    const rejected = await expectFailure('rejectLater', 'CONTRACT_ERROR')
    expect(rejected.ok || rejected.error).toBeInstanceOf(ContractError)
    expect(rejected.ok || rejected.error.shortMessage).toBe('RangeError: async failure')
    const never = await expectFailure('neverSettles', 'CONTRACT_ERROR')
    expect(never.ok || never.error.shortMessage).toMatch(/never settled/)
    await expectFailure('microtaskFlood', 'OUT_OF_FUEL')
  })

  it('does not trust the encoding of a contract that tampered with built-ins', async () => {
    await expectFailure('tamper', 'INVALID_RESULT')
    await expectFailure('tamperSort', 'INVALID_RESULT')
  })

  it('exposes no ambient authority', async () => {
    const probe = resultOf(await call(engine, 'command', 'probe')) as {
      same: boolean
      names: string[]
      types: string
    }
    expect(probe.same).toBe(true)
    expect(probe.types).toBe(Array(18).fill('undefined').join(','))
    expect(resultOf(await call(engine, 'command', 'importFs'))).toBe('refused')
    const allowed = new Set([
      ...'AggregateError Array ArrayBuffer BigInt BigInt64Array BigUint64Array Boolean DataView Date Error EvalError FinalizationRegistry Float16Array Float32Array Float64Array Function Infinity Int16Array Int32Array Int8Array InternalError Iterator JSON Map Math NaN Number Object Promise Proxy RangeError ReferenceError Reflect RegExp Set SharedArrayBuffer String Symbol SyntaxError TypeError URIError Uint16Array Uint32Array Uint8Array Uint8ClampedArray WeakMap WeakRef WeakSet decodeURI decodeURIComponent encodeURI encodeURIComponent escape eval globalThis isFinite isNaN parseFloat parseInt undefined unescape'.split(
        ' ',
      ),
      // The prelude's additions and the bundle's own global.
      ...'TextEncoder TextDecoder atob btoa console crypto queueMicrotask self __veilModule'.split(' '),
    ])
    expect(probe.names.filter((name) => !allowed.has(name))).toEqual([])
  })

  it('keeps globals written by one caller invisible to the next', async () => {
    expect(resultOf(await call(engine, 'command', 'writeGlobal'))).toBe('string')
    expect(resultOf(await call(engine, 'command', 'readGlobal'))).toBe('undefined')
  })

  it('refuses writes from queries, even when the contract catches the error', async () => {
    const host = recordingHost()
    const outcome = await call(engine, 'query', 'write', [], { host })
    expect(codeOf(outcome)).toBe('NOT_ALLOWED')
    expect(codeOf(await call(engine, 'query', 'writeCaught', [], { host }))).toBe('NOT_ALLOWED')
    await expectFailure('remove', 'NOT_ALLOWED', 'query')
    await expectFailure('emit', 'NOT_ALLOWED', 'query')
    expect(host.store.size).toBe(0)
  })

  it('refuses unknown methods and bad arguments before or inside the sandbox', async () => {
    expect(codeOf(await call(engine, 'command', 'nope'))).toBe('UNKNOWN_METHOD')
    expect(codeOf(await call(engine, 'query', 'loop'))).toBe('UNKNOWN_METHOD')
    expect(codeOf(await call(engine, 'command', '__proto__'))).toBe('UNKNOWN_METHOD')
    const host = recordingHost()
    for (const argsText of ['not json', '{"a":1}', '[{"$bigint":"01"}]', '[{"$nope":1}]']) {
      const outcome = await engine.invoke({
        env: {
          kind: 'command',
          contractId: '1',
          caller: null,
          block: { number: 1n, timestamp: 0, hash: '0x00' },
          randomSeed: new Uint8Array(32),
        },
        method: 'ping',
        argsText,
        host,
      })
      expect(codeOf(outcome), argsText).toBe('INVALID_ARGUMENTS')
    }
    expect(resultOf(await call(engine, 'command', 'ping'))).toBe('pong')
  })
})

describe('load-time rules', () => {
  it('refuses randomness while the module loads (it would repeat in every call)', async () => {
    await expect(
      ContractEngine.create(bundle('{ commands: {} }', 'crypto.getRandomValues(new Uint8Array(4))')),
    ).rejects.toThrow(/not available while the contract module loads/)
  })

  it('gives the top level a deterministic clock and Math.random', async () => {
    const engine = await ContractEngine.create(
      bundle(
        '{ commands: { at() { return [loadedAt, firstRandom] } } }',
        'var loadedAt = Date.now(); var firstRandom = Math.random()',
      ),
    )
    const [loadedAt, firstRandom] = resultOf(await call(engine, 'command', 'at')) as [number, number]
    expect(loadedAt).toBe(0)
    expect(firstRandom).toBeGreaterThanOrEqual(0)
    const again = await ContractEngine.create(
      bundle(
        '{ commands: { at() { return [loadedAt, firstRandom] } } }',
        'var loadedAt = Date.now(); var firstRandom = Math.random()',
      ),
    )
    expect(resultOf(await call(again, 'command', 'at'))).toEqual([loadedAt, firstRandom])
    engine.dispose()
    again.dispose()
  })
})
