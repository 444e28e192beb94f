/**
 * Bounded, exception-safe formatting of arbitrary guest values, for `ctx.log`/`console` and for
 * describing thrown non-Error values. Guest-side code: getters, Proxy traps and `toString` overrides
 * it touches run inside the sandbox under the fuel meter, so a hostile value can only exhaust its own
 * invocation's fuel. The output never exceeds the given character budget.
 */

const MAX_ITEMS = 20
const MAX_DEPTH = 2

class Budget {
  constructor(public remaining: number) {}
}

function clip(text: string, budget: Budget): string {
  if (budget.remaining <= 0) return ''
  if (text.length <= budget.remaining) {
    budget.remaining -= text.length
    return text
  }
  const kept = `${text.slice(0, Math.max(0, budget.remaining - 1))}…`
  budget.remaining = 0
  return kept
}

function safeName(value: object): string {
  try {
    const proto: unknown = Object.getPrototypeOf(value)
    if (proto === null) return '[Object: null prototype]'
    const ctor: unknown = (proto as { constructor?: unknown }).constructor
    const name: unknown = typeof ctor === 'function' ? ctor.name : undefined
    return typeof name === 'string' && name !== '' && name !== 'Object' ? name : ''
  } catch {
    return ''
  }
}

function hex(bytes: Uint8Array, max: number): string {
  let out = ''
  const n = Math.min(bytes.length, max)
  for (let i = 0; i < n; i++) {
    const b = bytes[i] as number
    out += (i > 0 ? ' ' : '') + (b < 16 ? '0' : '') + b.toString(16)
  }
  return bytes.length > max ? `${out} …` : out
}

function inspectObject(value: object, depth: number, seen: object[], budget: Budget): string {
  if (seen.includes(value)) return '[Circular]'
  if (value instanceof Error) {
    const name: unknown = value.name
    const message: unknown = value.message
    return `${typeof name === 'string' ? name : 'Error'}: ${typeof message === 'string' ? message : ''}`
  }
  if (value instanceof Uint8Array) return `Uint8Array(${value.length}) [${hex(value, 32)}]`
  if (value instanceof Date) {
    const time = value.getTime()
    return Number.isNaN(time) ? 'Invalid Date' : value.toISOString()
  }
  if (value instanceof Map) return `Map(${value.size})`
  if (value instanceof Set) return `Set(${value.size})`
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${safeName(value) || 'binary'}]`
  if (value instanceof Promise) return 'Promise'
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? '[Array]' : '[Object]'
  seen.push(value)
  try {
    if (Array.isArray(value)) {
      const parts: string[] = []
      const n = Math.min(value.length, MAX_ITEMS)
      for (let i = 0; i < n && budget.remaining > 0; i++)
        parts.push(inspectNested(value[i], depth + 1, seen, budget))
      if (value.length > n) parts.push(`... ${value.length - n} more`)
      return `[${parts.join(', ')}]`
    }
    const keys = Object.keys(value)
    const parts: string[] = []
    const n = Math.min(keys.length, MAX_ITEMS)
    for (let i = 0; i < n && budget.remaining > 0; i++) {
      const key = keys[i] as string
      const item = inspectNested((value as Record<string, unknown>)[key], depth + 1, seen, budget)
      parts.push(`${/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key)}: ${item}`)
    }
    if (keys.length > n) parts.push(`... ${keys.length - n} more`)
    const name = safeName(value)
    const body = parts.length > 0 ? `{ ${parts.join(', ')} }` : '{}'
    return name ? `${name} ${body}` : body
  } finally {
    seen.pop()
  }
}

// Nested parts are not clipped one by one; charging their length to the budget stops the enclosing
// loops early, and the caller clips the whole text once. Depth and item caps bound the work.
function inspectNested(value: unknown, depth: number, seen: object[], budget: Budget): string {
  const text = inspectValue(value, depth, seen, budget, true)
  budget.remaining -= text.length
  return text
}

function inspectValue(
  value: unknown,
  depth: number,
  seen: object[],
  budget: Budget,
  nested: boolean,
): string {
  try {
    switch (typeof value) {
      case 'string':
        return nested ? JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value) : value
      case 'number':
        return Object.is(value, -0) ? '-0' : String(value)
      case 'bigint':
        return `${value}n`
      case 'boolean':
      case 'undefined':
        return String(value)
      case 'symbol':
        return String(value)
      case 'function': {
        const name: unknown = value.name
        return `[Function${typeof name === 'string' && name ? `: ${name}` : ''}]`
      }
      default:
        return value === null ? 'null' : inspectObject(value as object, depth, seen, budget)
    }
  } catch {
    return '[uninspectable]'
  }
}

/** Formats one value as `console.log` would print it (top-level strings unquoted). */
export function inspect(value: unknown, maxChars: number): string {
  return clip(inspectValue(value, 0, [], new Budget(maxChars), false), new Budget(maxChars))
}

/** Joins log arguments with spaces, within `maxChars` characters in total. */
export function formatLogMessage(parts: readonly unknown[], maxChars: number): string {
  const out = new Budget(maxChars)
  let text = ''
  for (let i = 0; i < parts.length && out.remaining > 0; i++) {
    const part = inspectValue(parts[i], 0, [], new Budget(out.remaining), false)
    text += clip(i > 0 ? ` ${part}` : part, out)
  }
  return text
}
