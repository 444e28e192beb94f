import type { Logger } from '@veil/protocol'
import pino from 'pino'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
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

const ORDER: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 }

/** A `Logger` for long-running services: pino JSON lines, or readable text. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const level = options.level ?? 'info'
  const write = options.write ?? ((line: string) => process.stderr.write(line))
  if (options.format === 'json') {
    const root = pino(
      { level, base: options.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime },
      { write },
    )
    const wrap = (p: pino.Logger): Logger => ({
      debug: (msg, fields) => p.debug(fields ?? {}, msg),
      info: (msg, fields) => p.info(fields ?? {}, msg),
      warn: (msg, fields) => p.warn(fields ?? {}, msg),
      error: (msg, fields) => p.error(fields ?? {}, msg),
      forComponent: (name) => wrap(p.child({ component: name })),
    })
    return wrap(root)
  }
  const prefix = options.base
    ? Object.entries(options.base)
        .map(([k, v]) => `${k}=${String(v)} `)
        .join('')
    : ''
  const make = (component: string): Logger => {
    const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
      if (ORDER[lvl] < ORDER[level]) return
      const rest = fields
        ? Object.entries(fields)
            .map(([k, v]) => ` ${k}=${formatField(v)}`)
            .join('')
        : ''
      const time = new Date().toISOString().slice(11, 23)
      write(`${time} ${lvl.padEnd(5)} ${prefix}${component ? `[${component}] ` : ''}${msg}${rest}\n`)
    }
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      forComponent: (name) => make(name.replace(/^veil:/, '')),
    }
  }
  return make('')
}

function formatField(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'bigint') return String(value)
  return (
    JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value)
  )
}
