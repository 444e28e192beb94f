/** A 0x-prefixed hex string. */
export type Hex = `0x${string}`
/** A 0x-prefixed, 20-byte hex address. */
export type Address = `0x${string}`

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/
const HEX_RE = /^0x(?:[0-9a-fA-F]{2})*$/

export function isAddress(value: unknown): value is Address {
  return typeof value === 'string' && ADDRESS_RE.test(value)
}

export function isHex(value: unknown): value is Hex {
  return typeof value === 'string' && HEX_RE.test(value)
}
