/**
 * Host-side validation of encoded values received from the guest. The guest encodes with the shared
 * `encodeValue`, but contract code can tamper with the built-ins that encoder uses, so the host accepts a
 * text only if it is exactly the canonical encoding of what it decodes to.
 */
import { decodeValue, encodeValue, MAX_VALUE_DEPTH } from '@veil/protocol'

const encoder = new TextEncoder()

/** Length of `text` in UTF-8 bytes. */
export function utf8Length(text: string): number {
  // Fast path: ASCII-only texts are as long in bytes as in characters.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting non-ASCII is the point.
  return /^[\x00-\x7f]*$/.test(text) ? text.length : encoder.encode(text).length
}

/** Nesting depth of a JSON text, counted without recursion (strings skipped). */
function nestingDepth(text: string): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      depth++
      if (depth > max) max = depth
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--
  }
  return max
}

/** Returns why `text` is not a canonical value encoding, or undefined when it is. */
export function canonicalValueProblem(text: string): string | undefined {
  // Tags ($bigint, $bytes) add one level per value; anything deeper cannot be canonical.
  if (nestingDepth(text) > MAX_VALUE_DEPTH + 2) return `nested deeper than ${MAX_VALUE_DEPTH} levels`
  try {
    return encodeValue(decodeValue(text)) === text ? undefined : 'not in canonical form'
  } catch (error) {
    return error instanceof Error ? error.message : 'not a valid encoding'
  }
}
