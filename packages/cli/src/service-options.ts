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

/** The validated `--log-level`. */
export function logLevelOption(ctx: CommandContext): LogLevelName {
  const level = stringOption(ctx, 'log-level') ?? 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${level}"`)
  }
  return level as LogLevelName
}
