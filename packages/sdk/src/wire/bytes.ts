const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

export function utf8Bytes(text: string): Uint8Array {
  // Copy into this realm's Uint8Array: TextEncoder may belong to another realm (a vm context, an iframe),
  // and the value encoding only accepts plain Uint8Arrays of its own realm.
  return Uint8Array.from(utf8.encode(text))
}

export function utf8Text(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes)
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
