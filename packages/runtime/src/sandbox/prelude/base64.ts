/** `atob` and `btoa` for the sandbox (guest-side code), following the HTML "forgiving base64" rules. */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const INDEX: Record<string, number> = {}
for (let i = 0; i < ALPHABET.length; i++) INDEX[ALPHABET.charAt(i)] = i

function invalidCharacter(message: string): Error {
  const error = new Error(message)
  error.name = 'InvalidCharacterError'
  return error
}

/** Encodes a binary string (every char ≤ U+00FF) as padded base64. */
export function btoa(input: unknown): string {
  const text = String(input)
  let out = ''
  for (let i = 0; i < text.length; i += 3) {
    const a = text.charCodeAt(i)
    const b = i + 1 < text.length ? text.charCodeAt(i + 1) : 0
    const c = i + 2 < text.length ? text.charCodeAt(i + 2) : 0
    if (a > 0xff || b > 0xff || c > 0xff) {
      throw invalidCharacter("Failed to execute 'btoa': the string contains characters outside of Latin1")
    }
    const n = (a << 16) | (b << 8) | c
    out += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63)
    out += i + 1 < text.length ? ALPHABET.charAt((n >> 6) & 63) : '='
    out += i + 2 < text.length ? ALPHABET.charAt(n & 63) : '='
  }
  return out
}

/** Decodes base64 (whitespace ignored, padding optional) to a binary string. */
export function atob(input: unknown): string {
  let text = String(input).replace(/[\t\n\f\r ]/g, '')
  if (text.length % 4 === 0) text = text.replace(/==?$/, '')
  if (text.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(text)) {
    throw invalidCharacter("Failed to execute 'atob': the string is not correctly encoded")
  }
  let out = ''
  let acc = 0
  let bits = 0
  for (let i = 0; i < text.length; i++) {
    acc = (acc << 6) | (INDEX[text.charAt(i)] as number)
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out += String.fromCharCode((acc >> bits) & 0xff)
    }
  }
  return out
}
