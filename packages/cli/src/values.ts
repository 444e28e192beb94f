import { decodeValue, encodeValue, UsageError, ValueEncodingError } from '@veil/protocol'

/**
 * Parses one command-line argument as a contract value: JSON (`5`, `'"text"'`, `'{"a":1}'`, with
 * `{"$bigint":"…"}` and `{"$bytes":"…"}` tags), a bigint literal with a trailing `n` (`5n`, `-3n`), or,
 * when it is none of those, the bare word as a string (`hello`).
 */
export function parseValueArg(text: string, name = 'argument'): unknown {
  if (/^-?\d+n$/.test(text)) return BigInt(text.slice(0, -1))
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // Not JSON at all: a bare word is a string. Text that looks like JSON but is broken is a mistake.
    if (/^\s*[[{"]/.test(text)) {
      throw new UsageError(`${name} is not valid JSON: ${text}`, {
        hint: `quote JSON for your shell, e.g. '{"a":1}' or '"a string"'`,
      })
    }
    return text
  }
  try {
    return decodeValue(JSON.stringify(parsed), name)
  } catch (error) {
    throw new UsageError(`${name} is not a valid Veil value`, {
      details: error instanceof ValueEncodingError ? error.message : String(error),
      hint: 'bigints are {"$bigint":"123"} or 123n, bytes {"$bytes":"<base64url>"}; keys starting with $ are written $$',
    })
  }
}

/** A contract value as tagged JSON (bigints and bytes keep their tags), for `--json` output. */
export function taggedJson(value: unknown): unknown {
  return JSON.parse(encodeValue(value))
}

/** A contract value for people: canonical JSON text. */
export function showValue(value: unknown): string {
  return encodeValue(value)
}
