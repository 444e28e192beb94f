/**
 * One error type for all of Veil. Every failure a user can see says what failed (`shortMessage`), why
 * (`details`), and what to do about it (`hint`), and carries a stable machine-readable `code`.
 */
export type VeilErrorOptions = {
  /** Stable, upper-snake-case code, e.g. `NETWORK_FILE_INVALID`. */
  code?: string
  /** Why it failed, in a sentence. */
  details?: string
  /** What the user should do next. */
  hint?: string
  /** Extra lines shown under the message (addresses, paths, values). */
  metaMessages?: string[]
  cause?: unknown
}

export class VeilError extends Error {
  override name = 'VeilError'
  readonly code: string
  readonly shortMessage: string
  readonly details: string | undefined
  readonly hint: string | undefined
  readonly metaMessages: string[]

  constructor(shortMessage: string, options: VeilErrorOptions = {}) {
    const lines = [shortMessage]
    if (options.metaMessages?.length) lines.push('', ...options.metaMessages)
    if (options.details) lines.push('', `Details: ${options.details}`)
    if (options.hint) lines.push(`Fix: ${options.hint}`)
    super(lines.join('\n'), options.cause === undefined ? undefined : { cause: options.cause })
    this.code = options.code ?? 'VEIL_ERROR'
    this.shortMessage = shortMessage
    this.details = options.details
    this.hint = options.hint
    this.metaMessages = options.metaMessages ?? []
  }

  /** Walks the `cause` chain; returns the first error matching `predicate`, or the deepest one. */
  walk(predicate?: (error: unknown) => boolean): unknown {
    return walkCauses(this, predicate)
  }

  toJSON(): { code: string; message: string; details?: string; hint?: string } {
    return {
      code: this.code,
      message: this.shortMessage,
      ...(this.details === undefined ? {} : { details: this.details }),
      ...(this.hint === undefined ? {} : { hint: this.hint }),
    }
  }
}

export function walkCauses(error: unknown, predicate?: (error: unknown) => boolean): unknown {
  let current: unknown = error
  const seen = new Set<unknown>()
  while (current !== undefined && current !== null && !seen.has(current)) {
    if (predicate?.(current)) return current
    seen.add(current)
    const next: unknown = (current as { cause?: unknown }).cause
    if (next === undefined || next === null) break
    current = next
  }
  return predicate ? undefined : current
}

/** Bad input from a user (flags, files, arguments): the CLI exits 2 for these. */
export class UsageError extends VeilError {
  override name = 'UsageError'
  constructor(shortMessage: string, options: Omit<VeilErrorOptions, 'code'> = {}) {
    super(shortMessage, { ...options, code: 'USAGE' })
  }
}

/** Renders any thrown value as one line for logs. */
export function errorMessage(error: unknown): string {
  if (error instanceof VeilError) return error.shortMessage
  if (error instanceof Error) return error.message
  return String(error)
}
