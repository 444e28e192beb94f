import fc from 'fast-check'
import {
  type Address,
  type Hash,
  isAddressEqual,
  keccak256,
  maxUint256,
  type TestClient,
  toHex,
  zeroAddress,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VeilToken } from './artifacts/index.js'
import { devMeasurement, placeholderQuote, reportData } from './dev-attestation.js'
import { getLedger, type Ledger, type LedgerWalletClient } from './ledger.js'
import {
  DEVNET_MINING_PARAMS,
  decodeMiningLogs,
  deployMining,
  explainMiningError,
  getMining,
  heartbeatWeight,
  type Mining,
  type MiningDeployment,
  type MiningEvent,
  type MiningParams,
  minStake,
  splitEpochReward,
  stakeFactor,
  VEIL,
  WAD,
} from './mining.js'
import { ledgerAssertions, revertEachTest } from './test-assertions.js'
import { startTestLedger, type TestLedger } from './testing.js'

// Roles: dev account 0 deploys and owns everything (and holds the genesis supply), 1 is the KMS signer,
// 2 operates workers and pools, 3 is another operator, 4 and 5 delegate, 8 is the treasury, 9 a stranger.
// Workers are fresh random identities registered with a dev placeholder quote and approved by the KMS.
// Epochs are 10 minutes here so that wall-clock time never crosses an epoch boundary mid-test; tests move
// between epochs by setting the next block's timestamp.
const PARAMS: MiningParams = {
  ...DEVNET_MINING_PARAMS,
  epochSeconds: 600,
  unbondingSeconds: 1_800,
  commissionRaiseDelaySeconds: 1_800,
  minEmission: 1n,
}
const MEASUREMENT = devMeasurement('mining-test')
const X25519 = keccak256(toHex('x25519'))
/** The pools opened before every test: operator 2, commission at the maximum, 100 VEIL staked. */
const POOLS = [1, 2, 3, 4] as const
const OPERATOR_STAKE = 100n * VEIL

let t: TestLedger
let testClient: TestClient
let deployment: MiningDeployment
let owner: Mining
let operator: Mining
let otherOperator: Mining
let alice: Mining
let bob: Mining
let stranger: Mining
let kms: Ledger
let operatorAddress: Address
let aliceAddress: Address
let bobAddress: Address
let treasury: Address
/** One active worker bound to each of POOLS, in order. */
let bound: Worker[]

interface Worker {
  address: Address
  walletClient: LedgerWalletClient
  mining: Mining
  ledger: Ledger
}

const { expectRevert } = ledgerAssertions(() => t.publicClient)

/** Waits for the transaction, requires success and decodes the mining events it emitted. */
async function mined(sent: Promise<Hash>) {
  const receipt = await t.publicClient.waitForTransactionReceipt({ hash: await sent })
  expect(receipt.status).toBe('success')
  return { receipt, events: decodeMiningLogs(receipt.logs) }
}

/**
 * Awaits every task before failing with the first error, so that no transaction is still in flight when
 * the caller reverts the chain to a snapshot.
 */
async function inParallel<T>(tasks: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(tasks)
  return results.map((result) => {
    if (result.status === 'rejected') throw result.reason
    return result.value
  })
}

function only<N extends MiningEvent['eventName']>(events: MiningEvent[], name: N) {
  return events.filter((e): e is Extract<MiningEvent, { eventName: N }> => e.eventName === name)
}

beforeAll(async () => {
  t = await startTestLedger({ devMode: true })
  testClient = t.testClient
  kms = t.as(1).ledger
  treasury = t.as(8).account.address
  await mined(t.owner.registry.write.addKmsSigner([t.as(1).account.address]))
  await mined(t.owner.registry.write.allowMeasurement([MEASUREMENT]))
  deployment = await deployMining({
    publicClient: t.publicClient,
    walletClient: t.as(0).walletClient,
    registry: t.addresses.registry,
    contracts: t.addresses.contracts,
    params: PARAMS,
    treasury,
  })
  const as = (index: number) =>
    getMining({
      publicClient: t.publicClient,
      walletClient: t.as(index).walletClient,
      addresses: deployment.addresses,
    })
  owner = as(0)
  operator = as(2)
  otherOperator = as(3)
  alice = as(4)
  bob = as(5)
  stranger = as(9)
  operatorAddress = t.as(2).account.address
  aliceAddress = t.as(4).account.address
  bobAddress = t.as(5).account.address

  for (const index of [2, 3, 4, 5]) {
    await mined(owner.token.write.transfer([t.as(index).account.address, 1_000_000n * VEIL]))
  }
  await Promise.all(
    [operator, otherOperator, alice, bob].map((m) =>
      mined(m.token.write.approve([m.pools.address, maxUint256])),
    ),
  )
  bound = []
  for (const _ of POOLS) bound.push(await activeWorker()) // one at a time: the KMS approves each
  for (const [i, pool] of POOLS.entries()) {
    await mined(operator.pools.write.createPool([PARAMS.maxCommissionBps]))
    await mined(operator.pools.write.deposit([pool, OPERATOR_STAKE]))
    await mined(operator.pools.write.bindWorker([pool, worker(i).address]))
  }
})
afterAll(async () => {
  await t?.stop()
})
revertEachTest(() => t)

function worker(i: number): Worker {
  const w = bound[i]
  if (!w) throw new Error(`no bound worker ${i}`)
  return w
}

/** A new worker identity with gas money, registered (pending) with `workerOperator` as its operator. */
async function registeredWorker(workerOperator: Address = operatorAddress): Promise<Worker> {
  const { account, walletClient } = await t.newAccount()
  const w: Worker = {
    address: account.address,
    walletClient,
    mining: getMining({ publicClient: t.publicClient, walletClient, addresses: deployment.addresses }),
    ledger: getLedger({ publicClient: t.publicClient, walletClient, addresses: t.addresses }),
  }
  const quote = placeholderQuote(reportData(account.address, X25519, 31337, t.addresses.registry))
  await mined(
    w.ledger.registry.write.registerWorker([
      X25519,
      'https://w.example.org',
      MEASUREMENT,
      workerOperator,
      quote,
    ]),
  )
  return w
}

