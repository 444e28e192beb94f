import type { LedgerAddresses } from '@veil/protocol'
import {
  type Account,
  type Chain,
  getContract,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem'
import { Commands, Contracts, Registry } from './artifacts/index.js'

export type LedgerWalletClient = WalletClient<Transport, Chain, Account>

function writable(publicClient: PublicClient, walletClient: LedgerWalletClient, addresses: LedgerAddresses) {
  const client = { public: publicClient, wallet: walletClient }
  return {
    addresses,
    registry: getContract({ address: addresses.registry, abi: Registry.abi, client }),
    contracts: getContract({ address: addresses.contracts, abi: Contracts.abi, client }),
    commands: getContract({ address: addresses.commands, abi: Commands.abi, client }),
  }
}

function readonly(publicClient: PublicClient, addresses: LedgerAddresses) {
  const client = { public: publicClient }
  return {
    addresses,
    registry: getContract({ address: addresses.registry, abi: Registry.abi, client }),
    contracts: getContract({ address: addresses.contracts, abi: Contracts.abi, client }),
    commands: getContract({ address: addresses.commands, abi: Commands.abi, client }),
  }
}

/** Typed handles with `.read`, `.write`, `.simulate`, `.estimateGas` and event helpers. */
export type Ledger = ReturnType<typeof writable>
/** Typed handles with `.read`, `.simulate` and event helpers only. */
export type ReadonlyLedger = ReturnType<typeof readonly>

/**
 * Typed handles on the three ledger contracts, typed from the compiled ABIs. With a wallet client the
 * handles can also write.
 *
 * @example
 * const ledger = getLedger({ publicClient, walletClient, addresses })
 * const hash = await ledger.registry.write.createCluster()
 */
export function getLedger(params: {
  publicClient: PublicClient
  walletClient: LedgerWalletClient
  addresses: LedgerAddresses
}): Ledger
export function getLedger(params: { publicClient: PublicClient; addresses: LedgerAddresses }): ReadonlyLedger
export function getLedger(params: {
  publicClient: PublicClient
  walletClient?: LedgerWalletClient
  addresses: LedgerAddresses
}): Ledger | ReadonlyLedger {
  return params.walletClient
    ? writable(params.publicClient, params.walletClient, params.addresses)
    : readonly(params.publicClient, params.addresses)
}

/** Worker status as stored by the Registry (`enum WorkerStatus`). */
export const WorkerStatus = { None: 0, Pending: 1, Active: 2, Offline: 3, Revoked: 4 } as const
export type WorkerStatusName = keyof typeof WorkerStatus
export function workerStatusName(status: number): WorkerStatusName {
  const names = Object.keys(WorkerStatus) as WorkerStatusName[]
  const name = names[status]
  if (!name) throw new RangeError(`unknown worker status ${status}`)
  return name
}
