import { type ContractLogEntry, UsageError } from '@veil/protocol'
import type { GetLogsReturnType } from '@veil/sdk'
import { flag, stringOption } from '../args.js'
import { type Command, ExitCode } from '../command.js'
import { contractIdArg, loadClient, networkOption } from '../network.js'
import { toJson } from '../output.js'

const USAGE = 'veil logs <id> [--follow]'
const DEFAULT_INTERVAL_MS = 1000

export const logsCommand: Command = {
  name: ['logs'],
  args: '<id>',
  summary: 'print what a contract wrote with ctx.log (owner only)',
  description:
    'Reads the contract’s log from one worker: the lines its init, commands and queries wrote with\n' +
    'ctx.log or console.*. Workers keep them sealed and hand them only to the contract’s owner, so the\n' +
    'request is signed by your account (VEIL_PRIVATE_KEY), which must own the contract.\n' +
    'Every worker logs the commands; a query’s lines are on the worker that answered it. --follow keeps\n' +
    'reading new lines from the same worker until Ctrl-C. With --json, one JSON object per line.',
  options: {
    ...networkOption,
    follow: { type: 'boolean', short: 'f', description: 'keep printing new lines until interrupted' },
    after: {
      type: 'string',
      valueName: '<seq>',
      description: 'only lines after this sequence number (default: the whole kept log)',
    },
    tail: {
      type: 'string',
      valueName: '<n>',
      description: 'start with the last <n> lines only',
    },
    worker: {
      type: 'string',
      valueName: '<index|url>',
      description: 'read this worker’s log (index from `veil workers`, address or URL; default 0)',
    },
    interval: {
      type: 'string',
      valueName: '<ms>',
      description: `how often --follow asks for new lines (default ${DEFAULT_INTERVAL_MS})`,
    },
  },
  json: true,
  examples: ['veil logs 1', 'veil logs 1 --follow', 'veil logs 1 --tail 20 --worker 1 --json'],
  async run(ctx) {
    const { io } = ctx
    const [idText, extra] = ctx.positionals
    const contractId = contractIdArg(idText, USAGE)
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`, { hint: USAGE })
    const after = nonNegative(stringOption(ctx, 'after'), '--after')
    const tail = nonNegative(stringOption(ctx, 'tail'), '--tail')
    if (after !== undefined && tail !== undefined)
      throw new UsageError('use --after or --tail, not both', { hint: USAGE })
    const interval = Number(nonNegative(stringOption(ctx, 'interval'), '--interval') ?? DEFAULT_INTERVAL_MS)
    if (interval < 100) throw new UsageError('--interval must be at least 100 ms')
    const workerText = stringOption(ctx, 'worker') ?? '0'
    const worker = /^\d+$/.test(workerText) ? Number(workerText) : workerText
    const json = flag(ctx, 'json')
    const { client } = await loadClient(ctx, { needsAccount: true })

    const read = (from: bigint) => client.getLogs({ contractId, after: from, worker, signal: ctx.signal })
    let cursor = after ?? 0n
    let page: GetLogsReturnType
    if (tail !== undefined) {
      // The kept log is bounded, so finding the newest sequence number is one small read.
      const probe = await client.getLogs({ contractId, after: 0n, limit: 1, worker, signal: ctx.signal })
      cursor = probe.last > tail ? probe.last - tail : 0n
    }
    let printed = 0
    const print = (entries: ContractLogEntry[]) => {
      for (const entry of entries) {
        io.out(json ? toJson(entry) : formatEntry(entry))
        printed++
      }
    }
    // Drain what is there (pages of up to 1000), then follow.
    for (;;) {
      page = await read(cursor)
      print(page.entries)
      if (page.entries.length > 0) cursor = (page.entries.at(-1) as ContractLogEntry).seq
      if (cursor >= page.last || page.entries.length === 0) break
    }
    if (!flag(ctx, 'follow')) {
      if (!json)
        io.err(
          `${printed} line${printed === 1 ? '' : 's'} from ${page.worker.address} (${page.worker.url}) at block ${page.block}`,
        )
      return ExitCode.ok
    }
    if (!json) io.err(`following ${page.worker.url}; Ctrl-C to stop`)
    while (!ctx.signal.aborted) {
      await sleep(interval, ctx.signal)
      if (ctx.signal.aborted) break
      try {
        page = await read(cursor)
      } catch (error) {
        if (ctx.signal.aborted) break
        throw error
      }
      print(page.entries)
      if (page.entries.length > 0) cursor = (page.entries.at(-1) as ContractLogEntry).seq
      // A worker whose store was reset starts its numbering again: follow it from the start.
      if (page.last < cursor) cursor = 0n
    }
    return ExitCode.ok
  },
}

/** `2026-11-21T20:00:01.000Z info  command add 0x1234…cdef  the message` */
export function formatEntry(entry: ContractLogEntry): string {
  const source =
    entry.kind === 'query' || entry.kind === 'job'
      ? `${entry.kind} ${entry.method ?? ''}`
      : entry.kind === 'init'
        ? `init ${entry.txHash ? `${entry.txHash.slice(0, 10)}…` : ''}`
        : `command ${entry.method ?? '(sealed)'} ${entry.txHash ? `${entry.txHash.slice(0, 10)}…` : ''}`
  return `${new Date(entry.time).toISOString()} ${entry.level.padEnd(5)} ${source.trim().padEnd(28)} ${entry.message}`
}

function nonNegative(text: string | undefined, name: string): bigint | undefined {
  if (text === undefined) return undefined
  if (!/^\d{1,19}$/.test(text)) throw new UsageError(`${name} must be a whole number ≥ 0, got "${text}"`)
  return BigInt(text)
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
