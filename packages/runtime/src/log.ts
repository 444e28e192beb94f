import { createTextLogger, type Logger, type LogLevel } from '@veil/protocol'
import pino from 'pino'

export type { LogLevel }
export type LogFormat = 'text' | 'json'

export interface CreateLoggerOptions {
  level?: LogLevel
  /** `json`: one pino JSON object per line (for log shippers); `text`: compact lines for a terminal. */
  format?: LogFormat
  /** Where lines go; defaults to stderr. */
  write?: (line: string) => void
  /** Fixed fields on every line, e.g. `{ worker: 0 }`. */
  base?: Record<string, unknown>
}

/** A `Logger` for long-running services: pino JSON lines, or readable text. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const level = options.level ?? 'info'
  const write = options.write ?? ((line: string) => process.stderr.write(line))
  if (options.format !== 'json') {
    return createTextLogger({ write, level, ...(options.base ? { base: options.base } : {}) })
  }
  const root = pino({ level, base: options.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime }, { write })
  const wrap = (p: pino.Logger): Logger => ({
    debug: (msg, fields) => p.debug(fields ?? {}, msg),
    info: (msg, fields) => p.info(fields ?? {}, msg),
    warn: (msg, fields) => p.warn(fields ?? {}, msg),
    error: (msg, fields) => p.error(fields ?? {}, msg),
    forComponent: (name) => wrap(p.child({ component: name })),
  })
  return wrap(root)
}
