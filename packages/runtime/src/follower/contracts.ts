import { decodeValue, encodeValue, type Hex } from '@veil/protocol'

/** Public facts about a deployed contract, kept in the state store's plain `contracts` table. */
export interface ContractRecord {
  id: string
  cluster: string
  owner: Hex
  codeHash: Hex
  deployedAt: bigint
  /** Set once the code failed to load: every later command fails with this error. */
  broken?: string
}

export const CONTRACTS_TABLE = 'contracts'
export const CODE_TABLE = 'code'

const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder()

export function encodeContractRecord(record: ContractRecord): Uint8Array {
  return utf8.encode(encodeValue(record))
}

export function decodeContractRecord(bytes: Uint8Array): ContractRecord {
  return decodeValue(utf8Decoder.decode(bytes)) as ContractRecord
}
