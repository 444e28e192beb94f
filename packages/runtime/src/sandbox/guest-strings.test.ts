/**
 * Strings across the guest boundary (`guest-strings.ts`, `wasm-strings.ts`), in the real sandbox: NUL,
 * characters outside the BMP, a leading U+FEFF and unpaired surrogates arrive unit for unit, in both
 * directions, for every kind of string the host and the guest exchange.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { deriveContractKeys } from '@veil/crypto'
import { encodeValue } from '@veil/protocol'
import { toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import type { ContractEngine } from './engine.js'
import { useEnginePair } from './engine-pair.js'
import { ContractError } from './errors.js'
import { decodeGuestText, encodeGuestText } from './guest-strings.js'
import { FUEL_COSTS, MAX_STORAGE_KEY_BYTES } from './limits.js'
import { bundle, call, codeOf, env, recordingHost, resultOf, TEST_CONTRACT_SECRET } from './test-support.js'
import { WasmRewriteError } from './wasm-meter.js'
import { addStringExports, STRING_NEW_EXPORT, STRING_READ_EXPORT } from './wasm-strings.js'

const CONTRACT = bundle(`{
  commands: {
    echo(ctx, text) { return text },
    units(ctx, text) { const out = []; for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i)); return out },
    put(ctx, key, value) { ctx.storage.set(key, value) },
    get(ctx, key) { return ctx.storage.get(key) },
    has(ctx, key) { return ctx.storage.has(key) },
    remove(ctx, key) { return ctx.storage.delete(key) },
    emit(ctx, name, data) { ctx.emit(name, data) },
    log(ctx, text) { console.log(text); ctx.log.warn(text) },
    fail(ctx, name, message) { const error = new Error(message); error.name = name; throw error },
    hostError(ctx, key) { try { ctx.storage.set(key, 'x'.repeat(300 * 1024)) } catch (e) { return [e.name, e.message] } },
    // Strings built inside the guest: the only way to hand the host a raw unpaired surrogate.
    emitCodes(ctx, codes) { const text = String.fromCharCode(...codes); ctx.emit(text, null); console.log(text) },
    keyFromCodes(ctx, codes) { ctx.storage.set(String.fromCharCode(...codes), 1) },
    sign(ctx, message) { return ctx.keys.sign(message) },
  },
  queries: {
    get(ctx, key) { return ctx.storage.get(key) },
    echo(ctx, text) { return text },
  },
}`)

/** Texts a C-string boundary would have cut, merged or altered. */
const SAMPLES = [
  'a\0b',
  '\0',
  'a\0',
  '\0a',
  '\0\0\0',
  'emoji 🦊 and 🏳️‍🌈',
  '\u{10ffff}\u{1f600}\0\u{1f600}',
  '\ufeffa',
  '\ufeff',
  'é\0ü',
  '\u0100',
  '\ufffd\ufffd\ufffd',
  'mixed \0 🦊 \0 日本 \0',
  '',
]

const units = (text: string): number[] => Array.from({ length: text.length }, (_, i) => text.charCodeAt(i))
const utf8 = (text: string): string => Buffer.from(text, 'utf8').toString('hex')

