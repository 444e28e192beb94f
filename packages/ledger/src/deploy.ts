import type { Address, LedgerAddresses } from '@veil/protocol'
import type { Abi, Hex, PublicClient } from 'viem'
import { artifactsHash, Commands, Contracts, Registry } from './artifacts/index.js'
import { LedgerError } from './errors.js'
import type { LedgerWalletClient } from './ledger.js'

export interface DeployLedgerParameters {
  publicClient: PublicClient
  walletClient: LedgerWalletClient
  /** Owner of the registry (manages measurements, KMS signers, clusters); defaults to the deployer. */
  owner?: Address
  /** Accept simulated attestation. Only for development networks. */
  devMode: boolean
}

export interface LedgerDeployment {
  chainId: number
  addresses: LedgerAddresses
  /** Block of the first ledger contract: followers read events from here. */
  deployBlock: number
  /** Hash of the Solidity sources and compiler settings the deployed bytecode came from. */
  artifactsHash: string
  /** Gas used by each deployment transaction. */
  gasUsed: Record<keyof LedgerAddresses, bigint>
}

/** Deploys Registry, Contracts and Commands, wired together, and waits for each receipt. */
export async function deployLedger(params: DeployLedgerParameters): Promise<LedgerDeployment> {
  const { publicClient, walletClient } = params
  const owner = params.owner ?? walletClient.account.address
  const registry = await deployOne(params, Registry.abi, Registry.bytecode, [owner, params.devMode])
  const contracts = await deployOne(params, Contracts.abi, Contracts.bytecode, [registry.address])
  const commands = await deployOne(params, Commands.abi, Commands.bytecode, [contracts.address])
  return {
    chainId: await publicClient.getChainId(),
    addresses: { registry: registry.address, contracts: contracts.address, commands: commands.address },
    deployBlock: Number(registry.blockNumber),
    artifactsHash,
    gasUsed: { registry: registry.gasUsed, contracts: contracts.gasUsed, commands: commands.gasUsed },
  }
}

async function deployOne(
  { publicClient, walletClient }: DeployLedgerParameters,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
): Promise<{ address: Address; blockNumber: bigint; gasUsed: bigint }> {
  const hash = await walletClient.deployContract({ abi, bytecode, args, chain: walletClient.chain })
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 })
  if (receipt.status !== 'success' || !receipt.contractAddress) {
    throw new LedgerError('deploying a ledger contract failed', {
      code: 'LEDGER_DEPLOY_FAILED',
      details: `transaction ${hash} ${receipt.status}`,
    })
  }
  return { address: receipt.contractAddress, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed }
}
