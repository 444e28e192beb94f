/**
 * Record codecs: how a plaintext value of each table becomes raw on-disk bytes and back, and which bytes
 * it contributes to the state digest. Shared by the block writer, committed reads and digest recomputation
 * so that all three agree byte for byte.
 */
import { decodeReceiptRecord, encodeReceiptRecord, receiptElementInput, stateElementInput } from './layout.js'
import { type ContractStateKeys, open, receiptAssociatedData, seal, stateAssociatedData } from './sealing.js'

/** Seals a state value for record key (contract, hkey). `blockHash` feeds the synthetic nonce. */
export function sealStateValue(
  keys: ContractStateKeys,
  hkey: Uint8Array,
  value: Uint8Array,
  blockHash: Uint8Array,
): Buffer {
  return seal(keys, stateAssociatedData(keys.contractId, hkey), value, blockHash)
}

/** Opens a state record; throws `StateIntegrityError` if it was not sealed for exactly (contract, hkey). */
export function openStateValue(keys: ContractStateKeys, hkey: Uint8Array, raw: Uint8Array): Buffer {
  return open(keys, stateAssociatedData(keys.contractId, hkey), raw, 'state value')
}

export function stateElement(keys: ContractStateKeys, hkey: Uint8Array, value: Uint8Array): Buffer {
  return stateElementInput(keys.contractId, keys.digestSalt, hkey, value)
}

/**
 * Inside a block writer a receipt's plaintext "value" is `u8 n ‖ contractId ‖ text`, so one byte string
 * captures both fields (they change together, and an overwrite must subtract the old contract's element).
 */
export function encodeReceiptValue(contractId: string, text: Uint8Array): Buffer {
  return encodeReceiptRecord(contractId, text)
}

export function decodeReceiptValue(value: Uint8Array): { contractId: string; text: Buffer } {
  const { contractId, sealed } = decodeReceiptRecord(value)
  return { contractId, text: sealed }
}

/** Raw `receipts` record: contract id in the clear, text sealed under that contract's keys. */
export function sealReceipt(
  keys: ContractStateKeys,
  txHash: Uint8Array,
  text: Uint8Array,
  blockHash: Uint8Array,
): Buffer {
  return encodeReceiptRecord(
    keys.contractId,
    seal(keys, receiptAssociatedData(txHash, keys.contractId), text, blockHash),
  )
}

/** Opens a raw `receipts` record; `keysFor` resolves the contract named in the record. */
export function openReceipt(
  keysFor: (contractId: string) => ContractStateKeys,
  txHash: Uint8Array,
  raw: Uint8Array,
): { contractId: string; text: Buffer } {
  const { contractId, sealed } = decodeReceiptRecord(raw)
  const keys = keysFor(contractId)
  return { contractId, text: open(keys, receiptAssociatedData(txHash, contractId), sealed, 'receipt') }
}

export function receiptElement(keys: ContractStateKeys, txHash: Uint8Array, text: Uint8Array): Buffer {
  return receiptElementInput(txHash, keys.contractId, keys.digestSalt, text)
}
