import type { LedgerAddresses } from '@veil/protocol'
import { type Account, type Chain, getContract, type PublicClient, type Transport, type WalletClient } from 'viem'
import { Commands, Contracts, Registry } from './artifacts/index.js'

export type LedgerWalletClient = WalletClient<Transport, Chain | undefined, Account>

/**
 * Typed handles on the three ledger contracts: `.read.*`, `.write.*` (with a wallet), `.simulate.*`,
 * `.estimateGas.*`, and event helpers, all typed from the compiled ABIs.
 *
 * @example
 * const ledger = getLedger({ publicClient, walletClient, addresses })
 * const hash = await ledger.registry.write.createCluster()
 */
export function getLedger(params: { publicClient: PublicClient; walletClient?: LedgerWalletClient; addresses: LedgerAddresses }) {
  const client = params.walletClient
    ? { public: params.publicClient, wallet: params.walletClient }
    : { public: params.publicClient }
  return {
    addresses: params.addresses,
    registry: getContract({ address: params.addresses.registry, abi: Registry.abi, client }),
    contracts: getContract({ address: params.addresses.contracts, abi: Contracts.abi, client }),
    commands: getContract({ address: params.addresses.commands, abi: Commands.abi, client }),
  }
}

export type Ledger = ReturnType<typeof getLedger>

/** Worker status as stored by the Registry (`enum WorkerStatus`). */
export const WorkerStatus = { None: 0, Pending: 1, Active: 2, Offline: 3, Revoked: 4 } as const
export type WorkerStatusName = keyof typeof WorkerStatus
export function workerStatusName(status: number): WorkerStatusName {
  const names = Object.keys(WorkerStatus) as WorkerStatusName[]
  const name = names[status]
  if (!name) throw new RangeError(`unknown worker status ${status}`)
  return name
}