describe('strings across the guest boundary', () => {
  const engines = useEnginePair(CONTRACT)

  it('passes arguments in and results out unit for unit', async () => {
    for (const text of SAMPLES) {
      const echoed = resultOf(await call(engines.engine, 'command', 'echo', [text]))
      expect(echoed, JSON.stringify(text)).toBe(text)
      expect(utf8(echoed as string)).toBe(utf8(text))
      expect(resultOf(await call(engines.engine, 'command', 'units', [text]))).toEqual(units(text))
      expect(resultOf(await call(engines.engine, 'query', 'echo', [text]))).toBe(text)
    }
  })

  it('passes the arguments text itself exactly, unpaired surrogates and a trailing NUL included', async () => {
    const invoke = (argsText: string) =>
      engines.engine.invoke({ env: env('command'), method: 'units', argsText, host: recordingHost() })
    // Raw (not escaped) in the text: the guest's JSON.parse sees them as they are.
    expect(resultOf(await invoke('["\ud800x\udfff\u{1f98a}"]'))).toEqual([
      0xd800, 0x78, 0xdfff, 0xd83e, 0xdd8a,
    ])
    // Cut at the NUL, this was the valid `["a"]`.
    expect(codeOf(await invoke('["a"]\0 trailing'))).toBe('INVALID_ARGUMENTS')
  })

  it('keeps keys that differ after a NUL or by a leading U+FEFF in distinct records', async () => {
    const host = recordingHost()
    const keys = ['a', 'a\0b', 'a\0', 'a\0\0', '\ufeffa', '\0', '🦊', '🦊\0🦊']
    for (const [i, key] of keys.entries()) {
      expect(codeOf(await call(engines.engine, 'command', 'put', [key, i], { host }))).toBe('OK')
    }
    expect([...host.store.keys()]).toEqual(keys)
    for (const [i, key] of keys.entries()) {
      expect(
        resultOf(await call(engines.engine, 'command', 'get', [key], { host })),
        JSON.stringify(key),
      ).toBe(i)
      expect(resultOf(await call(engines.engine, 'query', 'get', [key], { host }))).toBe(i)
      expect(resultOf(await call(engines.engine, 'command', 'has', [key], { host }))).toBe(true)
    }
    expect(resultOf(await call(engines.engine, 'command', 'has', ['a\0c'], { host }))).toBe(false)
    expect(resultOf(await call(engines.engine, 'command', 'remove', ['a\0b'], { host }))).toBe(true)
    expect(host.store.has('a\0b')).toBe(false)
    expect(host.store.get('a')).toBe('0')
    expect(resultOf(await call(engines.engine, 'command', 'has', ['a\0b'], { host }))).toBe(false)
    expect(resultOf(await call(engines.engine, 'command', 'has', ['a'], { host }))).toBe(true)
  })

  it('stores and reads back values exactly', async () => {
    const host = recordingHost()
    for (const [i, text] of SAMPLES.entries()) {
      const value = { text, list: [text], [text]: i }
      expect(codeOf(await call(engines.engine, 'command', 'put', [`k${i}`, value], { host }))).toBe('OK')
      expect(host.store.get(`k${i}`)).toBe(encodeValue(value))
      expect(resultOf(await call(engines.engine, 'command', 'get', [`k${i}`], { host }))).toEqual(value)
    }
  })

  it('forwards event names, event data and log lines exactly', async () => {
    const host = recordingHost()
    for (const text of SAMPLES.filter((t) => t !== '')) {
      expect(codeOf(await call(engines.engine, 'command', 'emit', [text, { text }], { host }))).toBe('OK')
      expect(codeOf(await call(engines.engine, 'command', 'log', [text], { host }))).toBe('OK')
    }
    const texts = SAMPLES.filter((t) => t !== '')
    expect(host.events).toEqual(texts.map((text) => ({ name: text, data: { text } })))
    expect(host.logs).toEqual(
      texts.flatMap((message) => [
        { level: 'info', message },
        { level: 'warn', message },
      ]),
    )
  })

  it('reports thrown errors and the host’s own errors exactly', async () => {
    const outcome = await call(engines.engine, 'command', 'fail', ['Bad\0Name🦊', 'message \0 with 🦊 \0'])
    expect(outcome.ok).toBe(false)
    if (outcome.ok) return
    expect(outcome.error).toBeInstanceOf(ContractError)
    expect((outcome.error as ContractError).errorName).toBe('Bad\0Name🦊')
    expect((outcome.error as ContractError).errorMessage).toBe('message \0 with 🦊 \0')
    // A host error quoting the key: built in the guest with exact strings, not cut at the NUL.
    expect(resultOf(await call(engines.engine, 'command', 'hostError', ['k\0ey🦊']))).toEqual([
      'RangeError',
      'The value of storage key "k\0ey🦊" is longer than 262144 characters',
    ])
  })

  it('passes unpaired surrogates as themselves and refuses them in storage keys', async () => {
    const host = recordingHost()
    const codes = [0x61, 0xd800, 0, 0xdc00, 0xd83e, 0xdd8a]
    expect(codeOf(await call(engines.engine, 'command', 'emitCodes', [codes], { host }))).toBe('OK')
    const text = String.fromCharCode(...codes)
    expect(host.events).toEqual([{ name: text, data: null }])
    expect(host.logs).toEqual([{ level: 'info', message: text }])
    // UTF-8 cannot hold them, so no store can keep such a key apart from U+FFFD: a clear error instead.
    for (const key of [[0xd800], [0x61, 0xdfff], [0xdc00, 0xd800]]) {
      const outcome = await call(engines.engine, 'command', 'keyFromCodes', [key], { host })
      expect(outcome.ok || outcome.error).toMatchObject({
        errorName: 'TypeError',
        errorMessage: expect.stringMatching(/^Storage keys must be well-formed Unicode/),
      })
    }
    expect(host.store.size).toBe(0)
  })

  it('checks sizes on the whole string, NULs included', async () => {
    const host = recordingHost()
    const longest = 'x\0'.repeat(MAX_STORAGE_KEY_BYTES / 2)
    expect(codeOf(await call(engines.engine, 'command', 'put', [longest, 1], { host }))).toBe('OK')
    expect(host.store.has(longest)).toBe(true)
    const outcome = await call(engines.engine, 'command', 'put', [`${longest}\0`, 1], { host })
    expect(outcome.ok || outcome.error.message).toMatch(/longer than 1024 characters/)
    expect(host.store.size).toBe(1)
  })

  it('signs text holding a NUL as the text itself (viem’s signMessage of the same string)', async () => {
    const account = privateKeyToAccount(toHex(deriveContractKeys(TEST_CONTRACT_SECRET).signingKey))
    const withNul = resultOf(await call(engines.engine, 'command', 'sign', ['a\0b']))
    expect(withNul).toBe(await account.signMessage({ message: 'a\0b' }))
    expect(withNul).not.toBe(resultOf(await call(engines.engine, 'command', 'sign', ['a'])))
    expect(resultOf(await call(engines.engine, 'command', 'sign', [Uint8Array.of(0x61, 0, 0x62)]))).toBe(
      withNul,
    )
  })

  it('uses deterministic fuel, charging every byte of a key', async () => {
    const run = async (target: ContractEngine, key: string) =>
      (await call(target, 'command', 'put', [key, 'v'], { host: recordingHost() })).fuel
    const withNul = await run(engines.engine, 'a\0b')
    expect(await run(engines.engine, 'a\0b')).toBe(withNul)
    expect(await run(engines.twin, 'a\0b')).toBe(withNul)
    expect(await run(engines.engine, 'a\0c')).toBe(withNul)
    // Two more stored bytes than 'a' (and a little more guest work to decode the longer argument).
    expect(withNul - (await run(engines.engine, 'a'))).toBeGreaterThanOrEqual(2 * FUEL_COSTS.storedByte)
  })
})

