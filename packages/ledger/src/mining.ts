/**
 * Secure worker mining and billing (DESIGN §10): the VEIL token, staking pools, per-epoch rewards and
 * contract billing. Deploys the four contracts wired together, gives typed viem handles on them, and models the reward split in plain
 * TypeScript so that tests can check the chain against it.
 */
import type { Address } from '@veil/protocol'
import {
  getContract,
  type Hex,
  type Log,
  type PublicClient,
  parseEventLogs,
  type TransactionReceipt,
} from 'viem'
import { Billing, Rewards, StakingPools, VeilToken } from './artifacts/index.js'
import { deployArtifact } from './deploy.js'
import { explainLedgerError, LedgerError } from './errors.js'
import type { LedgerWalletClient } from './ledger.js'

export { Billing, Rewards, StakingPools, VeilToken } from './artifacts/index.js'

/** One whole VEIL (18 decimals). */
export const VEIL = 10n ** 18n
/** Fixed-point scale of the stake factor. */
export const WAD = 10n ** 18n
/** Basis points in one whole. */
export const BPS = 10_000

/** Parameters fixed (or first set) when the mining contracts are deployed. Amounts in wei of VEIL. */
export interface MiningParams {
  /** Maximum total supply of VEIL. */
  supplyCap: bigint
  /** Minted once at deployment to the genesis holder, so that the first pools can be staked at all. */
  genesisSupply: bigint
  /** Seconds per epoch. */
  epochSeconds: number
  /** Tokens shared per epoch among the workers that heartbeated in it. */
  emissionPerEpoch: bigint
  /** Bounds the owner can move the emission within, fixed for good at deployment. */
  minEmission: bigint
  maxEmission: bigint
  /** Epochs missed in a row after which anyone can report a worker offline. */
  offlineAfterEpochs: number
  /** Share of the offline worker's minimum stake slashed from its pool, in basis points. */
  slashBps: number
  /** Cap of the stake factor (WAD): how much over-staking a pool can raise its workers' weight. */
  maxStakeFactor: bigint
  /** Highest pool commission, in basis points. */
  maxCommissionBps: number
  /** Seconds before a commission raise applies (≥ `unbondingSeconds`); cuts apply at once. */
  commissionRaiseDelaySeconds: number
  /** Seconds between a withdrawal request and its payout. */
  unbondingSeconds: number
  /** minStake(score) = minStakeBase + score × minStakePerScore. */
  minStakeBase: bigint
  minStakePerScore: bigint
  /** Token units charged per unit of fuel, for commands and queries (Billing). */
  fuelPrice: bigint
  /** Bounds the owner can move the fuel price within, fixed for good at deployment. */
  minFuelPrice: bigint
  maxFuelPrice: bigint
}

/** Parameters for a public network: hour-long epochs, a week of unbonding. */
export const DEFAULT_MINING_PARAMS: Readonly<MiningParams> = Object.freeze({
  supplyCap: 1_000_000_000n * VEIL,
  genesisSupply: 100_000_000n * VEIL,
  epochSeconds: 3_600,
  emissionPerEpoch: 1_000n * VEIL,
  minEmission: 100n * VEIL,
  maxEmission: 10_000n * VEIL,
  offlineAfterEpochs: 3,
  slashBps: 1_000,
  maxStakeFactor: 2n * WAD,
  maxCommissionBps: 3_000,
  commissionRaiseDelaySeconds: 7 * 24 * 3_600,
  unbondingSeconds: 7 * 24 * 3_600,
  // A reference machine scores about 1,000, so it needs 10,000 + 10,000 VEIL.
  minStakeBase: 10_000n * VEIL,
  minStakePerScore: 10n * VEIL,
  // 1 gwei of VEIL per fuel: a command's whole 10M-fuel budget costs 0.01 VEIL.
  fuelPrice: 10n ** 9n,
  minFuelPrice: 0n,
  maxFuelPrice: 10n ** 15n,
})

/** Parameters for `veil dev`: 10 s epochs, 30 s unbonding, offline after 3 missed epochs. */
export const DEVNET_MINING_PARAMS: Readonly<MiningParams> = Object.freeze({
  ...DEFAULT_MINING_PARAMS,
  epochSeconds: 10,
  emissionPerEpoch: 100n * VEIL,
  minEmission: 1n * VEIL,
  maxEmission: 10_000n * VEIL,
  maxCommissionBps: 5_000,
  commissionRaiseDelaySeconds: 30,
  unbondingSeconds: 30,
  // A reference machine (score ≈ 1,000) needs 100 + 100 VEIL.
  minStakeBase: 100n * VEIL,
  minStakePerScore: VEIL / 10n,
})

