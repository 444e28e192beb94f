import { defineContract } from '@veil/contract'

/** Everything a hostile or buggy contract might try. Each command must fail alone, with a typed error. */
export default defineContract({
  commands: {
    spin() {
      for (;;) {}
    },
    recurse() {
      const down = (n: number): number => down(n + 1) + 1
      return down(0)
    },
    hog() {
      // Zeroed buffers are cheap in fuel, so memory runs out first.
      const chunks: Uint8Array[] = []
      for (;;) chunks.push(new Uint8Array(8 << 20))
    },
    huge() {
      return 'y'.repeat(4 << 20)
    },
    flood(ctx) {
      for (let i = 0; ; i++) ctx.storage.set(`k${i}`, 'z'.repeat(1000))
    },
    regex() {
      return /(a+)+$/.test(`${'a'.repeat(40)}!`)
    },
    probe() {
      const g = globalThis as Record<string, unknown>
      const found = [
        'process',
        'require',
        'fetch',
        'setTimeout',
        'setInterval',
        'XMLHttpRequest',
        'WebSocket',
      ].filter((name) => typeof g[name] !== 'undefined')
      const viaFunction = Function('return this')() as Record<string, unknown>
      if (typeof viaFunction.process !== 'undefined') found.push('Function(this).process')
      return found
    },
    trap() {
      return {
        get value() {
          for (;;) {}
        },
      }
    },
    throwString() {
      throw 'just a string'
    },
    remember(ctx, secret: string) {
      ctx.storage.set('secret', secret)
      return 'ok'
    },
    fine(ctx) {
      const n = (ctx.storage.get<number>('fine') ?? 0) + 1
      ctx.storage.set('fine', n)
      return n
    },
  },
  queries: {
    write(ctx) {
      ;(ctx.storage as unknown as { set(k: string, v: unknown): void }).set('nope', 1)
      return 'wrote'
    },
  },
})
