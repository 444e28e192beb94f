import { readContract } from 'viem/actions'
import type { VeilBaseClient } from '../client/baseClient.js'
import { Contracts, explainLedgerError } from '../ledger/abis.js'
import { type ContractInfo, getContractInfo } from './getContractInfo.js'

export interface ListContractsParameters {
  /** Skip this many contracts (ids start at 1). */
  offset?: number | undefined
  /** At most this many (default 100). */
  limit?: number | undefined
}

export interface ListContractsReturnType {
  /** How many contracts the ledger has. */
  total: bigint
  contracts: ContractInfo[]
}

/**
 * Lists deployed contracts from the ledger, oldest first.
 *
 * @example
 * const { total, contracts } = await listContracts(client, { limit: 10 })
 */
export async function listContracts(
  client: VeilBaseClient,
  params: ListContractsParameters = {},
): Promise<ListContractsReturnType> {
  let total: bigint
  try {
    total = await readContract(client.chainClient, {
      address: client.addresses.contracts,
      abi: Contracts.abi,
      functionName: 'contractCount',
    })
  } catch (error) {
    throw explainLedgerError(error, 'reading the contract count')
  }
  const first = BigInt(params.offset ?? 0) + 1n
  const last = first + BigInt(params.limit ?? 100) - 1n
  const ids: bigint[] = []
  for (let id = first; id <= last && id <= total; id++) ids.push(id)
  const contracts = await Promise.all(ids.map((contractId) => getContractInfo(client, { contractId })))
  return { total, contracts }
}
