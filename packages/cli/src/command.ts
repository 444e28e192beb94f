import type { Logger } from '@veil/protocol'

/** Where a command writes. Tests capture it; `bin/veil.js` wires it to the process. */
export interface CliIO {
  /** Result output (stdout). */
  out(text: string): void
  /** Progress, warnings and errors (stderr). */
  err(text: string): void
  /** True when stderr is a terminal (progress may use colour). */
  readonly isTTY: boolean
  readonly env: Record<string, string | undefined>
  readonly cwd: string
}

export interface OptionSpec {
  type: 'string' | 'boolean'
  short?: string
  /** Shown in --help, e.g. `<dir>`. */
  valueName?: string
  description: string
  default?: string | boolean
  multiple?: boolean
}

export interface CommandContext {
  io: CliIO
  /** Parsed options (including the global `json`). */
  options: Record<string, string | boolean | string[] | undefined>
  positionals: string[]
  /** Aborted on SIGINT/SIGTERM: long-running commands shut down gracefully and return. */
  signal: AbortSignal
  logger: Logger
}

/** A command is data: metadata for help and parsing, and a handler that returns an exit code. */
export interface Command {
  /** Words after `veil`, e.g. `['dev']` or `['attest', 'verify']`. */
  name: string[]
  summary: string
  /** Positional arguments for the usage line, e.g. `<entry.ts>`. */
  args?: string
  description?: string
  options: Record<string, OptionSpec>
  examples?: string[]
  /** Whether the command returns data and so supports --json. */
  json?: boolean
  run(ctx: CommandContext): Promise<number>
}

/** Exit codes of every `veil` command. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const
