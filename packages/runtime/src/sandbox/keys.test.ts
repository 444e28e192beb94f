/**
 * `ctx.contract.address` and `ctx.keys` in the real sandbox: derived keys, EIP-191 signatures that viem
 * verifies for the contract's address, argument checks the contract can catch, fuel, determinism.
 */
import { deriveContractKeys, deriveContractUserKey, isContractUserKeyPath } from '@veil/crypto'
import { type Hex, recoverMessageAddress, toHex, verifyMessage } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { contractKeyHost } from '../state/keyring.js'
import { KEY_PATH_PATTERN, MAX_KEY_PATH_CHARS } from './constants.js'
import { useEnginePair } from './engine-pair.js'
import { FuelMeter } from './fuel.js'
import { GuestError, InvocationState } from './invocation.js'
import { DEFAULT_COMMAND_LIMITS, FUEL_COSTS, MAX_SIGN_MESSAGE_BYTES } from './limits.js'
import {
  bundle,
  call,
  codeOf,
  recordingHost,
  resultOf,
  TEST_CONTRACT_SECRET,
  TEST_KEYS,
} from './test-support.js'
import type { ContractKeyHost } from './types.js'

const CONTRACT = bundle(`{
  init(ctx) { ctx.storage.set('address', ctx.contract.address) },
  commands: {
    address(ctx) { return ctx.contract.address },
    derive(ctx, path) { return ctx.keys.derive(path) },
    sign(ctx, message) { return ctx.keys.sign(message) },
    signRepeated(ctx, char, count) { return ctx.keys.sign(char.repeat(count)) },
    signBytes(ctx, length) { return ctx.keys.sign(new Uint8Array(length).map((_, i) => i * 7)) },
    attempt(ctx, what, arg) {
      try {
        return { ok: ctx.keys[what](arg) }
      } catch (error) {
        return { name: error.name, message: error.message, isRangeError: error instanceof RangeError, isTypeError: error instanceof TypeError }
      }
    },
    shape(ctx) {
      return { keys: Object.keys(ctx.keys), frozen: Object.isFrozen(ctx.keys) && Object.isFrozen(ctx.contract), contract: Object.keys(ctx.contract) }
    },
    signTwiceAndEmit(ctx, message) {
      const a = ctx.keys.sign(message)
      const b = ctx.keys.sign(message)
      ctx.emit('signed', { a, b })
      return a === b
    },
  },
  queries: {
    address(ctx) { return ctx.contract.address },
    derive(ctx, path) { return ctx.keys.derive(path) },
    sign(ctx, message) { return ctx.keys.sign(message) },
  },
}`)

const account = privateKeyToAccount(toHex(deriveContractKeys(TEST_CONTRACT_SECRET).signingKey))

interface Attempt {
  ok?: unknown
  name?: string
  message?: string
  isRangeError?: boolean
  isTypeError?: boolean
}