/** Addresses of the mining contracts. */
export interface MiningAddresses {
  token: Address
  pools: Address
  rewards: Address
  /** Absent in networks deployed before billing existed. */
  billing?: Address
}

export interface DeployMiningParameters {
  publicClient: PublicClient
  walletClient: LedgerWalletClient
  /** The Registry the workers are registered in. */
  registry: Address
  /** The ledger's Contracts registry (Billing checks contract ids and clusters against it). */
  contracts: Address
  /** Overrides of `DEFAULT_MINING_PARAMS` (pass `DEVNET_MINING_PARAMS` for a devnet). */
  params?: Partial<MiningParams>
  /**
   * Owner of StakingPools, Rewards and Billing (minimum stake, emission, treasury, fuel price); defaults
   * to the deployer.
   * Another owner gets a two-step transfer it must accept with `acceptOwnership()`.
   */
  owner?: Address
  /** Receives slashed stake; defaults to the owner. */
  treasury?: Address
  /** Receives the genesis supply; defaults to the deployer. */
  genesisHolder?: Address
}

export interface MiningDeployment {
  addresses: Required<MiningAddresses>
  /** Block of the first mining contract: indexers read events from here. */
  deployBlock: number
  params: MiningParams
  /** Gas used by each deployment transaction. */
  gasUsed: Record<keyof MiningAddresses, bigint>
}

/**
 * Deploys VeilToken, StakingPools, Rewards and Billing, points the pools at the rewards and billing
 * contracts and makes the rewards contract the token's only minter (which renounces the token's
 * ownership).
 *
 * @example
 * const mining = await deployMining({ publicClient, walletClient, registry, params: DEVNET_MINING_PARAMS })
 */
export async function deployMining(parameters: DeployMiningParameters): Promise<MiningDeployment> {
  const { walletClient } = parameters
  const params: MiningParams = { ...DEFAULT_MINING_PARAMS, ...parameters.params }
  checkParams(params)
  const deployer = walletClient.account.address
  const owner = parameters.owner ?? deployer
  const token = await deployArtifact(parameters, 'a mining contract', VeilToken.abi, VeilToken.bytecode, [
    deployer,
    params.supplyCap,
    parameters.genesisHolder ?? deployer,
    params.genesisSupply,
  ])
  const pools = await deployArtifact(
    parameters,
    'a mining contract',
    StakingPools.abi,
    StakingPools.bytecode,
    [
      deployer,
      parameters.registry,
      token.address,
      params.maxCommissionBps,
      BigInt(params.commissionRaiseDelaySeconds),
      BigInt(params.unbondingSeconds),
      params.minStakeBase,
      params.minStakePerScore,
    ],
  )
  const rewards = await deployArtifact(parameters, 'a mining contract', Rewards.abi, Rewards.bytecode, [
    deployer,
    parameters.registry,
    token.address,
    pools.address,
    {
      epochLength: BigInt(params.epochSeconds),
      emissionPerEpoch: params.emissionPerEpoch,
      minEmission: params.minEmission,
      maxEmission: params.maxEmission,
      offlineAfterEpochs: BigInt(params.offlineAfterEpochs),
      slashBps: params.slashBps,
      maxStakeFactor: params.maxStakeFactor,
      treasury: parameters.treasury ?? owner,
    },
  ])
  const billing = await deployArtifact(parameters, 'a mining contract', Billing.abi, Billing.bytecode, [
    deployer,
    parameters.registry,
    parameters.contracts,
    token.address,
    pools.address,
    params.fuelPrice,
    params.minFuelPrice,
    params.maxFuelPrice,
  ])
  const addresses = {
    token: token.address,
    pools: pools.address,
    rewards: rewards.address,
    billing: billing.address,
  }
  const mining = getMining({ publicClient: parameters.publicClient, walletClient, addresses })
  await confirm(parameters, mining.pools.write.setRewards([rewards.address]), 'StakingPools.setRewards')
  await confirm(parameters, mining.pools.write.setBilling([billing.address]), 'StakingPools.setBilling')
  await confirm(parameters, mining.token.write.setMinter([rewards.address]), 'VeilToken.setMinter')
  if (owner.toLowerCase() !== deployer.toLowerCase()) {
    await confirm(parameters, mining.pools.write.transferOwnership([owner]), 'StakingPools.transferOwnership')
    await confirm(parameters, mining.rewards.write.transferOwnership([owner]), 'Rewards.transferOwnership')
    const billingContract = getContract({
      address: billing.address,
      abi: Billing.abi,
      client: { public: parameters.publicClient, wallet: walletClient },
    })
    await confirm(parameters, billingContract.write.transferOwnership([owner]), 'Billing.transferOwnership')
  }
  return {
    addresses,
    deployBlock: Number(token.blockNumber),
    params,
    gasUsed: {
      token: token.gasUsed,
      pools: pools.gasUsed,
      rewards: rewards.gasUsed,
      billing: billing.gasUsed,
    },
  }
}