async function activeWorker(workerOperator: Address = operatorAddress): Promise<Worker> {
  const w = await registeredWorker(workerOperator)
  await mined(kms.registry.write.approveWorker([w.address]))
  return w
}

async function currentEpoch(): Promise<bigint> {
  return owner.rewards.read.currentEpoch()
}

/** Mines an empty block at the first second of `epoch` (in the future). */
async function toEpoch(epoch: bigint): Promise<void> {
  await testClient.setNextBlockTimestamp({ timestamp: await owner.rewards.read.epochStart([epoch]) })
  await testClient.mine({ blocks: 1 })
}

/** Moves to the start of the epoch `n` epochs after the current one and returns its number. */
async function nextEpoch(n = 1n): Promise<bigint> {
  const epoch = (await currentEpoch()) + n
  await toEpoch(epoch)
  return epoch
}

async function latestTimestamp(): Promise<bigint> {
  return (await t.publicClient.getBlock()).timestamp
}

async function balanceOf(account: Address): Promise<bigint> {
  return owner.token.read.balanceOf([account])
}

describe('deployMining', () => {
  it('wires the minter and the cross-references, and applies the parameters', async () => {
    const { addresses } = deployment
    expect(await owner.token.read.minter()).toBe(addresses.rewards)
    expect(await owner.token.read.owner()).toBe(zeroAddress) // setMinter renounced it
    expect(await owner.token.read.cap()).toBe(PARAMS.supplyCap)
    expect(await owner.pools.read.rewards()).toBe(addresses.rewards)
    expect(await owner.rewards.read.pools()).toBe(addresses.pools)
    expect(await owner.rewards.read.token()).toBe(addresses.token)
    expect(isAddressEqual(await owner.rewards.read.registry(), t.addresses.registry)).toBe(true)
    expect(await owner.rewards.read.treasury()).toBe(treasury)
    expect(await owner.rewards.read.epochLength()).toBe(600n)
    expect(await owner.rewards.read.offlineAfterEpochs()).toBe(3n)
    expect(await owner.pools.read.unbondingPeriod()).toBe(1_800n)
    expect(await owner.pools.read.minStake([1_000])).toBe(200n * VEIL)
    await expectRevert(owner.pools.write.setRewards([addresses.rewards]), 'RewardsAlreadySet', [
      addresses.rewards,
    ])
    await expectRevert(owner.token.write.setMinter([owner.addresses.rewards]), 'OwnableUnauthorizedAccount', [
      t.as(0).account.address,
    ])
  })

  it('deploys the devnet parameters and refuses inconsistent ones before sending anything', async () => {
    const devnet = await deployMining({
      publicClient: t.publicClient,
      walletClient: t.as(0).walletClient,
      registry: t.addresses.registry,
      contracts: t.addresses.contracts,
      params: DEVNET_MINING_PARAMS,
    })
    const m = getMining({ publicClient: t.publicClient, addresses: devnet.addresses })
    expect(await m.rewards.read.epochLength()).toBe(10n)
    expect(await m.pools.read.unbondingPeriod()).toBe(30n)
    expect(await m.rewards.read.offlineAfterEpochs()).toBe(3n)
    expect(await m.rewards.read.emissionPerEpoch()).toBe(DEVNET_MINING_PARAMS.emissionPerEpoch)
    await expect(
      deployMining({
        publicClient: t.publicClient,
        walletClient: t.as(0).walletClient,
        registry: t.addresses.registry,
        contracts: t.addresses.contracts,
        params: { ...DEVNET_MINING_PARAMS, emissionPerEpoch: DEVNET_MINING_PARAMS.maxEmission + 1n },
      }),
    ).rejects.toMatchObject({ code: 'MINING_PARAMS_INVALID' })
  })
})

describe('VeilToken', () => {
  it('caps the supply and lets only the minter mint, once it is set', async () => {
    const deployer = t.as(0).walletClient
    const hash = await deployer.deployContract({
      abi: VeilToken.abi,
      bytecode: VeilToken.bytecode,
      args: [deployer.account.address, 1_000n, deployer.account.address, 400n],
    })
    const { contractAddress } = await t.publicClient.waitForTransactionReceipt({ hash })
    if (!contractAddress) throw new Error('no token deployed')
    const token = (index: number) =>
      getMining({
        publicClient: t.publicClient,
        walletClient: t.as(index).walletClient,
        addresses: { ...deployment.addresses, token: contractAddress },
      }).token
    const minterAddress = t.as(5).account.address
    expect(await token(0).read.totalSupply()).toBe(400n)
    // Before a minter is named nobody mints, the owner included.
    await expectRevert(token(0).write.mint([minterAddress, 1n]), 'NotMinter', [t.as(0).account.address])
    await expectRevert(token(9).write.setMinter([minterAddress]), 'OwnableUnauthorizedAccount')
    await mined(token(0).write.setMinter([minterAddress]))
    await expectRevert(token(0).write.mint([minterAddress, 1n]), 'NotMinter', [t.as(0).account.address])
    await mined(token(5).write.mint([minterAddress, 600n]))
    await expectRevert(token(5).write.mint([minterAddress, 1n]), 'ERC20ExceededCap', [1_001n, 1_000n])
    expect(await token(0).read.totalSupply()).toBe(1_000n)
  })

  it('keeps the real minter, Rewards, to itself: nobody else mints', async () => {
    await expectRevert(owner.token.write.mint([aliceAddress, 1n]), 'NotMinter', [t.as(0).account.address])
    await expectRevert(worker(0).mining.token.write.mint([worker(0).address, 1n]), 'NotMinter', [
      worker(0).address,
    ])
  })

  it('stops rewards at the cap without blocking heartbeats', async () => {
    const capped = await deployMining({
      publicClient: t.publicClient,
      walletClient: t.as(0).walletClient,
      registry: t.addresses.registry,
      contracts: t.addresses.contracts,
      params: { ...PARAMS, supplyCap: 1_000n * VEIL, genesisSupply: 1_000n * VEIL - 10n },
      genesisHolder: operatorAddress,
    })
    const op = getMining({
      publicClient: t.publicClient,
      walletClient: t.as(2).walletClient,
      addresses: capped.addresses,
    })
    const w = await activeWorker()
    const m = getMining({
      publicClient: t.publicClient,
      walletClient: w.walletClient,
      addresses: capped.addresses,
    })
    await mined(op.token.write.approve([op.pools.address, maxUint256]))
    await mined(op.pools.write.createPool([0]))
    await mined(op.pools.write.deposit([1, 500n * VEIL]))
    await mined(op.pools.write.bindWorker([1, w.address]))
    await mined(m.pools.write.submitScore([1_000]))
    await mined(m.rewards.write.heartbeat())
    await testClient.increaseTime({ seconds: 600 })
    // The epoch's emission (100 VEIL) would exceed the cap: the settling heartbeat mints the 10 units left.
    const { events } = await mined(m.rewards.write.heartbeat())
    expect(only(events, 'RewardSettled')[0]?.args.reward).toBe(10n)
    expect(await op.token.read.totalSupply()).toBe(await op.token.read.cap())
    await testClient.increaseTime({ seconds: 600 })
    const after = await mined(m.rewards.write.heartbeat())
    expect(only(after.events, 'RewardSettled')[0]?.args.reward).toBe(0n)
  })
})

