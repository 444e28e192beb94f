import type { Logger } from './log.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

const ORDER: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50 }

/**
 * A `Logger` that writes compact, human-readable lines (`12:00:00.000 warn  [devnet] message k=v`).
 * Services that ship logs elsewhere use the runtime's pino-based JSON logger instead.
 */
export function createTextLogger(options: {
  write: (line: string) => void
  level?: LogLevel
  /** Fixed fields at the start of every line, e.g. `{ worker: 0 }`. */
  base?: Record<string, unknown>
  now?: () => Date
}): Logger {
  const level = options.level ?? 'info'
  const now = options.now ?? (() => new Date())
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
      const time = now().toISOString().slice(11, 23)
      options.write(`${time} ${lvl.padEnd(5)} ${prefix}${component ? `[${component}] ` : ''}${msg}${rest}\n`)
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
