/** Byte helpers shared by the quote parser and the collateral parser. */

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/

/** Decodes even-length hex (no 0x); `undefined` when `text` is not hex. */
export function fromHex(text: string): Uint8Array | undefined {
  if (!HEX_RE.test(text)) return undefined
  return new Uint8Array(Buffer.from(text, 'hex'))
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function isAllZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false
  return true
}

/** `(value & mask) === (expected & mask)`, byte by byte; false when lengths differ. */
export function maskedEqual(value: Uint8Array, expected: Uint8Array, mask: Uint8Array): boolean {
  if (value.length !== mask.length || expected.length !== mask.length) return false
  for (let i = 0; i < mask.length; i++) {
    const m = mask[i] ?? 0
    if (((value[i] ?? 0) & m) !== ((expected[i] ?? 0) & m)) return false
  }
  return true
}

/** Unix seconds → ISO 8601 (for messages). */
export function isoTime(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000)
  return Number.isNaN(date.getTime()) ? String(unixSeconds) : date.toISOString().replace('.000Z', 'Z')
}