function checkParams(p: MiningParams): void {
  const fail = (details: string) => {
    throw new LedgerError('invalid mining parameters', {
      code: 'MINING_PARAMS_INVALID',
      details,
      hint: 'start from DEFAULT_MINING_PARAMS or DEVNET_MINING_PARAMS and change only what you need',
    })
  }
  const positive = (name: keyof MiningParams, value: number) => {
    if (!Number.isSafeInteger(value) || value <= 0) fail(`${name} must be a positive integer, got ${value}`)
  }
  positive('epochSeconds', p.epochSeconds)
  positive('offlineAfterEpochs', p.offlineAfterEpochs)
  if (!Number.isSafeInteger(p.unbondingSeconds) || p.unbondingSeconds < 0) {
    fail(`unbondingSeconds must be a non-negative integer, got ${p.unbondingSeconds}`)
  }
  if (p.commissionRaiseDelaySeconds < p.unbondingSeconds) {
    fail(
      'commissionRaiseDelaySeconds must be at least unbondingSeconds, so delegators can leave before a raise',
    )
  }
  for (const name of ['slashBps', 'maxCommissionBps'] as const) {
    const value = p[name]
    if (!Number.isInteger(value) || value < 0 || value > BPS) fail(`${name} must be 0..${BPS}, got ${value}`)
  }
  if (!(p.minEmission <= p.emissionPerEpoch && p.emissionPerEpoch <= p.maxEmission)) {
    fail('emissionPerEpoch must lie within [minEmission, maxEmission]')
  }
  if (p.maxStakeFactor < WAD || p.maxStakeFactor > 100n * WAD) fail('maxStakeFactor must be 1..100 WAD')
  if (p.genesisSupply > p.supplyCap) fail('genesisSupply exceeds supplyCap')
  if (!(p.minFuelPrice <= p.fuelPrice && p.fuelPrice <= p.maxFuelPrice)) {
    fail('fuelPrice must lie within [minFuelPrice, maxFuelPrice]')
  }
}

async function confirm(
  { publicClient }: DeployMiningParameters,
  sent: Promise<Hex>,
  action: string,
): Promise<TransactionReceipt> {
  let hash: Hex
  try {
    hash = await sent
  } catch (error) {
    throw explainLedgerError(error, action)
  }
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 })
  if (receipt.status !== 'success') {
    throw new LedgerError(`${action} failed`, {
      code: 'LEDGER_DEPLOY_FAILED',
      details: `transaction ${hash}`,
    })
  }
  return receipt
}

// ---------------------------------------------------------------------------------------- bindings

function writable(publicClient: PublicClient, walletClient: LedgerWalletClient, addresses: MiningAddresses) {
  const client = { public: publicClient, wallet: walletClient }
  return {
    addresses,
    token: getContract({ address: addresses.token, abi: VeilToken.abi, client }),
    pools: getContract({ address: addresses.pools, abi: StakingPools.abi, client }),
    rewards: getContract({ address: addresses.rewards, abi: Rewards.abi, client }),
    billing: addresses.billing
      ? getContract({ address: addresses.billing, abi: billingAbi, client })
      : undefined,
  }
}

function readonly(publicClient: PublicClient, addresses: MiningAddresses) {
  const client = { public: publicClient }
  return {
    addresses,
    token: getContract({ address: addresses.token, abi: VeilToken.abi, client }),
    pools: getContract({ address: addresses.pools, abi: StakingPools.abi, client }),
    rewards: getContract({ address: addresses.rewards, abi: Rewards.abi, client }),
    billing: addresses.billing
      ? getContract({ address: addresses.billing, abi: billingAbi, client })
      : undefined,
  }
}

/** Typed handles on the mining contracts with `.read`, `.write`, `.simulate` and event helpers. */
export type Mining = ReturnType<typeof writable>
/** Typed handles on the mining contracts with `.read`, `.simulate` and event helpers only. */
export type ReadonlyMining = ReturnType<typeof readonly>

