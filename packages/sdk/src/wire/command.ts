import { HPKE_EXPORT_LABELS, type HpkeSuite, hpkeCommandInfo } from '@veil/crypto/web'
import {
  type Address,
  base64urlToBytes,
  type ContractEvent,
  decodeValue,
  encodeCommandPayload,
  type Hex,
  PayloadFormat,
  ValueEncodingError,
  VeilError,
} from '@veil/protocol'
import { hexToBytes } from 'viem'
import { openExported, SDK_AEAD_ID, sealOnce } from '../crypto/hpke.js'
import { type ContractErrorInfo, InvalidArgumentError } from '../errors.js'
import { concatBytes, utf8Bytes, utf8Text } from './bytes.js'

/** Length of a receipt key: `Export("veil/v1/receipt", 16)`. */
export const RECEIPT_KEY_LENGTH = 16

export interface SealedCommand {
  /** The bytes for `Commands.submit`: `0x01 ‖ aead ‖ enc ‖ ciphertext`. */
  payload: Uint8Array
  /** `Export("veil/v1/receipt", 16)`: opens the command's sealed receipt. Keep it until the result is in. */
  receiptKey: Uint8Array
}

/**
 * Seals `{ method, args }` to the contract's X25519 key (docs/protocol.md, "Command and init payloads").
 * The sender's address is the AEAD's associated data, so the payload only opens in a transaction sent
 * from `sender`.
 */
export async function sealCommand(params: {
  hpke: HpkeSuite
  contractPublicKey: Uint8Array
  chainId: number
  contracts: Address
  contractId: bigint
  sender: Address
  method: string
  args: readonly unknown[]
}): Promise<SealedCommand> {
  let plain: Uint8Array
  try {
    plain = encodeCommandPayload({ method: params.method, args: [...params.args] })
  } catch (error) {
    throw new InvalidArgumentError(`cannot encode the call to ${params.method}`, {
      details:
        error instanceof ValueEncodingError || error instanceof VeilError ? error.message : String(error),
      hint: 'arguments must be JSON values, bigints or Uint8Arrays',
      cause: error,
    })
  }
  const sealed = await sealOnce(params.hpke, {
    recipientPublicKey: params.contractPublicKey,
    info: hpkeCommandInfo({
      chainId: params.chainId,
      contracts: params.contracts,
      contractId: params.contractId,
    }),
    aad: hexToBytes(params.sender),
    plaintext: plain.subarray(1), // the plain body, without its 0x00 format byte
    exportLabel: HPKE_EXPORT_LABELS.receipt,
    exportLength: RECEIPT_KEY_LENGTH,
  })
  return {
    payload: concatBytes(Uint8Array.of(PayloadFormat.sealed, SDK_AEAD_ID), sealed.enc, sealed.ciphertext),
    receiptKey: sealed.exported,
  }
}

/** What a command's receipt says once opened. */
export type CommandOutcomeBody = (
  | { ok: true; method: string; result: unknown }
  | { ok: false; method: string; error: ContractErrorInfo }
) & {
  /** Absent in sealed bodies: events are public, served in clear next to them (docs/protocol.md). */
  events: ContractEvent[] | undefined
}

/**
 * Opens a sealed receipt body: AES-128-GCM under the receipt key, zero nonce, aad
 * `<txHash lowercase>:<logIndex>`. Throws when it does not open or is not a receipt body.
 */
export async function openCommandReceipt(params: {
  hpke: HpkeSuite
  receiptKey: Uint8Array
  txHash: Hex
  logIndex: number
  sealed: string
}): Promise<CommandOutcomeBody> {
  const aad = utf8Bytes(`${params.txHash.toLowerCase()}:${params.logIndex}`)
  const plaintext = await openExported(params.hpke, params.receiptKey, base64urlToBytes(params.sealed), aad)
  return parseOutcomeBody(decodeValue(utf8Text(plaintext), 'receipt'))
}

/** Validates `{ ok, method, result | error }` (sealed bodies) or a plain receipt's fields with `events`. */
export function parseOutcomeBody(value: unknown): CommandOutcomeBody {
  if (typeof value !== 'object' || value === null) throw new Error('receipt body is not an object')
  const body = value as Record<string, unknown>
  const method = typeof body.method === 'string' ? body.method : ''
  const events = parseEvents(body.events)
  if (body.ok === true) return { ok: true, method, result: body.result ?? null, events }
  if (body.ok === false) return { ok: false, method, error: parseContractError(body.error), events }
  throw new Error('receipt body has no boolean "ok"')
}

export function parseContractError(value: unknown): ContractErrorInfo {
  const error = value as Record<string, unknown> | null
  if (typeof error !== 'object' || error === null || typeof error.code !== 'string') {
    throw new Error('error is not { code, message }')
  }
  return {
    code: error.code,
    message: typeof error.message === 'string' ? error.message : error.code,
    ...(typeof error.stack === 'string' ? { stack: error.stack } : {}),
  }
}

export function parseEvents(value: unknown): ContractEvent[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value)) throw new Error('events is not an array')
  return value.map((event: unknown) => {
    const e = event as Record<string, unknown> | null
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string') throw new Error('malformed event')
    return { name: e.name, data: e.data ?? null }
  })
}
