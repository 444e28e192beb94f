import { defineContract } from '@veil/contract'

/** TEST FIXTURE: logs from init, commands (succeeding and failing) and queries. */
export default defineContract({
  init(ctx) {
    ctx.log('ready')
  },
  commands: {
    say(ctx, text: string) {
      ctx.log.info('said', text)
      if (text === 'fail') {
        ctx.log.error('about to fail')
        throw new Error('asked to fail')
      }
      ctx.storage.set('last', text)
      return text
    },
  },
  queries: {
    last(ctx) {
      // biome-ignore lint/suspicious/noConsole: contracts' console output is what this fixture tests
      console.warn('last read')
      return ctx.storage.get<string>('last') ?? null
    },
  },
})
