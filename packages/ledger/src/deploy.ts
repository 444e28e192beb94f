import type { Address, LedgerAddresses } from '@veil/protocol'
import { type Abi, getAddress, type Hex, type PublicClient } from 'viem'
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
  const registry = await deployArtifact(params, 'a ledger contract', Registry.abi, Registry.bytecode, [
    owner,
    params.devMode,
  ])
  const contracts = await deployArtifact(params, 'a ledger contract', Contracts.abi, Contracts.bytecode, [
    registry.address,
  ])
  const commands = await deployArtifact(params, 'a ledger contract', Commands.abi, Commands.bytecode, [
    contracts.address,
  ])
  return {
    chainId: await publicClient.getChainId(),
    addresses: { registry: registry.address, contracts: contracts.address, commands: commands.address },
    deployBlock: Number(registry.blockNumber),
    artifactsHash,
    gasUsed: { registry: registry.gasUsed, contracts: contracts.gasUsed, commands: commands.gasUsed },
  }
}

/**
 * @internal Deploys one compiled contract and waits for it; `what` names it in the error. Shared by
 * `deployLedger` and `deployMining`.
 */
export async function deployArtifact(
  { publicClient, walletClient }: Pick<DeployLedgerParameters, 'publicClient' | 'walletClient'>,
  what: string,
  abi: Abi,
  bytecode: Hex,
  args: readonly unknown[],
): Promise<{ address: Address; blockNumber: bigint; gasUsed: bigint }> {
  const hash = await walletClient.deployContract({ abi, bytecode, args, chain: walletClient.chain })
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 })
  if (receipt.status !== 'success' || !receipt.contractAddress) {
    throw new LedgerError(`deploying ${what} failed`, {
      code: 'LEDGER_DEPLOY_FAILED',
      details: `transaction ${hash} ${receipt.status}`,
    })
  }
  return {
    address: getAddress(receipt.contractAddress),
    blockNumber: receipt.blockNumber,
    gasUsed: receipt.gasUsed,
  }
}
