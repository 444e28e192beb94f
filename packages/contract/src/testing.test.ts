import { fileURLToPath } from 'node:url'
import { devContractKeys } from '@veil/crypto'
import { getAddress, recoverMessageAddress, verifyMessage } from 'viem'
import { afterAll, describe, expect, it } from 'vitest'
import type Counter from './fixtures/counter.js'
import type Oracle from './fixtures/oracle.js'
import { ContractCallError, createTestContract, type TestContract } from './testing.js'

const counterFile = fileURLToPath(new URL('./fixtures/counter.ts', import.meta.url))
const oracleFile = fileURLToPath(new URL('./fixtures/oracle.ts', import.meta.url))
const here = fileURLToPath(new URL('.', import.meta.url))

describe('createTestContract', () => {
  const opened: TestContract<unknown>[] = []
  afterAll(() => {
    for (const t of opened) t.dispose()
  })

  it('queues jobs from commands and runs them (run with a fetch stand-in and secrets, then apply)', async () => {
    const requests: string[] = []
    const feeds = await createTestContract(
      `import { defineContract } from '@veil/contract'
      export default defineContract({
        commands: { refresh(ctx, pair) { return ctx.jobs.enqueue('price', { pair }) } },
        queries: { price(ctx) { return ctx.storage.get('price') ?? null } },
        jobs: {
          price: {
            async run(ctx, args) {
              const r = await ctx.http.fetch('https://prices.example/' + args.pair, { headers: { authorization: ctx.secrets.KEY } })
              return (await r.json()).price
            },
            apply(ctx, outcome) { if (outcome.ok) ctx.storage.set('price', outcome.value); else ctx.storage.set('error', outcome.error.code) },
          },
        },
      })`,
      {
        resolveDir: here,
        secrets: { KEY: 'k1' },
        fetch: async (request) => {
          requests.push(`${request.url} ${request.headers.authorization}`)
          return { status: 200, body: JSON.stringify({ price: 42 }) }
        },
      },
    )
    opened.push(feeds)
    expect((await feeds.call('command', 'refresh', 'ETH')).result).toBe('j1')
    expect(feeds.jobs).toEqual([{ id: 'j1', name: 'price', args: { pair: 'ETH' } }])
    expect(await feeds.runJob()).toEqual({ ok: true, value: 42 })
    expect(requests).toEqual(['https://prices.example/ETH k1'])
    expect((await feeds.call('query', 'price')).result).toBe(42)
    expect(feeds.jobs).toEqual([])
    await expect(feeds.runJob()).rejects.toThrow(/no job is queued/)
  })

  it('runs a contract file in the sandbox, typed from the contract', async () => {
    const counter = await createTestContract<typeof Counter>(counterFile)
    opened.push(counter)
    await counter.init({ start: 10 })
    const n: number = await counter.command.add(5)
    expect(n).toBe(15)
    expect(await counter.query.get()).toBe(15)
    expect(counter.events).toEqual([{ name: 'added', data: { by: 5, n: 15 } }])
    expect(counter.storage('n')).toBe(15)
    expect(counter.last?.fuel).toBeGreaterThan(0)
  })

  it('discards the writes and events of a failed command, and maps the error to the TypeScript line', async () => {
    const counter = await createTestContract<typeof Counter>(counterFile)
    opened.push(counter)
    await counter.init({ start: 1 })
    const error = await counter.command.add(-3).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ContractCallError)
    expect((error as ContractCallError).code).toBe('CONTRACT_ERROR')
    expect((error as ContractCallError).message).toContain('cannot add a negative amount (-3)')
    expect((error as ContractCallError).metaMessages.join('\n')).toMatch(/counter\.ts:11/)
    expect(counter.storage('n')).toBe(1)
    expect(counter.events).toEqual([])
  })

  it('accepts source text and gives commands the block clock and per-command randomness', async () => {
    const source = `
      import { defineContract } from '@veil/contract'
      export default defineContract({
        commands: {
          stamp(ctx) { return { now: Date.now(), block: ctx.block.number, caller: ctx.caller, r: Math.random() } },
        },
        queries: { who(ctx) { return ctx.caller } },
      })`
    const t = await createTestContract(source, {
      resolveDir: here,
      block: { number: 100n, timestamp: 1_000_000 },
    })
    opened.push(t)
    const first = (await t.call('command', 'stamp')).result as {
      now: number
      block: bigint
      caller: string
      r: number
    }
    const second = (await t.as('0x0000000000000000000000000000000000000B0b').call('command', 'stamp'))
      .result as typeof first
    expect(first).toMatchObject({
      now: 1_000_000,
      block: 100n,
      caller: '0x00000000000000000000000000000000000A11CE',
    })
    expect(second).toMatchObject({
      now: 1_012_000,
      block: 101n,
      caller: '0x0000000000000000000000000000000000000B0b',
    })
    expect(first.r).not.toBe(second.r)
    expect((await t.call('query', 'who')).result).toBeNull()
  })

  it('gives the contract its dev-network keys: signatures verify for t.address', async () => {
    const oracle = await createTestContract<typeof Oracle>(oracleFile)
    opened.push(oracle)
    // The address a dev network publishes for contract 1 of cluster 1.
    expect(oracle.address).toBe(getAddress(devContractKeys('1', '1').address))
    const { message, signature } = await oracle.command.publish('ETH/USD', 315_025n)
    expect(message).toBe(`ETH/USD 315025 ${Date.UTC(2026, 0, 1)}`)
    expect(await recoverMessageAddress({ message, signature })).toBe(oracle.address)
    expect(await verifyMessage({ address: oracle.address, message, signature })).toBe(true)
    const raw = Uint8Array.of(0, 1, 2, 3)
    const signed = await oracle.command.signBytes(raw)
    expect(await recoverMessageAddress({ message: { raw }, signature: signed })).toBe(oracle.address)
    expect(await oracle.command.signBytes(raw)).toBe(signed) // deterministic

    const { address, key } = await oracle.query.signer()
    expect(address).toBe(oracle.address)
    expect(key).toEqual(await oracle.command.derive('feeds/eth-usd'))
    expect(key).toHaveLength(32)
    await expect(oracle.command.derive('bad path')).rejects.toThrow(/RangeError.*ctx\.keys\.derive/s)

    const other = await createTestContract<typeof Oracle>(oracleFile, { contractId: '2' })
    opened.push(other)
    expect(other.address).toBe(getAddress(devContractKeys('1', '2').address))
    expect((await other.query.signer()).key).not.toEqual(key)
  })

  it('reports exhausted fuel as a typed error', async () => {
    const source = `
      import { defineContract } from '@veil/contract'
      export default defineContract({ commands: { spin() { for (;;) {} } } })`
    const t = await createTestContract(source, { resolveDir: here })
    opened.push(t)
    const record = await t.call('command', 'spin')
    expect(record.ok).toBe(false)
    expect(record.error?.code).toBe('OUT_OF_FUEL')
  })
})
