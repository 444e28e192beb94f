/**
 * EIP-191 version 0x45 ("personal_sign") messages: what `eth_sign`/`personal_sign`, viem's `signMessage`
 * and OpenZeppelin's `MessageHashUtils.toEthSignedMessageHash` agree on. Pure and browser-safe.
 *
 * The signed hash is `keccak256("\x19Ethereum Signed Message:\n" ‖ decimal byte length ‖ message)`. The
 * prefix makes the hash of a message never equal a transaction's or an EIP-712 digest's, so a key that
 * signs messages cannot be tricked into signing either.
 */

import type { Address, Hex } from '@veil/protocol'
import { concat } from './bytes.js'
import {
  type Bytes32,
  checkPrivateKey,
  recoverAddress,
  SignatureInputError,
  signChecked,
} from './ethereum.js'
import { keccak256Unchecked as keccak_256 } from './keccak.js'

const utf8 = new TextEncoder()
const PREFIX = '\x19Ethereum Signed Message:\n'

/** A personal message: text (signed as its UTF-8 bytes, as viem does) or raw bytes. */
export type PersonalMessage = string | Uint8Array

/**
 * The EIP-191 hash of a personal message (viem's `hashMessage`).
 *
 * @example
 * hashPersonalMessage('hello') // keccak256("\x19Ethereum Signed Message:\n5hello")
 */
export function hashPersonalMessage(message: PersonalMessage): Uint8Array {
  const bytes = messageBytes('hashPersonalMessage', message)
  return keccak_256(concat(utf8.encode(`${PREFIX}${bytes.length}`), bytes))
}

/**
 * Signs a personal message (EIP-191) with RFC 6979 deterministic ECDSA: the same key and message always
 * give the same signature. Returns `0x r ‖ s ‖ v`, 65 bytes, `v ∈ {27, 28}`, low `s`; viem's
 * `verifyMessage` and Solidity's `ecrecover` of {@link hashPersonalMessage} accept it.
 *
 * @example
 * const signature = signPersonalMessage(privateKey, 'ETH/USD 3150.25 @ 1767225600')
 * await verifyMessage({ address, message: 'ETH/USD 3150.25 @ 1767225600', signature }) // true
 */
export function signPersonalMessage(privateKey: Bytes32, message: PersonalMessage): Hex {
  const key = checkPrivateKey('signPersonalMessage', privateKey)
  return signChecked(key, hashPersonalMessage(message))
}

/** The address that signed a personal message; same acceptance rules as `recoverAddress`. */
export function recoverPersonalMessageAddress(
  message: PersonalMessage,
  signature: Hex | Uint8Array,
): Address {
  return recoverAddress(hashPersonalMessage(message), signature)
}

function messageBytes(fn: string, message: unknown): Uint8Array {
  if (typeof message === 'string') return utf8.encode(message)
  if (message instanceof Uint8Array) return message
  throw new SignatureInputError(fn, 'message', 'must be a string or a Uint8Array')
}
