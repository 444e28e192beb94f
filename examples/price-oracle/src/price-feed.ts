import {
  type Account,
  type Address,
  BaseError,
  type Chain,
  ContractFunctionRevertedError,
  type Hash,
  type PublicClient,
  type Transport,
  type WalletClient,
  zeroAddress,
} from 'viem'
import { priceFeedAbi, priceFeedBytecode } from './artifacts/PriceFeed.js'

export { priceFeedAbi, priceFeedBytecode }

export interface DeployPriceFeedParameters {
  /** Pays for the deployment and becomes the feed's owner (who may rotate the updater). */
  walletClient: WalletClient<Transport, Chain | undefined, Account>
  /** Waits for the deployment receipt. */
  publicClient: PublicClient
  /** The only address allowed to push answers: the price-oracle Veil contract's `ctx.contract.address`. */
  updater: Address
  /** Decimals of every answer; 8 (as Chainlink's USD feeds) unless given. */
  decimals?: number
  /** What the answer measures, e.g. `'ETH / USD'`; empty unless given. */
  description?: string
}

export interface DeployPriceFeedReturnType {
  address: Address
  txHash: Hash
}

/** The latest round of a `PriceFeed`. */
export interface PriceFeedRound {
  /** Round number, counting from 1. */
  roundId: bigint
  /** The price, scaled by the feed's `decimals`. */
  answer: bigint
  /** When the Veil contract observed the price off-chain (unix seconds). */
  observedAt: number
  /** Timestamp of the block that stored the answer (unix seconds). */
  updatedAt: number
}

/**
 * Deploys `PriceFeed` and waits until it is mined.
 *
 * @example
 * const { address } = await deployPriceFeed({ walletClient, publicClient, updater, description: 'ETH / USD' })
 */
export async function deployPriceFeed(params: DeployPriceFeedParameters): Promise<DeployPriceFeedReturnType> {
  const { walletClient, publicClient, updater, decimals = 8, description = '' } = params
  if (updater === zeroAddress) {
    throw new TypeError('deployPriceFeed: updater must not be the zero address (nobody could push prices)')
  }
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 255) {
    throw new RangeError(`deployPriceFeed: decimals must be an integer 0..255 (uint8), got ${decimals}`)
  }
  const txHash = await walletClient.deployContract({
    abi: priceFeedAbi,
    bytecode: priceFeedBytecode,
    args: [updater, decimals, description],
    chain: walletClient.chain ?? null,
  })
  const receipt = await publicClient.waitForTransactionReceipt({ hash: txHash })
  if (receipt.status !== 'success' || !receipt.contractAddress) {
    throw new Error(`deployPriceFeed: deployment transaction ${txHash} ${receipt.status}`)
  }
  return { address: receipt.contractAddress, txHash }
}

/**
 * Reads the feed's latest round, or `undefined` if no answer has been pushed yet (the contract reverts
 * with `NoData`). Any other failure is thrown.
 */
export async function readLatest(
  publicClient: PublicClient,
  address: Address,
): Promise<PriceFeedRound | undefined> {
  try {
    const [roundId, answer, startedAt, updatedAt] = await publicClient.readContract({
      address,
      abi: priceFeedAbi,
      functionName: 'latestRoundData',
    })
    // PriceFeed reports the off-chain observation time as Chainlink's `startedAt`.
    return { roundId, answer, observedAt: Number(startedAt), updatedAt: Number(updatedAt) }
  } catch (error) {
    const reverted =
      error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined
    if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName === 'NoData') {
      return undefined
    }
    throw error
  }
}
