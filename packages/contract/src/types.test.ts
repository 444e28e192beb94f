import { describe, expect, expectTypeOf, it } from 'vitest'
import {
  type Address,
  type CommandCtx,
  type CommandMethods,
  defineContract,
  type InitArgs,
  type QueryCtx,
  type QueryMethods,
} from './index.js'

const Counter = defineContract({
  init(ctx, args: { start: number }) {
    ctx.storage.set('n', args.start)
  },
  commands: {
    add(ctx, by: number) {
      const n = (ctx.storage.get<number>('n') ?? 0) + by
      ctx.storage.set('n', n)
      return n
    },
  },
  queries: {
    get(ctx) {
      return ctx.storage.get<number>('n') ?? 0
    },
    greet(_ctx, name: string, times: bigint) {
      return `${name}:${times}`
    },
  },
})

describe('defineContract', () => {
  it('returns the definition unchanged', () => {
    expect(Object.keys(Counter.commands)).toEqual(['add'])
    expect(Object.keys(Counter.queries)).toEqual(['get', 'greet'])
  })

  it('fills in missing sections', () => {
    const empty = defineContract({})
    expect(empty.commands).toEqual({})
    expect(empty.queries).toEqual({})
  })

  it('refuses query names reserved for system queries', () => {
    expect(() => defineContract({ queries: { $logs: () => [] } })).toThrow(
      /reserved for Veil's system queries/,
    )
  })

  it('refuses command names reserved for system commands, and jobs without run and apply', () => {
    expect(() => defineContract({ commands: { $secrets: () => null } })).toThrow(
      /reserved for Veil's system commands/,
    )
    expect(() =>
      defineContract({ jobs: { half: { run: () => 1 } as unknown as { run(): number; apply(): void } } }),
    ).toThrow(/must have run\(ctx, args\) and apply\(ctx, outcome\)/)
  })

  it('types the off-chain ctx: HTTP, secrets and EVM in queries, jobs in commands', () => {
    expectTypeOf<QueryCtx['http']['fetch']>().returns.resolves.toHaveProperty('json')
    expectTypeOf<QueryCtx['secrets']>().toEqualTypeOf<Readonly<Record<string, string | undefined>>>()
    expectTypeOf<CommandCtx['jobs']['enqueue']>().returns.toEqualTypeOf<string>()
    expectTypeOf<CommandCtx>().not.toHaveProperty('http')
    expectTypeOf<QueryCtx>().not.toHaveProperty('jobs')
  })

  it('derives client method types from typeof the contract', () => {
    expectTypeOf<CommandMethods<typeof Counter>['add']>().toEqualTypeOf<(by: number) => Promise<number>>()
    expectTypeOf<QueryMethods<typeof Counter>['get']>().toEqualTypeOf<() => Promise<number>>()
    expectTypeOf<QueryMethods<typeof Counter>['greet']>().toEqualTypeOf<
      (name: string, times: bigint) => Promise<string>
    >()
    expectTypeOf<InitArgs<typeof Counter>>().toEqualTypeOf<{ start: number }>()
  })

  it('gives commands and queries the contract’s address and keys', () => {
    expectTypeOf<CommandCtx['contract']['address']>().toEqualTypeOf<Address>()
    expectTypeOf<QueryCtx['contract']['address']>().toEqualTypeOf<Address>()
    expectTypeOf<CommandCtx['keys']['derive']>().toEqualTypeOf<(path: string) => Uint8Array>()
    expectTypeOf<QueryCtx['keys']['sign']>().toEqualTypeOf<(message: string | Uint8Array) => `0x${string}`>()
  })
})