/**
 * Typed handles on VeilToken, StakingPools and Rewards, like `getLedger`. With a wallet client the handles
 * can also write.
 *
 * @example
 * const mining = getMining({ publicClient, walletClient: workerWallet, addresses })
 * await mining.rewards.write.heartbeat()
 */
export function getMining(params: {
  publicClient: PublicClient
  walletClient: LedgerWalletClient
  addresses: MiningAddresses
}): Mining
export function getMining(params: { publicClient: PublicClient; addresses: MiningAddresses }): ReadonlyMining
export function getMining(params: {
  publicClient: PublicClient
  walletClient?: LedgerWalletClient
  addresses: MiningAddresses
}): Mining | ReadonlyMining {
  return params.walletClient
    ? writable(params.publicClient, params.walletClient, params.addresses)
    : readonly(params.publicClient, params.addresses)
}

/** Billing's EIP-712 `UsageReceipt` type (its `USAGE_RECEIPT_TYPEHASH`), which workers sign. */
export const USAGE_RECEIPT_TYPES = {
  UsageReceipt: [
    { name: 'contractId', type: 'uint64' },
    { name: 'worker', type: 'address' },
    { name: 'seq', type: 'uint64' },
    { name: 'queries', type: 'uint64' },
    { name: 'queryFuel', type: 'uint256' },
    { name: 'queryCharge', type: 'uint256' },
    { name: 'commandCharges', type: 'uint256' },
  ],
} as const

/** The EIP-712 domain of the Billing contract at `billing` on `chainId`. */
export function billingDomain(chainId: number, billing: Address) {
  return { name: 'Veil Billing', version: '1', chainId, verifyingContract: billing } as const
}

/** Billing's ABI with the token's errors, so a refused transfer inside `fund` is named. */
const billingAbi = [
  ...Billing.abi,
  ...VeilToken.abi.filter(
    (item): item is Extract<(typeof VeilToken.abi)[number], { type: 'error' }> => item.type === 'error',
  ),
] as const

/** Every mining ABI item in one list, for decoding logs from any of the four contracts. */
export const miningAbi = [...VeilToken.abi, ...StakingPools.abi, ...Rewards.abi, ...Billing.abi] as const

/** Decodes raw logs from the mining contracts into typed events; other logs are skipped. */
export function decodeMiningLogs(logs: Log[]) {
  return parseEventLogs({ abi: miningAbi, logs })
}

export type MiningEvent = ReturnType<typeof decodeMiningLogs>[number]

/** What to do about each named revert of the mining contracts. */
const MINING_HINTS: Record<string, string> = {
  NotActiveWorker:
    'only an active Registry worker can do this: register, get approved by the KMS, then retry',
  WorkerNotBound: "the worker's operator must bind it to a pool first (StakingPools.bindWorker)",
  AlreadyHeartbeated: 'a worker heartbeats once per epoch; wait for the next epoch',
  InsufficientStake:
    "stake more in the worker's pool: its assets must cover every bound worker's minimum stake",
  NothingToSettle: "settle the epoch of the worker's last heartbeat (Rewards.workerState), once it is over",
  EpochNotOver: 'an epoch can be settled only after it ends',
  WorkerNotReportable: 'a worker can be reported only after missing offlineAfterEpochs epochs in a row',
  WorkerAlreadyOffline: 'the worker is already offline; it comes back with its next heartbeat',
  WorkerMissedHeartbeats:
    'a worker that is missing heartbeats can be unbound only after it was reported offline',
  EmissionOutOfBounds: 'the emission must stay within [minEmission, maxEmission], fixed at deployment',
  CommissionTooHigh: 'the commission is capped by StakingPools.maxCommissionBps',
  NotPoolOperator: "only the pool's operator may do this",
  WorkerOperatorMismatch: "a pool binds only workers whose Registry operator is the pool's operator",
  WorkerAlreadyBound: 'unbind the worker from its current pool first',
  WithdrawalNotReady: 'the oldest withdrawal is still unbonding; try again after readyAt',
  NoPendingWithdrawal: 'request a withdrawal first (requestWithdraw)',
  NothingToClaim: 'this account has no rewards in that pool yet',
  NotMinter: 'only the Rewards contract mints VEIL',
  ERC20ExceededCap: 'the VEIL supply cap is reached',
  UnknownContract: 'no Veil contract has that id (veil contracts lists them)',
  ZeroAmount: 'the amount must be more than zero',
  ERC20InsufficientAllowance:
    'approve the Billing contract to take the amount first (veil contract fund does this)',
  ERC20InsufficientBalance: 'the account does not hold that many VEIL (veil token balance)',
  FuelPriceOutOfBounds: 'the fuel price must stay within [minFuelPrice, maxFuelPrice], fixed at deployment',
  BadReceiptSignature: 'a usage receipt must be signed by the worker it names',
  NotClusterMember: "only an active member of the contract's cluster can claim its usage",
  ReceiptAlreadyClaimed:
    'a usage receipt is claimed once; sign the next one with a higher seq (Billing.lastReceipt)',
}