describe('StakingPools: pools and workers', () => {
  it('bounds the commission: cuts apply at once, raises after the delay', async () => {
    await expectRevert(operator.pools.write.createPool([5_001]), 'CommissionTooHigh', [5_001, 5_000])
    const { events } = await mined(operator.pools.write.createPool([1_000]))
    const pool = only(events, 'PoolCreated')[0]?.args.pool ?? 0
    expect(pool).toBe(POOLS.length + 1)
    await expectRevert(alice.pools.write.setCommission([pool, 500]), 'NotPoolOperator', [pool, aliceAddress])
    await expectRevert(operator.pools.write.setCommission([pool, 5_001]), 'CommissionTooHigh', [5_001, 5_000])

    await mined(operator.pools.write.setCommission([pool, 500]))
    expect((await owner.pools.read.getPool([pool])).commissionBps).toBe(500)

    const raised = await mined(operator.pools.write.setCommission([pool, 2_000]))
    const effectiveAt = only(raised.events, 'CommissionRaiseScheduled')[0]?.args.effectiveAt ?? 0n
    expect(effectiveAt).toBe((await latestTimestamp()) + 1_800n)
    expect(await owner.pools.read.getPool([pool])).toMatchObject({
      commissionBps: 500,
      pendingCommissionBps: 2_000,
      commissionEffectiveAt: effectiveAt,
    })
    await testClient.setNextBlockTimestamp({ timestamp: effectiveAt })
    await testClient.mine({ blocks: 1 })
    expect(await owner.pools.read.getPool([pool])).toMatchObject({
      commissionBps: 2_000,
      pendingCommissionBps: 0,
      commissionEffectiveAt: 0n,
    })
    // A cut cancels a scheduled raise.
    await mined(operator.pools.write.setCommission([pool, 3_000]))
    await mined(operator.pools.write.setCommission([pool, 100]))
    expect(await owner.pools.read.getPool([pool])).toMatchObject({
      commissionBps: 100,
      pendingCommissionBps: 0,
    })
  })

  it("binds only the operator's own active workers, each to one pool", async () => {
    const pending = await registeredWorker()
    const foreign = await activeWorker(t.as(3).account.address)
    const fresh = await activeWorker()
    await expectRevert(operator.pools.write.bindWorker([99, fresh.address]), 'UnknownPool', [99])
    await expectRevert(alice.pools.write.bindWorker([1, fresh.address]), 'NotPoolOperator', [1, aliceAddress])
    await expectRevert(operator.pools.write.bindWorker([1, pending.address]), 'NotActiveWorker', [
      pending.address,
    ])
    await expectRevert(operator.pools.write.bindWorker([1, foreign.address]), 'WorkerOperatorMismatch', [
      foreign.address,
      t.as(3).account.address,
      operatorAddress,
    ])
    await expectRevert(operator.pools.write.bindWorker([2, worker(0).address]), 'WorkerAlreadyBound', [
      worker(0).address,
      1,
    ])
    const { events } = await mined(operator.pools.write.bindWorker([1, fresh.address]))
    expect(events).toMatchObject([{ eventName: 'WorkerBound', args: { pool: 1, worker: fresh.address } }])
    expect((await owner.pools.read.workerInfo([fresh.address])).pool).toBe(1)
  })

  it("keeps each pool's required stake incrementally as workers bind, score and leave", async () => {
    const required = () => owner.pools.read.requiredStake([1])
    expect(await required()).toBe(minStake(0, PARAMS)) // worker 0, no score yet
    const second = await activeWorker()
    await mined(second.mining.pools.write.submitScore([500]))
    await mined(operator.pools.write.bindWorker([1, second.address]))
    expect(await required()).toBe(minStake(0, PARAMS) + minStake(500, PARAMS))
    await mined(worker(0).mining.pools.write.submitScore([1_200]))
    expect(await required()).toBe(minStake(1_200, PARAMS) + minStake(500, PARAMS))
    await mined(second.mining.pools.write.submitScore([100]))
    expect(await required()).toBe(minStake(1_200, PARAMS) + minStake(100, PARAMS))
    await mined(operator.pools.write.unbindWorker([second.address]))
    expect(await required()).toBe(minStake(1_200, PARAMS))
    // The owner's parameters apply at once to every pool.
    await mined(owner.pools.write.setMinStake([10n * VEIL, 1n * VEIL]))
    expect(await required()).toBe(10n * VEIL + 1_200n * VEIL)
    await expectRevert(stranger.pools.write.setMinStake([0n, 0n]), 'OwnableUnauthorizedAccount')
  })

  it('lets a worker leave its pool only while live or once reported offline', async () => {
    const w = worker(0)
    await mined(w.mining.rewards.write.heartbeat())
    await nextEpoch()
    await mined(operator.pools.write.unbindWorker([w.address])) // heartbeated last epoch: live
    await mined(operator.pools.write.bindWorker([1, w.address]))
    await nextEpoch(2n) // one whole epoch missed
    await expectRevert(operator.pools.write.unbindWorker([w.address]), 'WorkerMissedHeartbeats', [
      w.address,
      1n,
    ])
    await nextEpoch(2n)
    await mined(stranger.rewards.write.reportOffline([w.address]))
    await mined(operator.pools.write.unbindWorker([w.address]))
    await expectRevert(operator.pools.write.unbindWorker([w.address]), 'WorkerNotBound', [w.address])
  })
})

