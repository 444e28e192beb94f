import { defineContract } from '@veil/contract'

/** TEST FIXTURE: exercises every value kind, caller proofs, events and contract errors. */
export default defineContract({
  init(ctx, args: { title: string }) {
    ctx.log('created', args.title)
    ctx.storage.set('title', args.title)
    ctx.storage.set('count', 0n)
  },
  commands: {
    /** Appends a note; returns how many there are (a bigint). */
    add(ctx, text: string, tags: string[] = []) {
      if (text.length === 0) {
        ctx.log.warn('refusing an empty note from', ctx.caller)
        throw new Error('a note needs text')
      }
      ctx.log.info('adding note', { text, tags })
      const count = (ctx.storage.get<bigint>('count') ?? 0n) + 1n
      ctx.storage.set(`note/${count}`, { text, tags, author: ctx.caller })
      ctx.storage.set('count', count)
      ctx.emit('added', { id: count, text })
      ctx.emit('count', count)
      return count
    },
    /** Stores bytes and returns their length. */
    store(ctx, blob: Uint8Array) {
      ctx.storage.set('blob', blob)
      return blob.length
    },
  },
  queries: {
    count(ctx) {
      return ctx.storage.get<bigint>('count') ?? 0n
    },
    note(ctx, id: bigint) {
      const note = ctx.storage.get<{ text: string; tags: string[]; author: string }>(`note/${id}`)
      if (!note) throw new Error(`no note ${id}`)
      return note
    },
    blob(ctx) {
      return ctx.storage.get<Uint8Array>('blob') ?? null
    },
    whoami(ctx) {
      return ctx.caller
    },
    title(ctx) {
      // biome-ignore lint/suspicious/noConsole: contracts' console output is what this fixture tests
      console.error('title asked by', ctx.caller)
      return ctx.storage.get<string>('title') ?? ''
    },
  },
})
