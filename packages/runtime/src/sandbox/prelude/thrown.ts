import type { GuestFailure } from '../guest-protocol.js'
import { inspect } from './inspect.js'

/** Caps of what a thrown value may report; the host reads nothing larger. */
const MAX_NAME_CHARS = 128
const MAX_MESSAGE_CHARS = 4096
const MAX_STACK_CHARS = 16_384

function bounded(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined
  return value.length > max ? `${value.slice(0, max - 1)}…` : value
}

/**
 * Describes whatever a contract threw, safely: only own data read through ordinary property access
 * (which may run getters or Proxy traps, under fuel), every string bounded, and any exception while
 * describing replaced by a fixed text.
 */
export function describeThrown(value: unknown): Extract<GuestFailure, { type: 'thrown' }> {
  try {
    if (value instanceof Error) {
      return {
        type: 'thrown',
        name: bounded(value.name, MAX_NAME_CHARS) ?? 'Error',
        message: bounded(value.message, MAX_MESSAGE_CHARS) ?? '',
        stack: bounded(value.stack, MAX_STACK_CHARS) ?? '',
        nonError: false,
      }
    }
    const kind = value === null || value === undefined ? String(value) : typeof value
    const article = kind === 'null' || kind === 'undefined' ? '' : /^[aeiou]/.test(kind) ? 'an ' : 'a '
    return {
      type: 'thrown',
      name: 'NonErrorThrown',
      message: `the contract threw ${article}${kind}: ${inspect(value, 512)}`,
      stack: '',
      nonError: true,
    }
  } catch {
    return {
      type: 'thrown',
      name: 'NonErrorThrown',
      message: 'the contract threw a value that could not be described',
      stack: '',
      nonError: true,
    }
  }
}
