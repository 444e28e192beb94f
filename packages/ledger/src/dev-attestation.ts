import type { Hex } from '@veil/protocol'
import { encodeAbiParameters, keccak256, stringToHex, toHex } from 'viem'

/**
 * What a worker's attestation quote must bind in its report data (DESIGN §4): the worker's identity
 * address and X25519 key, for this chain and this registry, so a quote cannot be replayed elsewhere.
 */
export function reportData(
  address: Hex,
  x25519PublicKey: Uint8Array | Hex,
  chainId: number,
  registry: Hex,
): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'address' }, { type: 'bytes32' }, { type: 'uint256' }, { type: 'address' }],
      [
        address,
        typeof x25519PublicKey === 'string' ? x25519PublicKey : toHex(x25519PublicKey),
        BigInt(chainId),
        registry,
      ],
    ),
  )
}

const PLACEHOLDER_PREFIX = 'VEIL-DEV-PLACEHOLDER-QUOTE:'

/**
 * DEVELOPMENT ONLY. A stand-in for an attestation quote until simulated and TDX attestation exist: a
 * marker plus the report data, unsigned. It proves nothing about the hardware; only the devnet's dev
 * gatekeeper accepts it, and only on a dev-mode ledger.
 */
export function placeholderQuote(reportDataHash: Hex): Hex {
  return `${stringToHex(PLACEHOLDER_PREFIX)}${reportDataHash.slice(2)}` as Hex
}

/** The report data a placeholder quote carries, or undefined for anything else. */
export function parsePlaceholderQuote(quote: Hex): Hex | undefined {
  const prefix = stringToHex(PLACEHOLDER_PREFIX)
  if (!quote.startsWith(prefix) || quote.length !== prefix.length + 64) return undefined
  return `0x${quote.slice(prefix.length)}` as Hex
}

/** The measurement a development worker reports: a hash of the runtime's name and version. */
export function devMeasurement(version: string): Hex {
  return keccak256(stringToHex(`veil-worker/${version}`))
}
