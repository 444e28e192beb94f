import { defineContract } from '@veil/contract'

/**
 * A counter everyone can add to. `add` is a command: ordered by the ledger, run by every worker of the
 * cluster. `get` is a query: answered by one worker from its encrypted state, in milliseconds.
 */
export default defineContract({
  init(ctx, args: { start?: number } | undefined) {
    ctx.storage.set('n', args?.start ?? 0)
  },
  commands: {
    add(ctx, by: number) {
      if (!Number.isSafeInteger(by)) throw new Error(`add expects a whole number, got ${by}`)
      const n = (ctx.storage.get<number>('n') ?? 0) + by
      ctx.storage.set('n', n)
      ctx.emit('added', { by, n, caller: ctx.caller })
      ctx.log(`${ctx.caller} added ${by}: now ${n}`) // for the owner only: `veil logs <id>`
      return n
    },
    reset(ctx) {
      ctx.storage.set('n', 0)
      ctx.emit('reset', { by: ctx.caller })
      return 0
    },
  },
  queries: {
    get(ctx) {
      return ctx.storage.get<number>('n') ?? 0
    },
  },
})