describe('StakingPools: deposits, unbonding and claims', () => {
  it('mints shares with the virtual offset and rounds against the depositor', async () => {
    const { events } = await mined(operator.pools.write.createPool([0]))
    const pool = only(events, 'PoolCreated')[0]?.args.pool ?? 0
    // Empty pool: 10^6 shares per unit (virtual shares 10^6, virtual assets 1).
    const first = await mined(alice.pools.write.deposit([pool, 1n]))
    expect(only(first.events, 'Deposited')).toMatchObject([
      { eventName: 'Deposited', args: { pool, delegator: aliceAddress, assets: 1n, shares: 10n ** 6n } },
    ])
    expect(await owner.pools.read.previewDeposit([pool, 3n])).toBe((3n * (10n ** 6n + 10n ** 6n)) / 2n)
    await mined(bob.pools.write.deposit([pool, 3n]))
    const [aliceShares, aliceAssets] = await owner.pools.read.stakeOf([pool, aliceAddress])
    const [bobShares, bobAssets] = await owner.pools.read.stakeOf([pool, bobAddress])
    expect([aliceShares, bobShares]).toEqual([10n ** 6n, 3n * 10n ** 6n])
    expect([aliceAssets, bobAssets]).toEqual([1n, 3n])
    // Rounded down, in the pool's favour: less than a unit's worth of shares redeems nothing.
    expect(await owner.pools.read.previewWithdraw([pool, 10n ** 6n - 1n])).toBe(0n)
    // Inflation attack: a donation straight to the contract does not move the share price, since pools
    // count the assets deposited into them, not the contract's balance.
    await mined(alice.token.write.transfer([owner.pools.address, 1_000n * VEIL]))
    expect(await owner.pools.read.previewDeposit([pool, 500n * VEIL])).toBe(500n * VEIL * 10n ** 6n)
    await expectRevert(alice.pools.write.deposit([pool, 0n]), 'ZeroAmount', [])
    await expectRevert(alice.pools.write.deposit([99, 1n]), 'UnknownPool', [99])
  })

  it('unbonds: shares burn at once, assets are paid after the period, oldest first', async () => {
    const pool = 1
    await mined(alice.pools.write.deposit([pool, 1_000n * VEIL]))
    const [shares] = await owner.pools.read.stakeOf([pool, aliceAddress])
    const assetsBefore = (await owner.pools.read.getPool([pool])).assets
    const preview = await owner.pools.read.previewWithdraw([pool, shares / 4n])

    const first = await mined(alice.pools.write.requestWithdraw([pool, shares / 4n]))
    const firstRequest = only(first.events, 'WithdrawRequested')[0]?.args
    expect(firstRequest).toMatchObject({ pool, delegator: aliceAddress, shares: shares / 4n, index: 0n })
    const firstAssets = firstRequest?.assets ?? 0n
    expect(firstAssets).toBe(preview)
    expect(250n * VEIL - firstAssets).toBeLessThanOrEqual(1n) // rounded down, by at most a unit
    expect((await owner.pools.read.getPool([pool])).assets).toBe(assetsBefore - firstAssets)
    expect((await owner.pools.read.stakeOf([pool, aliceAddress]))[0]).toBe(shares - shares / 4n)

    await expectRevert(alice.pools.write.withdraw([10n]), 'WithdrawalNotReady', [firstRequest?.readyAt])
    await testClient.increaseTime({ seconds: 600 })
    const second = await mined(alice.pools.write.requestWithdraw([pool, shares / 2n]))
    const secondRequest = only(second.events, 'WithdrawRequested')[0]?.args
    expect(secondRequest?.index).toBe(1n)
    expect(await owner.pools.read.withdrawalQueue([aliceAddress])).toEqual([0n, 2n])

    // Only the first has matured: it is paid alone, and the queue advances past it.
    await testClient.setNextBlockTimestamp({ timestamp: firstRequest?.readyAt ?? 0n })
    const balance = await balanceOf(aliceAddress)
    const paid = await mined(alice.pools.write.withdraw([10n]))
    expect(only(paid.events, 'Withdrawn')).toMatchObject([
      { eventName: 'Withdrawn', args: { delegator: aliceAddress, assets: firstAssets, entries: 1n } },
    ])
    expect(await balanceOf(aliceAddress)).toBe(balance + firstAssets)
    expect(await owner.pools.read.withdrawalQueue([aliceAddress])).toEqual([1n, 2n])
    await expectRevert(alice.pools.write.withdraw([10n]), 'WithdrawalNotReady', [secondRequest?.readyAt])

    await testClient.setNextBlockTimestamp({ timestamp: secondRequest?.readyAt ?? 0n })
    await mined(alice.pools.write.withdraw([10n]))
    expect(await balanceOf(aliceAddress)).toBe(balance + firstAssets + (secondRequest?.assets ?? 0n))
    await expectRevert(alice.pools.write.withdraw([10n]), 'NoPendingWithdrawal', [aliceAddress])
    const left = shares - shares / 4n - shares / 2n
    expect((await owner.pools.read.stakeOf([pool, aliceAddress]))[0]).toBe(left)
    await expectRevert(alice.pools.write.requestWithdraw([pool, shares]), 'InsufficientShares', [
      left,
      shares,
    ])
  })

  it('pays at most maxEntries matured withdrawals per call', async () => {
    await mined(alice.pools.write.deposit([1, 30n * VEIL]))
    for (let i = 0; i < 3; i++) await mined(alice.pools.write.requestWithdraw([1, 10n ** 24n]))
    await testClient.increaseTime({ seconds: 1_800 })
    expect(only((await mined(alice.pools.write.withdraw([2n]))).events, 'Withdrawn')[0]?.args.entries).toBe(
      2n,
    )
    expect(only((await mined(alice.pools.write.withdraw([2n]))).events, 'Withdrawn')[0]?.args.entries).toBe(
      1n,
    )
    await expectRevert(alice.pools.write.withdraw([0n]), 'ZeroAmount', [])
  })

  it('refuses an empty claim', async () => {
    await expectRevert(alice.pools.write.claim([1]), 'NothingToClaim', [1, aliceAddress])
  })
})

