import { VeilError } from '@veil/protocol'
import type { CliIO } from './command.js'

/** JSON.stringify that renders bigints as decimal strings (amounts, block numbers). */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent)
}

/** Prints an error the way every command does: what failed, details, and the fix. */
export function printError(io: CliIO, error: unknown, json: boolean): void {
  if (json) {
    const payload =
      error instanceof VeilError
        ? error.toJSON()
        : { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) }
    io.out(toJson({ ok: false, error: payload }))
    return
  }
  if (error instanceof VeilError) {
    const lines = [`error: ${error.shortMessage}`]
    for (const meta of error.metaMessages) lines.push(`  ${meta}`)
    if (error.details) lines.push(`  details: ${error.details}`)
    if (error.hint) lines.push(`  fix: ${error.hint}`)
    io.err(lines.join('\n'))
    return
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
  io.err(`error: unexpected failure (this is a bug in veil; please report it)\n${message}`)
}

/** Left-aligned two-column table rows. */
export function columns(rows: [string, string][], indent = '  '): string {
  const width = Math.max(0, ...rows.map(([a]) => a.length))
  return rows.map(([a, b]) => `${indent}${a.padEnd(width)}  ${b}`).join('\n')
}

/** A left-aligned table with a header row; every column as wide as its widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}
