/** Structured logger that every long-running service receives instead of reaching for `console`. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
  /** A logger for one component, e.g. `veil:runtime:follower`. */
  forComponent(name: string): Logger
}

/** A logger that drops everything; the default for libraries and tests. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  forComponent() {
    return silentLogger
  },
}

/** Wall-clock source. Deterministic code never reads the system clock directly. */
export interface Clock {
  /** Milliseconds since the UNIX epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A service with a lifecycle. If `start` fails halfway, whatever it started is stopped again. */
export interface Startable {
  start(): Promise<void>
  stop(): Promise<void>
}