describe('performance scores', () => {
  it('records the score and its epoch, sent by the worker itself', async () => {
    const epoch = await nextEpoch()
    const { events } = await mined(worker(0).mining.pools.write.submitScore([1_234]))
    expect(events).toMatchObject([
      { eventName: 'ScoreSubmitted', args: { worker: worker(0).address, score: 1_234, epoch } },
    ])
    expect(await owner.pools.read.workerInfo([worker(0).address])).toMatchObject({
      pool: 1,
      score: 1_234,
      scoreEpoch: epoch,
      scored: true,
    })
  })

  it('only from registered, active workers', async () => {
    const pending = await registeredWorker()
    const revoked = await activeWorker()
    await mined(t.owner.registry.write.revokeWorker([revoked.address]))
    await expectRevert(stranger.pools.write.submitScore([1]), 'NotActiveWorker', [t.as(9).account.address])
    await expectRevert(pending.mining.pools.write.submitScore([1]), 'NotActiveWorker', [pending.address])
    await expectRevert(revoked.mining.pools.write.submitScore([1]), 'NotActiveWorker', [revoked.address])
  })
})

describe('Rewards: heartbeats and settlement', () => {
  it('takes one heartbeat per epoch, weighs it by score × stake factor and pays it at the next one', async () => {
    const w = worker(0)
    await mined(w.mining.pools.write.submitScore([1_000])) // minimum stake 200 VEIL
    await mined(alice.pools.write.deposit([1, 300n * VEIL])) // 400 VEIL: stake factor 2 (the cap)
    const epoch = await nextEpoch()
    const first = await mined(w.mining.rewards.write.heartbeat())
    expect(first.events).toMatchObject([
      { eventName: 'EpochStarted', args: { epoch, emission: PARAMS.emissionPerEpoch } },
      {
        eventName: 'Heartbeat',
        args: {
          worker: w.address,
          pool: 1,
          epoch,
          score: 1_000,
          stakeFactor: 2n * WAD,
          weight: 2_000n * WAD,
        },
      },
    ])
    await expectRevert(w.mining.rewards.write.heartbeat(), 'AlreadyHeartbeated', [w.address, epoch])
    await expectRevert(stranger.rewards.write.settle([w.address, epoch]), 'EpochNotOver', [epoch, epoch])

    await nextEpoch()
    const operatorBalance = await balanceOf(operatorAddress)
    const second = await mined(w.mining.rewards.write.heartbeat())
    const emission = PARAMS.emissionPerEpoch
    expect(only(second.events, 'RewardSettled')).toMatchObject([
      { args: { worker: w.address, pool: 1, epoch, weight: 2_000n * WAD, reward: emission } },
    ])
    // Commission 50 %: half to the operator at once, half into the pool's accumulator.
    expect(only(second.events, 'RewardDistributed')).toMatchObject([
      { args: { pool: 1, amount: emission, commission: emission / 2n, delegators: emission / 2n } },
    ])
    expect(await balanceOf(operatorAddress)).toBe(operatorBalance + emission / 2n)
    const [, , aliceRewards] = await owner.pools.read.stakeOf([1, aliceAddress])
    const [, , operatorRewards] = await owner.pools.read.stakeOf([1, operatorAddress])
    // Alice holds 3/4 of the shares, the operator 1/4; rounding never pays more than the delegators' half.
    expect(aliceRewards + operatorRewards).toBeLessThanOrEqual(emission / 2n)
    expect(aliceRewards + operatorRewards).toBeGreaterThanOrEqual(emission / 2n - 2n)
    expect((emission * 3n) / 8n - aliceRewards).toBeLessThanOrEqual(1n)

    const aliceBalance = await balanceOf(aliceAddress)
    const claimed = await mined(alice.pools.write.claim([1]))
    expect(only(claimed.events, 'Claimed')).toMatchObject([
      { eventName: 'Claimed', args: { pool: 1, delegator: aliceAddress, amount: aliceRewards } },
    ])
    expect(await balanceOf(aliceAddress)).toBe(aliceBalance + aliceRewards)
    await expectRevert(alice.pools.write.claim([1]), 'NothingToClaim', [1, aliceAddress])
  })

  it('lets anyone settle a stopped worker, once, for its last heartbeat epoch', async () => {
    const w = worker(0)
    await mined(w.mining.pools.write.submitScore([10])) // minimum stake 101 VEIL
    await mined(alice.pools.write.deposit([1, VEIL]))
    const epoch = await nextEpoch()
    await mined(w.mining.rewards.write.heartbeat())
    await nextEpoch(2n)
    expect(await owner.rewards.read.pendingReward([w.address])).toEqual([epoch, PARAMS.emissionPerEpoch])
    await expectRevert(stranger.rewards.write.settle([w.address, epoch + 1n]), 'NothingToSettle', [
      w.address,
      epoch + 1n,
    ])
    const { events } = await mined(stranger.rewards.write.settle([w.address, epoch]))
    expect(only(events, 'RewardSettled')[0]?.args.reward).toBe(PARAMS.emissionPerEpoch)
    await expectRevert(stranger.rewards.write.settle([w.address, epoch]), 'NothingToSettle', [
      w.address,
      epoch,
    ])
    expect(await owner.rewards.read.pendingReward([w.address])).toEqual([epoch, 0n])
  })

  it('pays an epoch to the pool the worker heartbeated for, even after it moved', async () => {
    const w = worker(0)
    await mined(w.mining.pools.write.submitScore([10])) // minimum stake 101 VEIL
    await mined(alice.pools.write.deposit([1, VEIL]))
    await mined(alice.pools.write.deposit([2, 101n * VEIL])) // pool 2 also covers worker 1
    const epoch = await nextEpoch()
    await mined(w.mining.rewards.write.heartbeat())
    await mined(operator.pools.write.unbindWorker([w.address]))
    await mined(operator.pools.write.bindWorker([2, w.address]))
    await nextEpoch()
    const { events } = await mined(w.mining.rewards.write.heartbeat())
    expect(only(events, 'RewardSettled')[0]?.args).toMatchObject({ pool: 1, epoch })
    expect(only(events, 'RewardDistributed')[0]?.args.pool).toBe(1)
    expect(only(events, 'Heartbeat')[0]?.args).toMatchObject({ pool: 2, epoch: epoch + 1n })
  })

  it('only registered, active, bound workers heartbeat; only active ones are settled', async () => {
    const pending = await registeredWorker()
    const unbound = await activeWorker()
    const strangerAddress = t.as(9).account.address
    await expectRevert(stranger.rewards.write.heartbeat(), 'NotActiveWorker', [strangerAddress])
    await expectRevert(pending.mining.rewards.write.heartbeat(), 'NotActiveWorker', [pending.address])
    await expectRevert(unbound.mining.rewards.write.heartbeat(), 'WorkerNotBound', [unbound.address])

    const w = worker(1)
    await mined(w.mining.pools.write.submitScore([10])) // minimum stake 101 VEIL
    await mined(alice.pools.write.deposit([2, VEIL]))
    const epoch = await nextEpoch()
    await mined(w.mining.rewards.write.heartbeat())
    await mined(kms.registry.write.revokeWorker([w.address]))
    await nextEpoch()
    await expectRevert(stranger.rewards.write.settle([w.address, epoch]), 'NotActiveWorker', [w.address])
    await expectRevert(w.mining.rewards.write.heartbeat(), 'NotActiveWorker', [w.address])
    await expectRevert(stranger.rewards.write.settle([pending.address, epoch]), 'NotActiveWorker', [
      pending.address,
    ])
  })

  it("requires the worker's pool to cover its workers' minimum stakes", async () => {
    const w = worker(0)
    await mined(w.mining.pools.write.submitScore([1_000]))
    await expectRevert(w.mining.rewards.write.heartbeat(), 'InsufficientStake', [1, 100n * VEIL, 200n * VEIL])
    await mined(alice.pools.write.deposit([1, 100n * VEIL]))
    const { events } = await mined(w.mining.rewards.write.heartbeat())
    expect(only(events, 'Heartbeat')[0]?.args.stakeFactor).toBe(WAD) // exactly covered
  })

  it('keeps the emission within the bounds fixed at deployment; a change applies to epochs not started', async () => {
    const max = PARAMS.maxEmission
    await expectRevert(owner.rewards.write.setEmission([0n]), 'EmissionOutOfBounds', [0n, 1n, max])
    await expectRevert(owner.rewards.write.setEmission([max + 1n]), 'EmissionOutOfBounds', [
      max + 1n,
      1n,
      max,
    ])
    await expectRevert(stranger.rewards.write.setEmission([5n]), 'OwnableUnauthorizedAccount')

    const w = worker(0)
    await mined(w.mining.pools.write.submitScore([10])) // minimum stake 101 VEIL
    await mined(alice.pools.write.deposit([1, VEIL]))
    const epoch = await nextEpoch()
    await mined(w.mining.rewards.write.heartbeat()) // fixes this epoch's emission
    const changed = await mined(owner.rewards.write.setEmission([max]))
    expect(changed.events).toMatchObject([
      { eventName: 'EmissionChanged', args: { previousEmission: PARAMS.emissionPerEpoch, emission: max } },
    ])
    expect((await owner.rewards.read.getEpoch([epoch])).emission).toBe(PARAMS.emissionPerEpoch)
    await nextEpoch()
    const { events } = await mined(w.mining.rewards.write.heartbeat())
    expect(only(events, 'EpochStarted')[0]?.args).toEqual({ epoch: epoch + 1n, emission: max })
    expect(only(events, 'RewardSettled')[0]?.args.reward).toBe(PARAMS.emissionPerEpoch)
  })
})

