import { defineContract, type Http } from '@veil/contract'

interface Source {
  url: string
}

/** TEST CONTRACT: a price feed that fetches through jobs and timers, with an API key in its secrets. */
export default defineContract({
  commands: {
    refresh(ctx, url: string) {
      return ctx.jobs.enqueue('fetchPrice', { url })
    },
    schedule(ctx, url: string, seconds: number) {
      return ctx.jobs.every(seconds, 'fetchPrice', { url })
    },
    cancel(ctx, id: string) {
      return ctx.jobs.cancel(id)
    },
    async fetchInCommand(ctx, url: string) {
      // Not in CommandCtx's type, on purpose: the sandbox refuses it in a command (NOT_ALLOWED).
      const http = (ctx as unknown as { http: Http }).http
      return (await http.fetch(url)).status
    },
  },
  queries: {
    price(ctx) {
      return {
        price: ctx.storage.get<number>('price') ?? null,
        applied: ctx.storage.get<number>('applied') ?? 0,
        lastError: ctx.storage.get<string>('lastError') ?? null,
      }
    },
    async direct(ctx, url: string) {
      const response = await ctx.http.fetch(url, {
        headers: { authorization: `Bearer ${ctx.secrets.API_KEY ?? ''}` },
      })
      return { status: response.status, body: await response.json<unknown>() }
    },
    async refused(ctx, url: string) {
      try {
        await ctx.http.fetch(url)
        return 'fetched'
      } catch (error) {
        return (error as { code?: string }).code ?? String(error)
      }
    },
    async chainId(ctx) {
      return ctx.evm.call('devnet', { to: '0x0000000000000000000000000000000000000001', data: '0x' })
    },
  },
  jobs: {
    fetchPrice: {
      async run(ctx, { url }: Source) {
        const response = await ctx.http.fetch(url, {
          headers: { authorization: `Bearer ${ctx.secrets.API_KEY ?? ''}` },
        })
        ctx.log(`fetched ${url} with key ${ctx.secrets.API_KEY}`)
        if (!response.ok) throw new Error(`the source answered ${response.status}`)
        return (await response.json<{ price: number }>()).price
      },
      apply(ctx, outcome) {
        ctx.storage.set('applied', (ctx.storage.get<number>('applied') ?? 0) + 1)
        if (outcome.ok) ctx.storage.set('price', outcome.value)
        else ctx.storage.set('lastError', outcome.error.code)
      },
    },
  },
})
