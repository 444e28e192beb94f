import { defineContract } from '@veil/contract'

/** The contract's own keys: its address, a derived key and EIP-191 signatures (an oracle's price). */
export default defineContract({
  init(ctx) {
    ctx.storage.set('address', ctx.contract.address)
  },
  commands: {
    signPrice(ctx, pair: string, price: bigint) {
      const message = `${pair} ${price} @ ${ctx.block.number}`
      const signature = ctx.keys.sign(message)
      ctx.emit('price', { pair, price, signature })
      return { address: ctx.contract.address, message, signature, derived: ctx.keys.derive('oracle/0') }
    },
  },
  queries: {
    whoami(ctx) {
      return {
        address: ctx.contract.address,
        atInit: ctx.storage.get<string>('address') ?? null,
        derived: ctx.keys.derive('oracle/0'),
        signature: ctx.keys.sign('hello'),
      }
    },
  },
})