describe('Rewards: offline reports and slashing', () => {
  it('reports a worker after N missed epochs, slashes its pool pro rata, and takes it back', async () => {
    const w = worker(0)
    await mined(w.mining.pools.write.submitScore([1_000])) // minimum stake 200 VEIL: slash 10 % = 20 VEIL
    await mined(alice.pools.write.deposit([1, 300n * VEIL]))
    const epoch = await nextEpoch()
    await mined(w.mining.rewards.write.heartbeat())

    await toEpoch(epoch + 3n) // epochs +1 and +2 missed
    await expectRevert(stranger.rewards.write.reportOffline([w.address]), 'WorkerNotReportable', [
      w.address,
      2n,
      3n,
    ])
    await toEpoch(epoch + 4n)
    const [, aliceBefore] = await owner.pools.read.stakeOf([1, aliceAddress])
    const [, operatorBefore] = await owner.pools.read.stakeOf([1, operatorAddress])
    const treasuryBefore = await balanceOf(treasury)
    const { events } = await mined(stranger.rewards.write.reportOffline([w.address]))
    expect(events.filter((e) => e.eventName !== 'Transfer' && e.eventName !== 'PoolSlashed')).toMatchObject([
      { eventName: 'WorkerOffline', args: { worker: w.address, pool: 1, missedEpochs: 3n } },
      { eventName: 'Slashed', args: { worker: w.address, pool: 1, amount: 20n * VEIL, treasury } },
    ])
    expect(await balanceOf(treasury)).toBe(treasuryBefore + 20n * VEIL)
    expect((await owner.pools.read.getPool([1])).assets).toBe(380n * VEIL)
    // Every share bears the slash: both stakes lose 5 % (to the unit).
    const [, aliceAfter] = await owner.pools.read.stakeOf([1, aliceAddress])
    const [, operatorAfter] = await owner.pools.read.stakeOf([1, operatorAddress])
    expect((aliceBefore * 95n) / 100n - aliceAfter).toBeLessThanOrEqual(1n)
    expect((operatorBefore * 95n) / 100n - operatorAfter).toBeLessThanOrEqual(1n)
    expect(await owner.rewards.read.livenessOf([w.address])).toEqual([true, 3n])
    await expectRevert(stranger.rewards.write.reportOffline([w.address]), 'WorkerAlreadyOffline', [w.address])

    const back = await mined(w.mining.rewards.write.heartbeat())
    expect(back.events.map((e) => e.eventName)).toContain('WorkerOnline')
    expect(only(back.events, 'WorkerOnline')[0]?.args).toEqual({
      worker: w.address,
      pool: 1,
      epoch: epoch + 4n,
    })
    expect(only(back.events, 'RewardSettled')[0]?.args.epoch).toBe(epoch) // the old epoch is still paid
    expect(await owner.rewards.read.livenessOf([w.address])).toEqual([false, 0n])
  })

  it('counts missed epochs from the binding for a worker that never heartbeated', async () => {
    const fresh = await activeWorker()
    await mined(operator.pools.write.bindWorker([2, fresh.address]))
    const epoch = await currentEpoch()
    await toEpoch(epoch + 3n)
    await expectRevert(stranger.rewards.write.reportOffline([fresh.address]), 'WorkerNotReportable', [
      fresh.address,
      2n,
      3n,
    ])
    await toEpoch(epoch + 4n)
    const { events } = await mined(stranger.rewards.write.reportOffline([fresh.address]))
    // Score 0: the minimum stake is the base, 100 VEIL; 10 % of it is slashed.
    expect(only(events, 'Slashed')[0]?.args.amount).toBe(10n * VEIL)
    const unbound = await activeWorker()
    await expectRevert(stranger.rewards.write.reportOffline([unbound.address]), 'WorkerNotBound', [
      unbound.address,
    ])
  })
})

