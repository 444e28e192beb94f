import { defineContract } from '@veil/contract'

/** A counter: the smallest useful contract. */
export default defineContract({
  init(ctx, args: { start: number } | undefined) {
    ctx.storage.set('n', args?.start ?? 0)
  },
  commands: {
    add(ctx, by: number) {
      if (!Number.isInteger(by)) throw new Error(`by must be an integer, got ${by}`)
      const n = (ctx.storage.get<number>('n') ?? 0) + by
      ctx.storage.set('n', n)
      ctx.emit('added', { by, n })
      return n
    },
  },
  queries: {
    get(ctx) {
      return ctx.storage.get<number>('n') ?? 0
    },
    whoami(ctx) {
      return ctx.caller
    },
  },
})
