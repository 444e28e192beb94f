import { relative } from 'node:path'
import type { ProgressEvent } from '@veil/devnet'
import { UsageError } from '@veil/protocol'
import { flag, intOption, listOption, pathOption } from '../args.js'
import { type Command, ExitCode } from '../command.js'
import { columns, toJson } from '../output.js'

export const devCommand: Command = {
  name: ['dev'],
  summary: 'run a whole Veil network on this machine (chain, ledger, KMS, workers)',
  description:
    'Starts anvil with its state in the data dir, deploys the ledger once (and reuses it on every later\n' +
    'start), writes <dir>/network.json when ready, and runs until Ctrl-C (SIGINT) or SIGTERM.',
  options: {
    dir: {
      type: 'string',
      valueName: '<dir>',
      description: 'data dir for chain state and network.json',
      default: '.veil',
    },
    reset: { type: 'boolean', description: 'delete the data dir first and start from scratch' },
    port: {
      type: 'string',
      valueName: '<port>',
      description: 'chain JSON-RPC port (0 picks a free one)',
      default: '8545',
    },
    workers: { type: 'string', valueName: '<n>', description: 'number of workers to run', default: '2' },
    'egress-allow': {
      type: 'string',
      multiple: true,
      valueName: '<host[:port]>',
      description: 'let contracts reach this host although it is private, e.g. a local API (repeatable)',
    },
    verbose: {
      type: 'boolean',
      short: 'v',
      description: 'show the workers’ info logs (default: warnings only)',
    },
  },
  json: true,
  examples: ['veil dev', 'veil dev --reset', 'veil dev --dir /tmp/veil --port 0 --json'],
  async run(ctx) {
    const { io } = ctx
    const json = flag(ctx, 'json')
    const dir = pathOption(ctx, 'dir', '.veil')
    const port = intOption(ctx, 'port', 0, 65535) ?? 8545
    const workers = intOption(ctx, 'workers', 0, 16) ?? 2
    const { parseAllowEntry } = await import('@veil/runtime')
    for (const entry of listOption(ctx, 'egress-allow')) {
      try {
        parseAllowEntry(entry)
      } catch (error) {
        throw new UsageError(`--egress-allow ${entry}: ${(error as Error).message}`)
      }
    }
    const shownDir = relative(io.cwd, dir) || '.'
    const started = performance.now()

    io.err(`veil dev: starting a local network in ${shownDir}`)
    const { LocalNetwork } = await import('@veil/devnet')
    const network = new LocalNetwork({
      dir,
      port,
      reset: flag(ctx, 'reset'),
      workers,
      egressAllow: listOption(ctx, 'egress-allow'),
      workerLogLevel: flag(ctx, 'verbose') ? 'info' : 'warn',
      onWorkerLog: (index, line) => io.err(`  [worker ${index}] ${line}`),
      logger: ctx.logger,
      onProgress: (event) => io.err(formatProgress(event)),
    })
    const stop = () => void network.dispose()
    ctx.signal.addEventListener('abort', stop, { once: true })
    try {
      if (ctx.signal.aborted) return ExitCode.ok
      const info = await network.start()
      const seconds = ((performance.now() - started) / 1000).toFixed(1)
      if (json) {
        io.out(
          toJson({
            event: 'ready',
            readyInSeconds: Number(seconds),
            networkFile: network.networkPath,
            network: info,
          }),
        )
      } else {
        io.out(
          [
            '',
            `Veil devnet ready in ${seconds} s`,
            columns([
              ['RPC', `${info.rpcUrl}  (chain id ${info.chainId})`],
              ['Registry', info.contracts.registry],
              ['Contracts', info.contracts.contracts],
              ['Commands', info.contracts.commands],
              ...(info.kms
                ? [['KMS', `${info.kms.url}  ${info.kms.address ?? ''}  (simulated TEE)`] as [string, string]]
                : []),
              ...(info.mining
                ? [['Mining', `token ${info.mining.token}, 10 s epochs (veil rewards)`] as [string, string]]
                : []),
              ...info.workers.map((w, i): [string, string] => [`Worker ${i}`, `${w.url}  ${w.address}`]),
              ['Network', `${relative(io.cwd, network.networkPath)}`],
            ]),
            ...(info.devnet.examples?.counter
              ? [
                  '',
                  `Try it (examples/counter is contract ${info.devnet.examples.counter}):`,
                  `  npx veil call ${info.devnet.examples.counter} add 5`,
                  `  npx veil query ${info.devnet.examples.counter} get`,
                ]
              : []),
            '',
            'Press Ctrl-C to stop.',
          ].join('\n'),
        )
      }
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve()
        else ctx.signal.addEventListener('abort', () => resolve(), { once: true })
      })
      io.err('veil dev: shutting down…')
      await network.dispose()
      io.err('veil dev: stopped')
      return ExitCode.ok
    } finally {
      ctx.signal.removeEventListener('abort', stop)
      await network.dispose()
    }
  },
}

function formatProgress(event: ProgressEvent): string {
  if (event.phase === 'start') return `  … ${event.step}`
  const ms = event.ms === undefined ? '' : ` (${event.ms} ms)`
  return `  ✓ ${event.step}${event.detail ? `  ${event.detail}` : ''}${ms}`
}