describe('errors', () => {
  it('explains mining reverts with a hint', async () => {
    try {
      await stranger.rewards.write.heartbeat()
      expect.unreachable()
    } catch (error) {
      const explained = explainMiningError(error, 'heartbeat')
      expect(explained.errorName).toBe('NotActiveWorker')
      expect(explained.hint).toMatch(/active Registry worker/)
    }
  })
})

// ------------------------------------------------------------------------------ property tests

interface WorkerSetup {
  score: number
  /** Pool assets as a multiple of the worker's minimum stake, in thousandths (≥ 1,000: covered). */
  stakeMillis: number
  commissionBps: number
  heartbeats: boolean
}

/**
 * One epoch on chain with the four bound workers set up as given: scores, stakes and commissions,
 * heartbeats by those that heartbeat, then settlement. Checks the chain against the TypeScript model.
 */
async function checkEpoch(emission: bigint, setups: WorkerSetup[], perScore: bigint): Promise<void> {
  const id = await testClient.snapshot()
  try {
    if (perScore !== PARAMS.minStakePerScore)
      await mined(owner.pools.write.setMinStake([PARAMS.minStakeBase, perScore]))
    await mined(owner.rewards.write.setEmission([emission]))
    const assets: bigint[] = []
    for (const [i, setup] of setups.entries()) {
      const pool = POOLS[i] ?? 0
      const required = minStake(setup.score, {
        minStakeBase: PARAMS.minStakeBase,
        minStakePerScore: perScore,
      })
      const target = (required * BigInt(setup.stakeMillis) + 999n) / 1_000n
      await mined(worker(i).mining.pools.write.submitScore([setup.score]))
      await mined(operator.pools.write.setCommission([pool, setup.commissionBps])) // a cut: at once
      if (target > OPERATOR_STAKE) await mined(alice.pools.write.deposit([pool, target - OPERATOR_STAKE]))
      assets.push(target > OPERATOR_STAKE ? target : OPERATOR_STAKE)
    }
    const epoch = await nextEpoch()
    const active = [...setups.keys()].filter((i) => setups[i]?.heartbeats)
    const heartbeats = await inParallel(active.map((i) => mined(worker(i).mining.rewards.write.heartbeat())))
    const weights = active.map((i) => {
      const setup = setups[i]
      if (!setup) throw new Error('no setup')
      const required = minStake(setup.score, {
        minStakeBase: PARAMS.minStakeBase,
        minStakePerScore: perScore,
      })
      return heartbeatWeight(setup.score, stakeFactor(assets[i] ?? 0n, required, PARAMS.maxStakeFactor))
    })
    expect(heartbeats.map(({ events }) => only(events, 'Heartbeat')[0]?.args.weight)).toEqual(weights)

    await nextEpoch()
    const operatorBefore = await balanceOf(operatorAddress)
    const supplyBefore = await owner.token.read.totalSupply()
    const settled = await inParallel(
      active.map(async (i, k) => {
        const settle = worker(i).mining.rewards.write.settle([worker(i).address, epoch])
        if (weights[k] !== 0n) return (await mined(settle)).events
        // A score of 0 weighs nothing: there is nothing to settle.
        await expectRevert(settle, 'NothingToSettle', [worker(i).address, epoch])
        return []
      }),
    )
    const model = splitEpochReward(
      emission,
      weights,
      active.map((i) => setups[i]?.commissionBps ?? 0),
    )
    const paid = settled.map((events) => only(events, 'RewardSettled')[0]?.args.reward ?? 0n)
    const totalWeight = weights.reduce((a, b) => a + b, 0n)
    const total = paid.reduce((a, b) => a + b, 0n)
    // Exactly the model, never more than the emission, each within one unit of its exact share.
    expect(paid).toEqual(model.rewards.map((r) => r.reward))
    expect(total).toBeLessThanOrEqual(emission)
    expect(await owner.token.read.totalSupply()).toBe(supplyBefore + total)
    for (const [k, reward] of paid.entries()) {
      if (totalWeight === 0n) break // every heartbeat weighed 0: nothing is paid
      const exact = emission * (weights[k] ?? 0n) // ÷ totalWeight
      expect(exact - reward * totalWeight).toBeGreaterThanOrEqual(0n)
      expect(exact - reward * totalWeight).toBeLessThan(totalWeight)
    }
    // Commission exact to the unit, per pool and in the operator's balance.
    const commissions = settled.map((events) => only(events, 'RewardDistributed')[0]?.args.commission ?? 0n)
    expect(commissions).toEqual(model.rewards.map((r) => r.commission))
    expect(await balanceOf(operatorAddress)).toBe(operatorBefore + commissions.reduce((a, b) => a + b, 0n))
    for (const [k, i] of active.entries()) {
      const pool = POOLS[i] ?? 0
      const [, , aliceRewards] = await owner.pools.read.stakeOf([pool, aliceAddress])
      const [, , operatorRewards] = await owner.pools.read.stakeOf([pool, operatorAddress])
      const delegators = model.rewards[k]?.delegators ?? 0n
      expect(aliceRewards + operatorRewards).toBeLessThanOrEqual(delegators)
      expect(aliceRewards + operatorRewards).toBeGreaterThanOrEqual(delegators - 2n)
    }
  } finally {
    await testClient.revert({ id })
  }
}