describe('ctx.contract.address and ctx.keys', () => {
  const engines = useEnginePair(CONTRACT)

  const attempt = async (what: 'derive' | 'sign', arg: unknown): Promise<Attempt> =>
    resultOf(await call(engines.engine, 'command', 'attempt', [what, arg])) as Attempt

  it('gives init, commands and queries the contract’s checksummed address', async () => {
    expect(TEST_KEYS.address).toBe(account.address)
    expect(resultOf(await call(engines.engine, 'command', 'address'))).toBe(account.address)
    expect(resultOf(await call(engines.engine, 'query', 'address'))).toBe(account.address)
    const host = recordingHost()
    expect(codeOf(await call(engines.engine, 'init', 'init', [null], { host }))).toBe('OK')
    expect(host.store.get('address')).toBe(JSON.stringify(account.address))
  })

  it('derive returns the 32 bytes of veil/v1/user/<path>, the same in commands and queries', async () => {
    const a = resultOf(await call(engines.engine, 'command', 'derive', ['wallets/0'])) as Uint8Array
    expect(a).toBeInstanceOf(Uint8Array)
    expect(a).toHaveLength(32)
    expect(a).toEqual(deriveContractUserKey(TEST_CONTRACT_SECRET, 'wallets/0'))
    expect(resultOf(await call(engines.engine, 'command', 'derive', ['wallets/0']))).toEqual(a)
    expect(resultOf(await call(engines.engine, 'query', 'derive', ['wallets/0']))).toEqual(a)
    expect(resultOf(await call(engines.twin, 'command', 'derive', ['wallets/0']))).toEqual(a)
    const b = resultOf(await call(engines.engine, 'command', 'derive', ['wallets/1'])) as Uint8Array
    expect(toHex(b)).not.toBe(toHex(a))
  })

  it('derives different keys and addresses for another contract', async () => {
    const other = contractKeyHost(new Uint8Array(32).fill(0x43))
    const env = { keys: other }
    expect(resultOf(await call(engines.engine, 'command', 'address', [], { env }))).toBe(other.address)
    expect(other.address).not.toBe(TEST_KEYS.address)
    const mine = resultOf(await call(engines.engine, 'command', 'derive', ['wallets/0'])) as Uint8Array
    const theirs = resultOf(
      await call(engines.engine, 'command', 'derive', ['wallets/0'], { env }),
    ) as Uint8Array
    expect(toHex(theirs)).not.toBe(toHex(mine))
  })

  it('refuses bad paths with a RangeError the contract can catch', async () => {
    for (const path of [
      '',
      'a//b',
      '/a',
      'a/',
      'has space',
      'é',
      'a\0b',
      'x'.repeat(257),
      'x'.repeat(100_000),
    ]) {
      const result = await attempt('derive', path)
      expect(result, path.slice(0, 20)).toMatchObject({ name: 'RangeError', isRangeError: true })
      expect(result.message).toMatch(/ctx\.keys\.derive\(path\)/)
    }
    expect((await attempt('derive', 'x'.repeat(256))).ok).toHaveLength(32)
    for (const path of [7, null, new Uint8Array(2)]) {
      expect(await attempt('derive', path)).toMatchObject({ name: 'TypeError', isTypeError: true })
    }
  })

  it('checks paths in the guest by the same rule as @veil/crypto', () => {
    const samples = ['a', 'a/b', 'a//b', '/', ' ', '\x7f', '~', 'é', 'a\0', 'x'.repeat(256), 'x'.repeat(257)]
    for (let c = 0; c < 0x180; c++) samples.push(`k${String.fromCharCode(c)}`, String.fromCharCode(c))
    for (const path of samples) {
      const guest = path.length <= MAX_KEY_PATH_CHARS && KEY_PATH_PATTERN.test(path)
      expect(guest, JSON.stringify(path)).toBe(isContractUserKeyPath(path))
    }
  })

  it('signs EIP-191 messages that viem recovers to ctx.contract.address', async () => {
    const messages = [
      'ETH/USD 3150.25',
      '',
      'prix €, 日本, 🦊',
      'nul \0 inside',
      'a\0b',
      '\0',
      '\u0100 and \0',
      '\0\ufeff🦊\0',
      new Uint8Array([0, 1, 2, 250, 255]),
      new Uint8Array([0, 0, 0]),
    ]
    for (const message of messages) {
      const signature = resultOf(await call(engines.engine, 'command', 'sign', [message])) as Hex
      expect(signature).toMatch(/^0x[0-9a-f]{130}$/)
      const viemMessage = typeof message === 'string' ? message : { raw: message }
      expect(signature).toBe(await account.signMessage({ message: viemMessage }))
      expect(await recoverMessageAddress({ message: viemMessage, signature })).toBe(account.address)
      expect(await verifyMessage({ address: TEST_KEYS.address, message: viemMessage, signature })).toBe(true)
    }
  })

  it('signs deterministically: the same signature twice, in queries and on another engines.engine', async () => {
    const first = await call(engines.engine, 'command', 'sign', ['price 42'])
    const second = await call(engines.engine, 'command', 'sign', ['price 42'])
    const other = await call(engines.twin, 'command', 'sign', ['price 42'])
    expect(resultOf(second)).toBe(resultOf(first))
    expect(resultOf(other)).toBe(resultOf(first))
    expect(second.fuel).toBe(first.fuel)
    expect(other.fuel).toBe(first.fuel)
    expect(resultOf(await call(engines.engine, 'query', 'sign', ['price 42']))).toBe(resultOf(first))
    expect(resultOf(await call(engines.engine, 'command', 'signTwiceAndEmit', ['x']))).toBe(true)
  })

  it('charges fuel per signature and per message byte', async () => {
    const small = await call(engines.engine, 'command', 'signRepeated', ['a', 1])
    const large = await call(engines.engine, 'command', 'signRepeated', ['a', 60_001])
    expect(small.fuel).toBeGreaterThan(FUEL_COSTS.hostCall + FUEL_COSTS.signature)
    // The guest's own work on the text (one regexp scan) is metered too, so the difference is at least the
    // per-byte price.
    expect(large.fuel - small.fuel).toBeGreaterThanOrEqual(60_000 * FUEL_COSTS.signedByte)
    const derive = await call(engines.engine, 'command', 'derive', ['a'])
    expect(derive.fuel).toBeGreaterThan(FUEL_COSTS.hostCall + FUEL_COSTS.keyDerivation)
    // A budget below the price of one signature runs out inside the host call.
    const starved = await call(engines.engine, 'command', 'sign', ['x'], {
      limits: { fuel: FUEL_COSTS.signature / 2 },
    })
    expect(codeOf(starved)).toBe('OUT_OF_FUEL')
  })

  it('refuses oversize and malformed messages inside the guest', async () => {
    const exact = await call(engines.engine, 'command', 'signBytes', [MAX_SIGN_MESSAGE_BYTES])
    expect(codeOf(exact)).toBe('OK')
    const raw = new Uint8Array(MAX_SIGN_MESSAGE_BYTES).map((_, i) => (i * 7) & 0xff)
    expect(await recoverMessageAddress({ message: { raw }, signature: resultOf(exact) as Hex })).toBe(
      account.address,
    )
    const cases: [unknown, string][] = [
      [new Uint8Array(MAX_SIGN_MESSAGE_BYTES + 1), 'RangeError'],
      ['a'.repeat(MAX_SIGN_MESSAGE_BYTES + 1), 'RangeError'],
      // 30,000 characters, 90,000 UTF-8 bytes: caught by the host's byte count.
      ['€'.repeat(30_000), 'RangeError'],
      ['lone \uD800 surrogate', 'TypeError'],
      [42, 'TypeError'],
      [null, 'TypeError'],
      [[1, 2, 3], 'TypeError'],
    ]
    for (const [message, name] of cases) {
      const result = await attempt('sign', message)
      expect(result, String(message).slice(0, 20)).toMatchObject({ name })
      expect(result.message).toMatch(/ctx\.keys\.sign/)
    }
    expect((await attempt('sign', '€'.repeat(30_000))).message).toContain('got 90000')
  })

  it('exposes derive and sign only, never the secret or the signing key', async () => {
    expect(resultOf(await call(engines.engine, 'command', 'shape'))).toEqual({
      keys: ['derive', 'sign'],
      frozen: true,
      contract: ['id', 'address'],
    })
  })

  it('without keys from the host: the address is null and ctx.keys throws', async () => {
    const env = { keys: undefined }
    expect(resultOf(await call(engines.engine, 'command', 'address', [], { env }))).toBeNull()
    const result = resultOf(
      await call(engines.engine, 'command', 'attempt', ['sign', 'x'], { env }),
    ) as Attempt
    expect(result).toMatchObject({ name: 'Error' })
    expect(result.message).toContain('without its keys')
  })

  it('reports a failing key host as a host failure, not as the contract’s', async () => {
    const broken: ContractKeyHost = {
      address: TEST_KEYS.address,
      derive: () => new Uint8Array(3),
      sign: () => {
        throw new Error('HSM unplugged')
      },
    }
    const env = { keys: broken }
    expect(codeOf(await call(engines.engine, 'command', 'derive', ['a'], { env }))).toBe(
      'HOST_CALLBACK_FAILED',
    )
    expect(codeOf(await call(engines.engine, 'command', 'attempt', ['sign', 'x'], { env }))).toBe(
      'HOST_CALLBACK_FAILED',
    )
    await expect(
      call(engines.engine, 'command', 'address', [], { env: { keys: { ...broken, address: '0x1234' } } }),
    ).rejects.toThrow('env.keys.address')
  })
})

