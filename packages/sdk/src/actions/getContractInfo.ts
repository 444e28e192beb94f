import type { Address, Hex } from '@veil/protocol'
import { readContract as readLedger } from 'viem/actions'
import type { VeilBaseClient } from '../client/baseClient.js'
import { ContractNotFoundError, InvalidArgumentError } from '../errors.js'
import { Contracts, explainLedgerError } from '../ledger/abis.js'

export interface GetContractInfoParameters {
  contractId: bigint | number | string
}

/** A deployed contract as the ledger records it. */
export interface ContractInfo {
  id: bigint
  owner: Address
  cluster: bigint
  /** Block of the deployment. */
  deployedAt: bigint
  codeHash: Hex
  /** Seconds between scheduling and applying an upgrade. */
  upgradeDelay: bigint
  pendingUpgrade: { codeHash: Hex; readyAt: bigint } | null
  /** The contract's X25519 key (commands are sealed to it); null until the KMS published it. */
  x25519PublicKey: Hex | null
  /** The contract's own secp256k1 address; null until published. */
  signer: Address | null
}

export type GetContractInfoReturnType = ContractInfo
export type GetContractInfoErrorType = ContractNotFoundError | InvalidArgumentError

const ZERO32 = `0x${'0'.repeat(64)}`
const ZERO_ADDRESS = `0x${'0'.repeat(40)}`

/**
 * Reads a contract's ledger record: owner, cluster, code hash, upgrade settings and published keys.
 *
 * @example
 * const info = await getContractInfo(client, { contractId: 1n })
 * info.cluster // 1n
 */
export async function getContractInfo(
  client: VeilBaseClient,
  params: GetContractInfoParameters,
): Promise<GetContractInfoReturnType> {
  const id = toContractId(params.contractId)
  let record: Awaited<ReturnType<typeof readContract>>
  try {
    record = await readContract(client, id)
  } catch (error) {
    const explained = explainLedgerError(error, `reading contract ${id}`)
    if (explained.errorName === 'UnknownContract') throw new ContractNotFoundError(id, { cause: explained })
    throw explained
  }
  const info: ContractInfo = {
    id,
    owner: record.owner,
    cluster: record.cluster,
    deployedAt: record.deployedAt,
    codeHash: record.codeHash,
    upgradeDelay: record.upgradeDelay,
    pendingUpgrade:
      record.pendingCodeHash === ZERO32
        ? null
        : { codeHash: record.pendingCodeHash, readyAt: record.pendingReadyAt },
    x25519PublicKey: record.x25519PublicKey === ZERO32 ? null : record.x25519PublicKey,
    signer: record.signer === ZERO_ADDRESS ? null : record.signer,
  }
  const cached = client.cache.contracts.get(id)
  client.cache.contracts.set(id, { ...cached, cluster: info.cluster })
  return info
}

function readContract(client: VeilBaseClient, id: bigint) {
  return readLedger(client.chainClient, {
    address: client.addresses.contracts,
    abi: Contracts.abi,
    functionName: 'getContract',
    args: [id],
  })
}

/** The contract's cluster (cached: it never changes after deployment). */
export async function getContractCluster(client: VeilBaseClient, contractId: bigint): Promise<bigint> {
  const cached = client.cache.contracts.get(contractId)
  if (cached) return cached.cluster
  return (await getContractInfo(client, { contractId })).cluster
}

/** Parses a contract id given as a bigint, a safe integer or a decimal string. */
export function toContractId(value: bigint | number | string): bigint {
  let id: bigint | undefined
  if (typeof value === 'bigint') id = value
  else if (typeof value === 'number' && Number.isSafeInteger(value)) id = BigInt(value)
  else if (typeof value === 'string' && /^\d{1,20}$/.test(value)) id = BigInt(value)
  if (id === undefined || id <= 0n || id >= 2n ** 64n) {
    throw new InvalidArgumentError(`invalid contract id ${String(value)}`, {
      details: 'contract ids are positive 64-bit integers',
    })
  }
  return id
}
