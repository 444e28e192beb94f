import { defineContract } from '@veil/contract'

/** Uses everything that must be deterministic in a command: random bytes, Math.random, Date, bytes. */
export default defineContract({
  commands: {
    roll(ctx, label: string) {
      const bytes = ctx.random(16)
      const record = {
        label,
        bytes,
        math: Math.floor(Math.random() * 1_000_000),
        now: Date.now(),
        date: new Date().toISOString(),
        block: ctx.block.number,
      }
      ctx.storage.set(`roll:${label}`, record)
      const count = (ctx.storage.get<number>('count') ?? 0) + 1
      ctx.storage.set('count', count)
      if (count % 7 === 0) ctx.storage.delete(`roll:${label}`)
      return record
    },
    burn(_ctx, n: number) {
      // CPU work that must cost the same fuel everywhere.
      let x = 0
      for (let i = 0; i < n; i++) x = (x * 31 + i) % 1_000_003
      return x
    },
  },
  queries: {
    count(ctx) {
      return ctx.storage.get<number>('count') ?? 0
    },
  },
})
