import { resolve } from 'node:path'
import { UsageError } from '@veil/protocol'
import type { CommandContext } from './command.js'

export function stringOption(ctx: CommandContext, name: string): string | undefined {
  const value = ctx.options[name]
  return typeof value === 'string' ? value : undefined
}

export function flag(ctx: CommandContext, name: string): boolean {
  return ctx.options[name] === true
}

/** An integer option within [min, max], with a usage error that names the flag. */
export function intOption(ctx: CommandContext, name: string, min: number, max: number): number | undefined {
  const raw = stringOption(ctx, name)
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`)
  }
  return value
}

/** A path option resolved against the working directory. */
export function pathOption(ctx: CommandContext, name: string, fallback: string): string {
  return resolve(ctx.io.cwd, stringOption(ctx, name) ?? fallback)
}

/** A repeatable string option (`--egress-allow a --egress-allow b`); also splits comma-separated values. */
export function listOption(ctx: CommandContext, name: string, split = true): string[] {
  const value = ctx.options[name]
  const items = Array.isArray(value) ? value : typeof value === 'string' ? [value] : []
  return items
    .flatMap((item) => (split ? String(item).split(',') : [String(item)]))
    .map((item) => item.trim())
    .filter((item) => item.length > 0)
}