/**
 * Like `explainLedgerError`, with hints for the mining contracts' reverts.
 *
 * @example
 * try { await mining.rewards.write.heartbeat() } catch (e) { throw explainMiningError(e, 'heartbeat') }
 */
export function explainMiningError(error: unknown, action = 'mining call'): LedgerError {
  const explained = explainLedgerError(error, action)
  const errorName = explained.errorName
  const hint = errorName ? MINING_HINTS[errorName] : undefined
  // The mining contracts' own hint wins: a ledger hint for an error of the same name (NotClusterMember,
  // UnknownContract) is about the ledger's call, not this one.
  if (!errorName || !hint) return explained
  return new LedgerError(explained.shortMessage, {
    code: explained.code,
    hint,
    errorName,
    errorArgs: explained.errorArgs,
    cause: error,
  })
}

// ------------------------------------------------------------------------------ the reward model

/** minStake(score) = minStakeBase + score × minStakePerScore, as StakingPools computes it. */
export function minStake(
  score: number | bigint,
  params: Pick<MiningParams, 'minStakeBase' | 'minStakePerScore'>,
): bigint {
  return params.minStakeBase + BigInt(score) * params.minStakePerScore
}

/**
 * The stake factor (WAD) of a pool holding `assets` for `required` minimum stake, as Rewards computes it:
 * min(assets × 1e18 / required, maxStakeFactor), or maxStakeFactor when nothing is required.
 */
export function stakeFactor(assets: bigint, required: bigint, maxStakeFactor: bigint): bigint {
  if (required === 0n) return maxStakeFactor
  const factor = (assets * WAD) / required
  return factor < maxStakeFactor ? factor : maxStakeFactor
}

/** A heartbeat's weight: score × stake factor. */
export function heartbeatWeight(score: number | bigint, factor: bigint): bigint {
  return BigInt(score) * factor
}

/** One worker's part of an epoch's emission. */
export interface WorkerReward {
  /** emission × weight / totalWeight, rounded down. */
  reward: bigint
  /** The operator's commission: floor(reward × bps / 10,000). */
  commission: bigint
  /** What the pool's delegators share: reward − commission. */
  delegators: bigint
}

export interface EpochSplit {
  rewards: WorkerReward[]
  /** Sum of the rewards; never more than the emission. */
  total: bigint
  /** emission − total: rounding dust left unminted. */
  unminted: bigint
}

/**
 * The contracts' split of one epoch's emission among the workers that heartbeated in it, to the unit.
 * `commissionBps` is one commission for every worker's pool, or one per worker.
 *
 * @example
 * splitEpochReward(100n, [1n, 2n], 1_000).rewards // [{ reward: 33n, commission: 3n, delegators: 30n }, …]
 */
export function splitEpochReward(
  emission: bigint,
  weights: readonly bigint[],
  commissionBps: number | readonly number[],
): EpochSplit {
  if (emission < 0n) throw new RangeError(`emission must not be negative, got ${emission}`)
  if (typeof commissionBps !== 'number' && commissionBps.length !== weights.length) {
    throw new RangeError(`${weights.length} weights but ${commissionBps.length} commissions`)
  }
  let totalWeight = 0n
  for (const weight of weights) {
    if (weight < 0n) throw new RangeError(`weights must not be negative, got ${weight}`)
    totalWeight += weight
  }
  const rewards = weights.map((weight, i) => {
    const bps = typeof commissionBps === 'number' ? commissionBps : (commissionBps[i] ?? 0)
    if (!Number.isInteger(bps) || bps < 0 || bps > BPS) {
      throw new RangeError(`commission must be 0..${BPS} basis points, got ${bps}`)
    }
    const reward = totalWeight === 0n ? 0n : (emission * weight) / totalWeight
    const commission = (reward * BigInt(bps)) / BigInt(BPS)
    return { reward, commission, delegators: reward - commission }
  })
  const total = rewards.reduce((sum, r) => sum + r.reward, 0n)
  return { rewards, total, unminted: emission - total }
}
