import { defineContract } from '@veil/contract'

/** Balances in bigint, transfers that can fail, and a per-sender history. */
export default defineContract({
  commands: {
    mint(ctx, amount: bigint) {
      const key = `bal:${ctx.caller}`
      const balance = (ctx.storage.get<bigint>(key) ?? 0n) + amount
      ctx.storage.set(key, balance)
      return balance
    },
    transfer(ctx, to: string, amount: bigint) {
      const from = `bal:${ctx.caller}`
      const balance = ctx.storage.get<bigint>(from) ?? 0n
      // Writes before the throw must be discarded with it.
      ctx.storage.set('last-attempt', { from: ctx.caller, to, amount })
      if (amount > balance) throw new Error(`insufficient balance: ${balance} < ${amount}`)
      ctx.storage.set(from, balance - amount)
      ctx.storage.set(`bal:${to}`, (ctx.storage.get<bigint>(`bal:${to}`) ?? 0n) + amount)
      ctx.emit('transfer', { from: ctx.caller, to, amount })
      return balance - amount
    },
  },
  queries: {
    balance(ctx, who: string) {
      return ctx.storage.get<bigint>(`bal:${who}`) ?? 0n
    },
  },
})
