import { VeilError } from './errors.js'
import type { Hex } from './hex.js'
import { decodeValue, encodeValue, ValueEncodingError } from './value.js'

/**
 * First byte of every command and init payload on the ledger: how the rest is encoded. `plain` carries
 * the call as canonical JSON (development, and until request encryption lands); `sealed` is reserved for
 * payloads HPKE-sealed to the contract's key.
 */
export const PayloadFormat = { plain: 0x00, sealed: 0x01 } as const

/** The longest method name a command may name. */
export const MAX_METHOD_NAME = 128
const METHOD_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/

export interface CommandCall {
  method: string
  args: unknown[]
}

export class PayloadError extends VeilError {
  override name = 'PayloadError'
  constructor(shortMessage: string, details?: string) {
    super(shortMessage, {
      code: 'INVALID_PAYLOAD',
      ...(details ? { details } : {}),
      hint: 'encode payloads with encodeCommandPayload / encodeInitPayload from @veil/protocol',
    })
  }
}

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

function checkMethod(method: unknown): asserts method is string {
  if (
    typeof method !== 'string' ||
    method.length === 0 ||
    method.length > MAX_METHOD_NAME ||
    !METHOD_RE.test(method)
  ) {
    throw new PayloadError(
      'invalid method name',
      `expected an identifier of 1..${MAX_METHOD_NAME} characters, got ${JSON.stringify(method)}`,
    )
  }
}

/** Encodes a command call as a plain payload: `0x00 || utf8(encodeValue({ method, args }))`. */
export function encodeCommandPayload(call: CommandCall): Uint8Array {
  checkMethod(call.method)
  if (!Array.isArray(call.args)) throw new PayloadError('command arguments must be an array')
  return withFormat(
    PayloadFormat.plain,
    utf8.encode(encodeValue({ method: call.method, args: call.args }, 'args')),
  )
}

export type DecodedPayload<T> = { format: 'plain'; value: T } | { format: 'sealed'; body: Uint8Array }

/** Decodes a command payload; a sealed payload is returned as-is for the caller to open. */
export function decodeCommandPayload(payload: Uint8Array): DecodedPayload<CommandCall> {
  const decoded = decodePayload(payload)
  if (decoded.format === 'sealed') return decoded
  const value = decoded.value as Partial<CommandCall> | null
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PayloadError('command payload must encode an object { method, args }')
  }
  checkMethod(value.method)
  if (!Array.isArray(value.args)) throw new PayloadError('command payload "args" must be an array')
  return { format: 'plain', value: { method: value.method, args: value.args } }
}

/** Encodes the argument of a contract's `init` (`undefined` → empty payload, meaning "no argument"). */
export function encodeInitPayload(args: unknown): Uint8Array {
  if (args === undefined) return new Uint8Array(0)
  return withFormat(PayloadFormat.plain, utf8.encode(encodeValue(args, 'init')))
}

export function decodeInitPayload(payload: Uint8Array): DecodedPayload<unknown> {
  if (payload.length === 0) return { format: 'plain', value: undefined }
  return decodePayload(payload)
}

function decodePayload(payload: Uint8Array): DecodedPayload<unknown> {
  const format = payload[0]
  if (format === PayloadFormat.sealed) return { format: 'sealed', body: payload.subarray(1) }
  if (format !== PayloadFormat.plain) {
    throw new PayloadError(
      'unknown payload format',
      `first byte 0x${(format ?? 0).toString(16).padStart(2, '0')}`,
    )
  }
  let text: string
  try {
    text = utf8Decoder.decode(payload.subarray(1))
  } catch {
    throw new PayloadError('payload is not valid UTF-8')
  }
  try {
    return { format: 'plain', value: decodeValue(text, 'payload') }
  } catch (error) {
    throw new PayloadError(
      'payload is not valid Veil JSON',
      error instanceof ValueEncodingError ? error.message : String(error),
    )
  }
}

function withFormat(format: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1)
  out[0] = format
  out.set(body, 1)
  return out
}

/** An event a command emitted with `ctx.emit`. */
export interface ContractEvent {
  name: string
  data: unknown
}

/**
 * What a worker records for every `init` and command it executes, identical on every worker of the
 * cluster. Fetched by transaction hash; a transaction may carry several Veil events, hence `logIndex`.
 */
export interface CommandReceipt {
  version: 1
  kind: 'init' | 'command'
  txHash: Hex
  blockNumber: bigint
  blockHash: Hex
  logIndex: number
  contractId: string
  /** Per-contract command sequence number from the ledger (0 for init). */
  seq: bigint
  sender: Hex
  method: string
  ok: boolean
  result?: unknown
  error?: { code: string; message: string; stack?: string }
  events: ContractEvent[]
  fuel: number
  /**
   * On a network with billing: what the command's fuel cost the contract's balance, in VEIL base units
   * (fuel × the fuel price in force). Absent where nothing was charged.
   */
  charge?: bigint
  /** The worker's state digest right after this command. */
  stateDigest: Hex
  /**
   * For a sealed command: `{ ok, method, result | error }` sealed to the sender's receipt key (see
   * docs/protocol.md). The API serves only this, never the clear fields, for sealed commands.
   */
  sealed?: Uint8Array
}