describe('the string encoding (encodeGuestText, decodeGuestText)', () => {
  const roundTrip = (text: string): string => {
    const bytes = new Uint8Array(Buffer.byteLength(text, 'utf8'))
    expect(encodeGuestText(text, bytes)).toBe(bytes.length)
    return decodeGuestText(bytes)
  }

  it('is UTF-8 for well-formed text, a leading U+FEFF kept', () => {
    for (const text of SAMPLES) {
      const bytes = new Uint8Array(Buffer.byteLength(text, 'utf8'))
      encodeGuestText(text, bytes)
      expect(Buffer.from(bytes).toString('hex')).toBe(utf8(text))
      expect(decodeGuestText(bytes)).toBe(text)
    }
  })

  it('writes unpaired surrogates in their 3-byte form and reads them back', () => {
    const bytes = new Uint8Array(7)
    encodeGuestText('\ud800\0\udfff', bytes)
    expect(Buffer.from(bytes).toString('hex')).toBe('eda08000edbfbf')
    expect(units(decodeGuestText(bytes))).toEqual([0xd800, 0, 0xdfff])
  })

  it('round-trips random UTF-16, unpaired surrogates included', () => {
    let seed = 7
    const next = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) >>> 0
      return seed % n
    }
    const interesting = [
      0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xfeff, 0xffff,
    ]
    for (let round = 0; round < 500; round++) {
      const codes = Array.from({ length: next(40) }, () =>
        next(3) === 0 ? (interesting[next(interesting.length)] as number) : next(0x10000),
      )
      const text = String.fromCharCode(...codes)
      expect(units(roundTrip(text))).toEqual(codes)
    }
    const long = `${'x'.repeat(100_000)}\ud800`
    expect(roundTrip(long)).toBe(long)
  })
})

describe('the string exports (wasm-strings.ts)', () => {
  const original = async (): Promise<Uint8Array> => {
    const require = createRequire(import.meta.url)
    return new Uint8Array(await readFile(require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm')))
  }

  it('adds two exports to the pinned build and leaves the rest in place', async () => {
    const wasm = await original()
    const rewritten = await WebAssembly.compile(addStringExports(wasm, { newString: '_', getString: '$' }))
    const before = WebAssembly.Module.exports(await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>))
    const after = WebAssembly.Module.exports(rewritten)
    expect(after).toEqual([
      ...before,
      { name: STRING_READ_EXPORT, kind: 'function' },
      { name: STRING_NEW_EXPORT, kind: 'function' },
    ])
  })

  it('refuses a binary whose FFI functions do not have the expected shape', async () => {
    const wasm = await original()
    expect(() => addStringExports(wasm, { newString: '$', getString: '_' })).toThrow(WasmRewriteError)
    expect(() => addStringExports(wasm, { newString: '_', getString: 'missing' })).toThrow(
      /no exported function/,
    )
    const once = addStringExports(wasm, { newString: '_', getString: '$' })
    expect(() => addStringExports(once, { newString: '_', getString: '$' })).toThrow(/already exports/)
  })
})