// Few runs, and no shrinking: every run is a dozen transactions, and a counterexample is readable as is.
const PROPERTY_RUNS = { numRuns: 10, endOnFailure: true }

const workerSetup = (score: fc.Arbitrary<number>) =>
  fc.record({
    score,
    stakeMillis: fc.integer({ min: 1_000, max: 2_600 }),
    commissionBps: fc.integer({ min: 0, max: PARAMS.maxCommissionBps }),
    heartbeats: fc.boolean(),
  })
const atLeastOneHeartbeat = (setups: WorkerSetup[]) =>
  setups.some((s) => s.heartbeats) ? setups : setups.map((s, i) => (i === 0 ? { ...s, heartbeats: true } : s))

describe('reward split (property tests against the chain)', () => {
  it('pays each worker emission × weight / total, rounded down, with exact commissions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 1n, max: PARAMS.maxEmission }),
        fc.array(workerSetup(fc.integer({ min: 0, max: 5_000 })), { minLength: 4, maxLength: 4 }),
        async (emission, setups) =>
          checkEpoch(emission, atLeastOneHeartbeat(setups), PARAMS.minStakePerScore),
      ),
      PROPERTY_RUNS,
    )
  })

  it('holds for extreme scores and tiny emissions (rounding dust stays unminted)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 1n, max: 1_000n }),
        fc.array(workerSetup(fc.integer({ min: 0, max: 2 ** 32 - 1 })), { minLength: 4, maxLength: 4 }),
        // Score-independent minimum stake, so that any uint32 score can be staked for.
        async (emission, setups) => checkEpoch(emission, atLeastOneHeartbeat(setups), 0n),
      ),
      PROPERTY_RUNS,
    )
  })

  it("splits the delegators' part by shares, never paying out more than it", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: PARAMS.maxCommissionBps }),
        fc.bigInt({ min: 1n, max: 1_000n * VEIL }),
        fc.bigInt({ min: 1n, max: 1_000n * VEIL }),
        fc.bigInt({ min: 1n, max: PARAMS.maxEmission }),
        async (commissionBps, aliceDeposit, bobDeposit, emission) => {
          const id = await testClient.snapshot()
          try {
            const w = worker(0)
            await mined(owner.rewards.write.setEmission([emission]))
            await mined(operator.pools.write.setCommission([1, commissionBps]))
            await mined(w.mining.pools.write.submitScore([1_000]))
            await mined(alice.pools.write.deposit([1, 100n * VEIL + aliceDeposit])) // covers 200 VEIL
            await mined(bob.pools.write.deposit([1, bobDeposit]))
            const epoch = await nextEpoch()
            await mined(w.mining.rewards.write.heartbeat())
            await nextEpoch()
            const operatorBefore = await balanceOf(operatorAddress)
            await mined(stranger.rewards.write.settle([w.address, epoch]))
            // The only worker of the epoch earns the whole emission.
            const commission = (emission * BigInt(commissionBps)) / 10_000n
            expect(await balanceOf(operatorAddress)).toBe(operatorBefore + commission)
            const delegators = emission - commission
            const { totalShares } = await owner.pools.read.getPool([1])
            let claimed = 0n
            for (const [m, address] of [
              [operator, operatorAddress],
              [alice, aliceAddress],
              [bob, bobAddress],
            ] as const) {
              const [shares, , rewards] = await owner.pools.read.stakeOf([1, address])
              const exact = delegators * shares // ÷ totalShares
              expect(exact - rewards * totalShares).toBeGreaterThanOrEqual(0n)
              expect(exact - rewards * totalShares).toBeLessThan(2n * totalShares)
              if (rewards === 0n) continue
              const before = await balanceOf(address)
              await mined(m.pools.write.claim([1]))
              expect(await balanceOf(address)).toBe(before + rewards)
              claimed += rewards
            }
            expect(claimed).toBeLessThanOrEqual(delegators)
          } finally {
            await testClient.revert({ id })
          }
        },
      ),
      PROPERTY_RUNS,
    )
  })
})
