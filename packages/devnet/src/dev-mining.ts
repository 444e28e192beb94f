/**
 * Mining on the devnet: the mining contracts with short epochs (`DEVNET_MINING_PARAMS`: 10 s epochs,
 * 30 s unbonding), and for every worker a pool of its operator with the worker bound and staked from the
 * genesis supply, so that heartbeats earn rewards within a minute of `veil dev`.
 */
import {
  DEVNET_MINING_PARAMS,
  deployMining,
  devAccount,
  explainMiningError,
  getMining,
  type LedgerWalletClient,
  VEIL,
} from '@veil/ledger'
import type { Hex, Logger, NetworkMining } from '@veil/protocol'
import { type Chain, createWalletClient, type PublicClient, type Transport } from 'viem'

/** What each devnet pool is staked with (the genesis holder, dev account 0, pays). */
export const DEVNET_POOL_STAKE = 1_000n * VEIL
/** What the devnet funds its example contract's balance with (Billing), from the genesis holder. */
export const DEVNET_EXAMPLE_FUNDING = 100n * VEIL
/** VEIL the devnet gives dev account 1 (the CLI's default account), so `veil contract fund` just works. */
export const DEVNET_CLIENT_VEIL = 1_000n * VEIL
/** The devnet pools' commission: 10 %. */
export const DEVNET_POOL_COMMISSION_BPS = 1_000

/** Waits for a devnet transaction; a revert throws (the caller explains it). */
async function mined(publicClient: PublicClient, sent: Promise<Hex>): Promise<void> {
  const hash = await sent
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 })
  if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
}

export async function deployDevnetMining(options: {
  publicClient: PublicClient
  walletClient: LedgerWalletClient
  registry: Hex
  contracts: Hex
}): Promise<NetworkMining> {
  try {
    const deployment = await deployMining({ ...options, params: DEVNET_MINING_PARAMS })
    const mining = getMining({
      publicClient: options.publicClient,
      walletClient: options.walletClient,
      addresses: deployment.addresses,
    })
    await mined(
      options.publicClient,
      mining.token.write.transfer([devAccount(1).address, DEVNET_CLIENT_VEIL]),
    )
    return deployment.addresses
  } catch (error) {
    throw explainMiningError(error, 'deploying the mining contracts')
  }
}

/** Funds a contract's Billing balance with `amount` from `funder` (approve, then fund). */
export async function fundDevnetContract(options: {
  publicClient: PublicClient
  funder: LedgerWalletClient
  addresses: NetworkMining
  contractId: bigint
  amount: bigint
}): Promise<void> {
  const { publicClient, addresses, amount } = options
  const mining = getMining({ publicClient, walletClient: options.funder, addresses })
  const billing = mining.billing
  if (!billing) return
  try {
    await mined(publicClient, mining.token.write.approve([billing.address, amount]))
    await mined(publicClient, billing.write.fund([options.contractId, amount]))
  } catch (error) {
    throw explainMiningError(error, `funding contract ${options.contractId}`)
  }
}

/**
 * Gives each worker not yet in a pool a pool of its operator (dev account `operatorIndex(i)`), binds
 * it, and stakes `DEVNET_POOL_STAKE` there. Idempotent: bound workers are left alone.
 */
export async function bootstrapDevnetPools(options: {
  publicClient: PublicClient
  chain: Chain
  transport: Transport
  owner: LedgerWalletClient
  addresses: NetworkMining
  workers: readonly { address: Hex; operatorIndex: number }[]
  logger: Logger
}): Promise<{ bound: number }> {
  const { publicClient, addresses } = options
  const owner = getMining({ publicClient, walletClient: options.owner, addresses })
  let bound = 0
  for (const worker of options.workers) {
    const info = await owner.pools.read.workerInfo([worker.address])
    if (info.pool !== 0) continue
    const account = devAccount(worker.operatorIndex)
    const walletClient = createWalletClient({ account, chain: options.chain, transport: options.transport })
    const operator = getMining({ publicClient, walletClient, addresses })
    try {
      const { result: pool } = await operator.pools.simulate.createPool([DEVNET_POOL_COMMISSION_BPS], {
        account,
      })
      await mined(publicClient, operator.pools.write.createPool([DEVNET_POOL_COMMISSION_BPS]))
      await mined(publicClient, operator.pools.write.bindWorker([pool, worker.address]))
      await mined(publicClient, owner.token.write.transfer([account.address, DEVNET_POOL_STAKE]))
      await mined(publicClient, operator.token.write.approve([addresses.pools, DEVNET_POOL_STAKE]))
      await mined(publicClient, operator.pools.write.deposit([pool, DEVNET_POOL_STAKE]))
      options.logger.info('devnet pool ready', { pool, worker: worker.address, operator: account.address })
      bound++
    } catch (error) {
      throw explainMiningError(error, `setting up the pool of worker ${worker.address}`)
    }
  }
  return { bound }
}