describe('the host side of ctx.keys (InvocationState)', () => {
  const state = (keys: ContractKeyHost | undefined = TEST_KEYS) => {
    const meter = new FuelMeter(new WebAssembly.Global({ value: 'i64', mutable: true }, 0n), () => 0)
    meter.begin(DEFAULT_COMMAND_LIMITS.fuel, 60_000)
    const invocation = new InvocationState({
      descriptor: {
        kind: 'command',
        method: 'm',
        contractId: '42',
        caller: null,
        contractAddress: keys?.address ?? null,
        block: { number: '1', timestamp: 0, hash: '0x' },
        mathRandomSeed: '0'.repeat(32),
        maxResultBytes: 1024,
      },
      argsText: '[]',
      limits: DEFAULT_COMMAND_LIMITS,
      host: recordingHost(),
      meter,
      random: () => new Uint8Array(0),
      now: () => 0,
      keys,
    })
    return { invocation, meter }
  }
  const guestError = (fn: () => unknown) => {
    try {
      fn()
    } catch (error) {
      expect(error).toBeInstanceOf(GuestError)
      return { name: (error as GuestError).name, message: (error as GuestError).message }
    }
    throw new Error('expected a GuestError')
  }

  it('charges exactly the host call, the signature and each message byte', () => {
    const { invocation, meter } = state()
    invocation.keysSign('text', 'héllo') // 6 UTF-8 bytes
    expect(meter.used()).toBe(FUEL_COSTS.hostCall + FUEL_COSTS.signature + 6 * FUEL_COSTS.signedByte)
    const derive = state()
    derive.invocation.keysDerive('wallets/0')
    expect(derive.meter.used()).toBe(FUEL_COSTS.hostCall + FUEL_COSTS.keyDerivation)
  })

  it('checks again what the prelude already checked', () => {
    const { invocation } = state()
    expect(guestError(() => invocation.keysDerive('a//b'))).toMatchObject({ name: 'RangeError' })
    expect(guestError(() => invocation.keysSign('bytes', 'ok\u0101'))).toMatchObject({ name: 'TypeError' })
    expect(guestError(() => invocation.keysSign('bytes', '\u0100'))).toMatchObject({ name: 'TypeError' })
    expect(guestError(() => invocation.keysSign('text', 'lone \ud800'))).toMatchObject({ name: 'TypeError' })
    expect(guestError(() => invocation.keysSign('text', '€'.repeat(30_000)))).toMatchObject({
      name: 'RangeError',
    })
    // One character per byte, NUL included.
    expect(invocation.keysSign('bytes', '\0\x01\xff')).toBe(TEST_KEYS.sign(Uint8Array.of(0, 1, 255)))
    expect(invocation.keysSign('text', 'a\0b')).toBe(TEST_KEYS.sign(Uint8Array.of(0x61, 0, 0x62)))
  })
})
