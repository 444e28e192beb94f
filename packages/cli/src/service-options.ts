import { UsageError } from '@veil/protocol'
import { stringOption } from './args.js'
import type { CommandContext, OptionSpec } from './command.js'

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevelName = (typeof LOG_LEVELS)[number]

/** The options every long-running service command (`worker start`, `kms start`) shares. */
export const serviceLogOptions: Record<'log-level' | 'log-json' | 'exit-with-parent', OptionSpec> = {
  'log-level': {
    type: 'string',
    valueName: '<level>',
    description: 'debug, info, warn or error',
    default: 'info',
  },
  'log-json': { type: 'boolean', description: 'log JSON lines (pino) instead of text' },
  'exit-with-parent': {
    type: 'boolean',
    description: 'stop when standard input closes (used by veil dev)',
  },
}

/** `--host` and `--port` of a service's HTTP API (`worker start`, `kms start`). */
export const serviceListenOptions: Record<'host' | 'port', OptionSpec> = {
  host: {
    type: 'string',
    valueName: '<ip>',
    description: 'interface for the HTTP API',
    default: '127.0.0.1',
  },
  port: {
    type: 'string',
    valueName: '<port>',
    description: 'HTTP port (0 picks a free one)',
    default: '0',
  },
}

/** The validated `--log-level`. */
export function logLevelOption(ctx: CommandContext): LogLevelName {
  const level = stringOption(ctx, 'log-level') ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`)
  }
  return level as LogLevelName
}

/** Resolves when the command should stop: SIGINT/SIGTERM, or (with `--exit-with-parent`) stdin closing. */
export function stopRequested(ctx: CommandContext): Promise<'signal' | 'parent'> {
  return new Promise((resolve) => {
    ctx.signal.addEventListener('abort', () => resolve('signal'), { once: true })
    if (ctx.options['exit-with-parent'] === true) {
      process.stdin.on('end', () => resolve('parent'))
      process.stdin.on('error', () => resolve('parent'))
      process.stdin.resume()
    }
  })
}

/**
 * Starts `service` unless a stop comes first; then stops it (ending whatever `start()` waits for) and
 * returns false. A failed start rejects, as `start()` does.
 */
export async function startUnlessStopped(
  service: { start(): Promise<void>; stop(): Promise<void> },
  stopped: Promise<unknown>,
): Promise<boolean> {
  const startup = service.start()
  const first = await Promise.race([startup.then(() => 'started' as const), stopped])
  if (first === 'started') return true
  const stopping = service.stop()
  await startup.catch(() => {})
  await stopping
  return false
}
