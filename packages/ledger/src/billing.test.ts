import fc from 'fast-check'
import {
  type Address,
  getContract,
  type Hash,
  type Hex,
  hashTypedData,
  keccak256,
  maxUint256,
  type PrivateKeyAccount,
  recoverTypedDataAddress,
  type TestClient,
  type TransactionReceipt,
  toHex,
  zeroAddress,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Billing, StakingPools, VeilToken } from './artifacts/index.js'
import { deployArtifact } from './deploy.js'
import { devMeasurement, placeholderQuote, reportData } from './dev-attestation.js'
import { getLedger, type Ledger } from './ledger.js'
import {
  billingDomain,
  DEVNET_MINING_PARAMS,
  decodeMiningLogs,
  deployMining,
  getMining,
  type Mining,
  type MiningDeployment,
  type MiningEvent,
  type MiningParams,
  USAGE_RECEIPT_TYPES,
  VEIL,
} from './mining.js'
import { ledgerAssertions, revertEachTest } from './test-assertions.js'
import { startTestLedger, type TestLedger } from './testing.js'

// Roles: dev account 0 owns the registry and the mining contracts (and holds the genesis supply), 1 is the
// KMS signer, 2 operates the pools and workers, 3 authors the Veil contracts, 4 delegates, 5 funds
// contracts, 6 relays receipts, 9 is a stranger. Workers are fresh random keys (they sign receipts with
// them), registered with a dev placeholder quote and approved by the KMS.
const PARAMS: MiningParams = {
  ...DEVNET_MINING_PARAMS,
  epochSeconds: 600,
  fuelPrice: 10n ** 9n,
  minFuelPrice: 10n ** 6n,
  maxFuelPrice: 10n ** 15n,
}
const MEASUREMENT = devMeasurement('billing-test')
const X25519 = keccak256(toHex('x25519'))
const CODE = toHex('export default { commands: {} }')
/** Cluster 1 runs the Veil contracts; cluster 2 has a worker of its own. */
const CLUSTER = 1n
const OTHER_CLUSTER = 2n
/** Contracts 1 and 2 are deployed to cluster 1 by the author. */
const CONTRACT = 1n
const OTHER_CONTRACT = 2n
const UNKNOWN_CONTRACT = 99n
/** Pool 1: commission 12.34 %, staked by the operator and Alice. Pool 2: commission 5 %, no stake. */
const POOL = 1
const EMPTY_POOL = 2
const COMMISSION_BPS = 1_234
const EMPTY_POOL_COMMISSION_BPS = 500
const OPERATOR_STAKE = 100n * VEIL
const ALICE_STAKE = 300n * VEIL + 7n
const REWARD_PRECISION = 10n ** 36n

let t: TestLedger
let testClient: TestClient
let deployment: MiningDeployment
let owner: Mining
let operator: Mining
let alice: Mining
let funder: Mining
let relayer: Mining
let stranger: Mining
let author: Ledger
let billingAddress: Address
let operatorAddress: Address
let aliceAddress: Address
let funderAddress: Address
let strangerAddress: Address
/** Cluster 1, pool 1. */
let w0: Worker
/** Cluster 1, pool 2 (no stake). */
let w1: Worker
/** Cluster 2, pool 1. */
let w2: Worker
/** Gas used by the billing transactions, printed once at the end. */
const gas: Record<string, bigint> = {}

interface Worker {
  address: Address
  account: PrivateKeyAccount
  ledger: Ledger
}

interface UsageReceipt {
  contractId: bigint
  worker: Address
  seq: bigint
  queries: bigint
  queryFuel: bigint
  queryCharge: bigint
  commandCharges: bigint
}

const { expectRevert } = ledgerAssertions(() => t.publicClient)

/** Waits for the transaction, requires success and decodes the mining (and billing) events it emitted. */
async function mined(sent: Promise<Hash>) {
  const receipt = await t.publicClient.waitForTransactionReceipt({ hash: await sent })
  expect(receipt.status).toBe('success')
  return { receipt, events: decodeMiningLogs(receipt.logs) }
}

function only<N extends MiningEvent['eventName']>(events: MiningEvent[], name: N) {
  return events.filter((e): e is Extract<MiningEvent, { eventName: N }> => e.eventName === name)
}

/** The Billing handle of a mining binding, which deployMining always fills in. */
function billingOf(m: Mining) {
  if (!m.billing) throw new Error('the mining deployment has no Billing contract')
  return m.billing
}

beforeAll(async () => {
  t = await startTestLedger({ devMode: true })
  testClient = t.testClient
  const kms = t.as(1).ledger
  author = t.as(3).ledger
  await mined(t.owner.registry.write.addKmsSigner([t.as(1).account.address]))
  await mined(t.owner.registry.write.allowMeasurement([MEASUREMENT]))
  await mined(t.owner.registry.write.createCluster())
  await mined(t.owner.registry.write.createCluster())
  await mined(author.contracts.write.uploadCode([CODE]))
  for (const _ of [CONTRACT, OTHER_CONTRACT]) {
    await mined(author.contracts.write.deploy([CLUSTER, keccak256(CODE), '0x', 0n]))
  }
  deployment = await deployMining({
    publicClient: t.publicClient,
    walletClient: t.as(0).walletClient,
    registry: t.addresses.registry,
    contracts: t.addresses.contracts,
    params: PARAMS,
  })
  billingAddress = deployment.addresses.billing
  const as = (index: number) =>
    getMining({
      publicClient: t.publicClient,
      walletClient: t.as(index).walletClient,
      addresses: deployment.addresses,
    })
  owner = as(0)
  operator = as(2)
  alice = as(4)
  funder = as(5)
  relayer = as(6)
  stranger = as(9)
  operatorAddress = t.as(2).account.address
  aliceAddress = t.as(4).account.address
  funderAddress = t.as(5).account.address
  strangerAddress = t.as(9).account.address

  for (const account of [operatorAddress, aliceAddress, funderAddress]) {
    await mined(owner.token.write.transfer([account, 1_000_000n * VEIL]))
  }
  await mined(operator.token.write.approve([deployment.addresses.pools, maxUint256]))
  await mined(alice.token.write.approve([deployment.addresses.pools, maxUint256]))
  await mined(funder.token.write.approve([billingAddress, maxUint256]))

  w0 = await activeWorker()
  w1 = await activeWorker()
  w2 = await activeWorker()
  await mined(t.owner.registry.write.addClusterMember([CLUSTER, w0.address]))
  await mined(t.owner.registry.write.addClusterMember([CLUSTER, w1.address]))
  await mined(kms.registry.write.addClusterMember([OTHER_CLUSTER, w2.address]))
  await mined(operator.pools.write.createPool([COMMISSION_BPS]))
  await mined(operator.pools.write.createPool([EMPTY_POOL_COMMISSION_BPS]))
  await mined(operator.pools.write.deposit([POOL, OPERATOR_STAKE]))
  await mined(alice.pools.write.deposit([POOL, ALICE_STAKE]))
  await mined(operator.pools.write.bindWorker([POOL, w0.address]))
  await mined(operator.pools.write.bindWorker([EMPTY_POOL, w1.address]))
  await mined(operator.pools.write.bindWorker([POOL, w2.address]))
})
afterAll(async () => {
  if (Object.keys(gas).length > 0) console.info('billing gas used:', gas)
  await t?.stop()
})
// Every test starts from: clusters 1 and 2, contracts 1 and 2 in cluster 1 with no balance, pools 1 and 2,
// workers w0 (cluster 1, pool 1), w1 (cluster 1, pool 2) and w2 (cluster 2, pool 1), no receipt claimed.
revertEachTest(() => t)

/** A new worker identity with gas money, registered (pending) with the operator as its operator. */
async function registeredWorker(): Promise<Worker> {
  const { account, walletClient } = await t.newAccount()
  const w: Worker = {
    address: account.address,
    account,
    ledger: getLedger({ publicClient: t.publicClient, walletClient, addresses: t.addresses }),
  }
  const quote = placeholderQuote(reportData(account.address, X25519, 31337, t.addresses.registry))
  await mined(
    w.ledger.registry.write.registerWorker([
      X25519,
      'https://w.example.org',
      MEASUREMENT,
      operatorAddress,
      quote,
    ]),
  )
  return w
}

async function activeWorker(): Promise<Worker> {
  const w = await registeredWorker()
  await mined(t.as(1).ledger.registry.write.approveWorker([w.address]))
  return w
}

function domain(verifyingContract: Address = billingAddress, chainId = 31337) {
  return billingDomain(chainId, verifyingContract)
}

function usage(w: Worker, fields: Partial<UsageReceipt> = {}): UsageReceipt {
  return {
    contractId: CONTRACT,
    worker: w.address,
    seq: 1n,
    queries: 0n,
    queryFuel: 0n,
    queryCharge: 0n,
    commandCharges: 0n,
    ...fields,
  }
}

/** The worker's EIP-712 signature of the receipt. */
function sign(w: Worker, receipt: UsageReceipt, signingDomain = domain()): Promise<Hex> {
  return w.account.signTypedData({
    domain: signingDomain,
    types: USAGE_RECEIPT_TYPES,
    primaryType: 'UsageReceipt',
    message: receipt,
  })
}

/** Signs the receipt as its worker and has `by` (the relayer unless told) submit it. */
async function claim(w: Worker, receipt: UsageReceipt, by: Mining = relayer) {
  const result = await mined(billingOf(by).write.claimUsage([receipt, await sign(w, receipt)]))
  const claimed = only(result.events, 'UsageClaimed')
  expect(claimed).toHaveLength(1)
  const args = claimed[0]?.args
  if (!args) throw new Error('no UsageClaimed')
  return { ...result, args, paid: args.commandPaid + args.queryPaid }
}

async function fund(contractId: bigint, amount: bigint, by: Mining = funder) {
  return mined(billingOf(by).write.fund([contractId, amount]))
}

async function tokenBalance(account: Address): Promise<bigint> {
  return owner.token.read.balanceOf([account])
}

async function contractBalance(contractId: bigint): Promise<bigint> {
  return billingOf(owner).read.balanceOf([contractId])
}

/** Records the gas a billing transaction used; every billing function is O(1), so a loose cap holds. */
function recordGas(name: string, receipt: TransactionReceipt, cap: bigint) {
  gas[name] = receipt.gasUsed
  expect(receipt.gasUsed).toBeLessThan(cap)
}

describe('deployment', () => {
  it('wires Billing to the registries, the token and the pools, with the fuel price bounds', async () => {
    const billing = billingOf(owner)
    expect(await owner.pools.read.billing()).toBe(billingAddress)
    expect((await billing.read.registry()).toLowerCase()).toBe(t.addresses.registry.toLowerCase())
    expect((await billing.read.contracts()).toLowerCase()).toBe(t.addresses.contracts.toLowerCase())
    expect(await billing.read.token()).toBe(deployment.addresses.token)
    expect(await billing.read.pools()).toBe(deployment.addresses.pools)
    expect(await billing.read.owner()).toBe(t.as(0).account.address)
    expect(await billing.read.fuelPrice()).toBe(PARAMS.fuelPrice)
    expect(await billing.read.minFuelPrice()).toBe(PARAMS.minFuelPrice)
    expect(await billing.read.maxFuelPrice()).toBe(PARAMS.maxFuelPrice)
    await expectRevert(
      billing.read.renounceOwnership({ account: t.as(0).account.address }),
      'RenounceDisabled',
      [],
    )
    await expectRevert(
      billing.read.renounceOwnership({ account: strangerAddress }),
      'OwnableUnauthorizedAccount',
      [strangerAddress],
    )
  })

  it('emitted FuelPriceChanged(0, initial) from the constructor', async () => {
    const logs = await t.publicClient.getContractEvents({
      address: billingAddress,
      abi: Billing.abi,
      eventName: 'FuelPriceChanged',
      fromBlock: BigInt(deployment.deployBlock),
    })
    expect(logs.map((l) => l.args)).toEqual([{ previousPrice: 0n, price: PARAMS.fuelPrice }])
  })

  it('uses the EIP-712 domain "Veil Billing" v1 and hashes receipts like viem', async () => {
    const billing = billingOf(owner)
    const [, name, version, chainId, verifyingContract] = await billing.read.eip712Domain()
    expect({ name, version, chainId, verifyingContract }).toEqual({
      name: 'Veil Billing',
      version: '1',
      chainId: 31337n,
      verifyingContract: billingAddress,
    })
    expect(await billing.read.USAGE_RECEIPT_TYPEHASH()).toBe(
      keccak256(
        toHex(
          'UsageReceipt(uint64 contractId,address worker,uint64 seq,uint64 queries,uint256 queryFuel,uint256 queryCharge,uint256 commandCharges)',
        ),
      ),
    )
    const receipt = usage(w0, {
      seq: 2n ** 64n - 1n,
      queries: 3n,
      queryFuel: 12_345n,
      queryCharge: maxUint256,
      commandCharges: 7n,
    })
    expect(await billing.read.receiptDigest([receipt])).toBe(
      hashTypedData({
        domain: domain(),
        types: USAGE_RECEIPT_TYPES,
        primaryType: 'UsageReceipt',
        message: receipt,
      }),
    )
  })
})

describe('fund', () => {
  it('adds to the balance, takes the tokens and emits ContractFunded; anyone may fund', async () => {
    // The funder is not the Veil contract's owner (the author is).
    expect((await author.contracts.read.getContract([CONTRACT])).owner).not.toBe(funderAddress)
    const funderBefore = await tokenBalance(funderAddress)
    const first = await fund(CONTRACT, 1_000n)
    recordGas('fund (first, empty balance)', first.receipt, 100_000n)
    expect(only(first.events, 'ContractFunded')).toMatchObject([
      {
        address: billingAddress.toLowerCase(),
        args: { contractId: CONTRACT, funder: funderAddress, amount: 1_000n, balance: 1_000n },
      },
    ])
    const second = await fund(CONTRACT, 234n)
    recordGas('fund (again)', second.receipt, 70_000n)
    expect(only(second.events, 'ContractFunded')).toMatchObject([
      { args: { contractId: CONTRACT, funder: funderAddress, amount: 234n, balance: 1_234n } },
    ])
    expect(await contractBalance(CONTRACT)).toBe(1_234n)
    expect(await contractBalance(OTHER_CONTRACT)).toBe(0n)
    expect(await tokenBalance(billingAddress)).toBe(1_234n)
    expect(await tokenBalance(funderAddress)).toBe(funderBefore - 1_234n)

    // The author funds too; balances add up regardless of who paid.
    await mined(owner.token.write.transfer([t.as(3).account.address, 10n]))
    const authorMining = getMining({
      publicClient: t.publicClient,
      walletClient: t.as(3).walletClient,
      addresses: deployment.addresses,
    })
    await mined(authorMining.token.write.approve([billingAddress, 10n]))
    await fund(CONTRACT, 10n, authorMining)
    expect(await contractBalance(CONTRACT)).toBe(1_244n)
  })

  it('refuses an unknown contract id and a zero amount', async () => {
    await expectRevert(billingOf(funder).write.fund([UNKNOWN_CONTRACT, 1n]), 'UnknownContract', [
      UNKNOWN_CONTRACT,
    ])
    await expectRevert(billingOf(funder).write.fund([0n, 1n]), 'UnknownContract', [0n])
    await expectRevert(billingOf(funder).write.fund([CONTRACT, 0n]), 'ZeroAmount', [])
  })

  it('needs an allowance and the tokens (the token reverts; its errors decode with its ABI)', async () => {
    await mined(owner.token.write.transfer([strangerAddress, 100n]))
    // Billing's ABI does not carry the token's errors (through getMining().billing this revert decodes as
    // `unknown()`): add them to name the revert.
    const withTokenErrors = getContract({
      address: billingAddress,
      abi: [...Billing.abi, ...VeilToken.abi.filter((item) => item.type === 'error')],
      client: { public: t.publicClient, wallet: t.as(9).walletClient },
    })
    await expectRevert(withTokenErrors.write.fund([CONTRACT, 100n]), 'ERC20InsufficientAllowance', [
      billingAddress,
      0n,
      100n,
    ])
    await mined(stranger.token.write.approve([billingAddress, 1_000n]))
    await expectRevert(withTokenErrors.write.fund([CONTRACT, 101n]), 'ERC20InsufficientBalance', [
      strangerAddress,
      100n,
      101n,
    ])
    expect(await contractBalance(CONTRACT)).toBe(0n)
  })
})

describe('setFuelPrice', () => {
  it('moves the price within [min, max] and emits FuelPriceChanged', async () => {
    const billing = billingOf(owner)
    const { events } = await mined(billing.write.setFuelPrice([PARAMS.maxFuelPrice]))
    expect(only(events, 'FuelPriceChanged')).toMatchObject([
      { args: { previousPrice: PARAMS.fuelPrice, price: PARAMS.maxFuelPrice } },
    ])
    const low = await mined(billing.write.setFuelPrice([PARAMS.minFuelPrice]))
    expect(only(low.events, 'FuelPriceChanged')).toMatchObject([
      { args: { previousPrice: PARAMS.maxFuelPrice, price: PARAMS.minFuelPrice } },
    ])
    expect(await billing.read.fuelPrice()).toBe(PARAMS.minFuelPrice)
  })

  it('refuses a price out of bounds', async () => {
    const billing = billingOf(owner)
    for (const price of [PARAMS.minFuelPrice - 1n, PARAMS.maxFuelPrice + 1n, 0n, maxUint256]) {
      await expectRevert(billing.write.setFuelPrice([price]), 'FuelPriceOutOfBounds', [
        price,
        PARAMS.minFuelPrice,
        PARAMS.maxFuelPrice,
      ])
    }
    expect(await billing.read.fuelPrice()).toBe(PARAMS.fuelPrice)
  })

  it('is for the owner only', async () => {
    await expectRevert(
      billingOf(stranger).write.setFuelPrice([PARAMS.fuelPrice]),
      'OwnableUnauthorizedAccount',
      [strangerAddress],
    )
    await expectRevert(
      billingOf(operator).write.setFuelPrice([PARAMS.fuelPrice]),
      'OwnableUnauthorizedAccount',
      [operatorAddress],
    )
  })
})

describe('claimUsage', () => {
  it('pays the pool commandPaid + queryPaid: commission to the operator, the rest to its delegators', async () => {
    await fund(CONTRACT, 10n * VEIL)
    const operatorBefore = await tokenBalance(operatorAddress)
    const poolsBefore = await tokenBalance(deployment.addresses.pools)
    const poolBefore = await owner.pools.read.getPool([POOL])
    expect(poolBefore.rewardPerShare).toBe(0n)
    const receipt = usage(w0, {
      seq: 1n,
      queries: 17n,
      queryFuel: 1_700_001n,
      queryCharge: 1_700_001n * PARAMS.fuelPrice,
      commandCharges: 3_333_333n * PARAMS.fuelPrice + 1n,
    })
    const commandPaid = receipt.commandCharges
    const queryPaid = receipt.queryCharge
    const paid = commandPaid + queryPaid

    const { receipt: tx, events, args } = await claim(w0, receipt)
    recordGas('claimUsage (first receipt, pool with delegators)', tx, 220_000n)
    expect(args).toEqual({
      contractId: CONTRACT,
      worker: w0.address,
      pool: POOL,
      seq: 1n,
      queries: 17n,
      queryFuel: 1_700_001n,
      commandPaid,
      queryPaid,
    })
    const commission = (paid * BigInt(COMMISSION_BPS)) / 10_000n
    const delegators = paid - commission
    expect(only(events, 'RewardDistributed')).toMatchObject([
      { args: { pool: POOL, amount: paid, commission, delegators } },
    ])
    expect(await contractBalance(CONTRACT)).toBe(10n * VEIL - paid)
    expect(await tokenBalance(billingAddress)).toBe(10n * VEIL - paid)
    expect(await billingOf(owner).read.commandsSettled([CONTRACT])).toBe(commandPaid)
    expect(await billingOf(owner).read.lastReceipt([w0.address, CONTRACT])).toBe(1n)
    expect(await tokenBalance(operatorAddress)).toBe(operatorBefore + commission)
    expect(await tokenBalance(deployment.addresses.pools)).toBe(poolsBefore + delegators)

    // The accumulator grows by floor(delegators × 1e36 / totalShares); each staker earns
    // floor(shares × accumulator / 1e36) (its debt was 0), never more than the delegators' part.
    const pool = await owner.pools.read.getPool([POOL])
    const perShare = (delegators * REWARD_PRECISION) / poolBefore.totalShares
    expect(pool.rewardPerShare).toBe(perShare)
    expect(pool.assets).toBe(poolBefore.assets) // rewards are not stake
    const [aliceShares, , aliceRewards] = await owner.pools.read.stakeOf([POOL, aliceAddress])
    const [operatorShares, , operatorRewards] = await owner.pools.read.stakeOf([POOL, operatorAddress])
    expect(aliceShares + operatorShares).toBe(poolBefore.totalShares)
    expect(aliceRewards).toBe((aliceShares * perShare) / REWARD_PRECISION)
    expect(operatorRewards).toBe((operatorShares * perShare) / REWARD_PRECISION)
    expect(aliceRewards + operatorRewards).toBeLessThanOrEqual(delegators)
    expect(aliceRewards + operatorRewards).toBeGreaterThanOrEqual(delegators - 2n)

    const aliceBefore = await tokenBalance(aliceAddress)
    const claimed = await mined(alice.pools.write.claim([POOL]))
    expect(only(claimed.events, 'Claimed')).toMatchObject([
      { args: { pool: POOL, delegator: aliceAddress, amount: aliceRewards } },
    ])
    expect(await tokenBalance(aliceAddress)).toBe(aliceBefore + aliceRewards)
    const operatorAfterCommission = await tokenBalance(operatorAddress)
    await mined(operator.pools.write.claim([POOL]))
    expect(await tokenBalance(operatorAddress)).toBe(operatorAfterCommission + operatorRewards)
  })

  it('pays everything to the operator of a pool without stake', async () => {
    await fund(CONTRACT, 1_000n)
    const operatorBefore = await tokenBalance(operatorAddress)
    const { events, paid, args } = await claim(w1, usage(w1, { queryCharge: 300n, commandCharges: 99n }))
    expect(args).toMatchObject({ pool: EMPTY_POOL, commandPaid: 99n, queryPaid: 300n })
    expect(only(events, 'RewardDistributed')).toMatchObject([
      { args: { pool: EMPTY_POOL, amount: 399n, commission: 399n, delegators: 0n } },
    ])
    expect(await tokenBalance(operatorAddress)).toBe(operatorBefore + paid)
    expect(await contractBalance(CONTRACT)).toBe(601n)
  })

  it('claims a receipt once: a replay or a lower seq is refused, the next seq works, anyone relays', async () => {
    await fund(CONTRACT, 1_000n)
    const first = usage(w0, { seq: 5n, queries: 1n, queryFuel: 10n, queryCharge: 10n })
    const signature = await sign(w0, first)
    // Submitted by a stranger: neither the worker nor its operator.
    const submitted = await mined(billingOf(stranger).write.claimUsage([first, signature]))
    expect(only(submitted.events, 'UsageClaimed')).toMatchObject([{ args: { seq: 5n, queryPaid: 10n } }])

    await expectRevert(billingOf(relayer).write.claimUsage([first, signature]), 'ReceiptAlreadyClaimed', [
      w0.address,
      CONTRACT,
      5n,
      5n,
    ])
    const lower = usage(w0, { seq: 4n, queryCharge: 10n })
    await expectRevert(
      billingOf(relayer).write.claimUsage([lower, await sign(w0, lower)]),
      'ReceiptAlreadyClaimed',
      [w0.address, CONTRACT, 4n, 5n],
    )
    const next = await claim(w0, usage(w0, { seq: 6n, queryCharge: 20n }))
    recordGas('claimUsage (next receipt)', next.receipt, 160_000n)
    expect(next.args).toMatchObject({ seq: 6n, queryPaid: 20n })
    expect(await billingOf(owner).read.lastReceipt([w0.address, CONTRACT])).toBe(6n)
    expect(await contractBalance(CONTRACT)).toBe(970n)

    // seq 0 is never claimable; receipt numbers count per worker and per contract.
    const zero = usage(w1, { seq: 0n })
    await expectRevert(
      billingOf(relayer).write.claimUsage([zero, await sign(w1, zero)]),
      'ReceiptAlreadyClaimed',
      [w1.address, CONTRACT, 0n, 0n],
    )
    await fund(OTHER_CONTRACT, 100n)
    const other = await claim(w0, usage(w0, { contractId: OTHER_CONTRACT, seq: 1n, queryCharge: 1n }))
    expect(other.args).toMatchObject({ contractId: OTHER_CONTRACT, seq: 1n, queryPaid: 1n })
    expect((await claim(w1, usage(w1, { seq: 1n, queryCharge: 1n }))).args.queryPaid).toBe(1n)
  })

  it('settles cumulative command charges once across the cluster; a higher total pays the increment', async () => {
    await fund(CONTRACT, 10_000n)
    const a = await claim(w0, usage(w0, { seq: 1n, commandCharges: 1_000n, queryCharge: 5n }))
    expect(a.args).toMatchObject({ commandPaid: 1_000n, queryPaid: 5n })
    // The other worker of the cluster saw the same commands: their charges are already settled.
    const b = await claim(w1, usage(w1, { seq: 1n, commandCharges: 1_000n, queryCharge: 7n }))
    expect(b.args).toMatchObject({ pool: EMPTY_POOL, commandPaid: 0n, queryPaid: 7n })
    // An older, lower total pays nothing for commands (and does not lower what is settled).
    const c = await claim(w0, usage(w0, { seq: 2n, commandCharges: 400n }))
    expect(c.args).toMatchObject({ commandPaid: 0n, queryPaid: 0n })
    expect(only(c.events, 'RewardDistributed')).toEqual([]) // nothing paid, nothing distributed
    expect(await billingOf(owner).read.commandsSettled([CONTRACT])).toBe(1_000n)
    // A later total pays just the increment, to whichever worker claims it first.
    const d = await claim(w1, usage(w1, { seq: 2n, commandCharges: 1_500n }))
    expect(d.args).toMatchObject({ commandPaid: 500n, queryPaid: 0n })
    const e = await claim(w0, usage(w0, { seq: 3n, commandCharges: 1_500n, queryCharge: 1n }))
    expect(e.args).toMatchObject({ commandPaid: 0n, queryPaid: 1n })
    expect(await billingOf(owner).read.commandsSettled([CONTRACT])).toBe(1_500n)
    expect(await contractBalance(CONTRACT)).toBe(10_000n - 1_500n - 5n - 7n - 1n)
    // Settled per contract: the other contract's commands are still owed in full.
    await fund(OTHER_CONTRACT, 10_000n)
    const f = await claim(w0, usage(w0, { contractId: OTHER_CONTRACT, commandCharges: 1_500n }))
    expect(f.args).toMatchObject({ contractId: OTHER_CONTRACT, commandPaid: 1_500n })
  })

  it('pays only what is left when the balance runs out: commands first, then queries, never reverting', async () => {
    await fund(CONTRACT, 1_000n)
    const a = await claim(w0, usage(w0, { seq: 1n, commandCharges: 700n, queryCharge: 500n }))
    expect(a.args).toMatchObject({ commandPaid: 700n, queryPaid: 300n })
    expect(await contractBalance(CONTRACT)).toBe(0n)
    // Empty: the receipt is consumed, nothing is paid and nothing is distributed.
    const b = await claim(w1, usage(w1, { seq: 1n, commandCharges: 900n, queryCharge: 100n }))
    expect(b.args).toMatchObject({ commandPaid: 0n, queryPaid: 0n })
    expect(only(b.events, 'RewardDistributed')).toEqual([])
    expect(await billingOf(owner).read.lastReceipt([w1.address, CONTRACT])).toBe(1n)
    expect(await billingOf(owner).read.commandsSettled([CONTRACT])).toBe(700n)

    // Commands take a short balance before queries do.
    await fund(CONTRACT, 150n)
    const c = await claim(w0, usage(w0, { seq: 2n, commandCharges: 900n, queryCharge: 100n }))
    expect(c.args).toMatchObject({ commandPaid: 150n, queryPaid: 0n })
    expect(await billingOf(owner).read.commandsSettled([CONTRACT])).toBe(850n)
    // The unpaid command charges stay owed and come first out of the next funding.
    await fund(CONTRACT, 1_000n)
    const d = await claim(w1, usage(w1, { seq: 2n, commandCharges: 900n, queryCharge: 40n }))
    expect(d.args).toMatchObject({ commandPaid: 50n, queryPaid: 40n })
    expect(await contractBalance(CONTRACT)).toBe(910n)
    expect(await tokenBalance(billingAddress)).toBe(910n)
    const e = await claim(w0, usage(w0, { seq: 3n, queryCharge: maxUint256 }))
    expect(e.args).toMatchObject({ commandPaid: 0n, queryPaid: 910n })
    expect(await contractBalance(CONTRACT)).toBe(0n)
    expect(await tokenBalance(billingAddress)).toBe(0n)
  })
})

describe('claimUsage refusals', () => {
  async function refuse(receipt: UsageReceipt, signature: Hex, errorName: string, errorArgs: unknown[]) {
    await expectRevert(billingOf(relayer).write.claimUsage([receipt, signature]), errorName, errorArgs)
  }

  it('refuses a signature by another key, from another domain, or of a receipt changed since', async () => {
    await fund(CONTRACT, 1_000n)
    const receipt = usage(w0, { seq: 1n, queries: 2n, queryFuel: 20n, queryCharge: 30n, commandCharges: 40n })
    // Signed by w1 for w0.
    await refuse(receipt, await sign(w1, receipt), 'BadReceiptSignature', [w0.address, w1.address])
    // Signed for another verifying contract or chain.
    for (const wrong of [domain(deployment.addresses.pools), domain(billingAddress, 1)]) {
      const signature = await sign(w0, receipt, wrong)
      const signer = await recoverTypedDataAddress({
        domain: domain(),
        types: USAGE_RECEIPT_TYPES,
        primaryType: 'UsageReceipt',
        message: receipt,
        signature,
      })
      expect(signer).not.toBe(w0.address)
      await refuse(receipt, signature, 'BadReceiptSignature', [w0.address, signer])
    }
    // Every field is covered by the signature.
    const signature = await sign(w0, receipt)
    const tampered: UsageReceipt[] = [
      { ...receipt, contractId: OTHER_CONTRACT },
      { ...receipt, worker: w1.address },
      { ...receipt, seq: 2n },
      { ...receipt, queries: 3n },
      { ...receipt, queryFuel: 21n },
      { ...receipt, queryCharge: 31n },
      { ...receipt, commandCharges: 41n },
    ]
    for (const changed of tampered) {
      const signer = await recoverTypedDataAddress({
        domain: domain(),
        types: USAGE_RECEIPT_TYPES,
        primaryType: 'UsageReceipt',
        message: changed,
        signature,
      })
      await refuse(changed, signature, 'BadReceiptSignature', [changed.worker, signer])
    }
    await refuse(receipt, '0x1234', 'ECDSAInvalidSignatureLength', [2n])
    // The genuine receipt still goes through.
    expect((await claim(w0, receipt)).paid).toBe(70n)
  })

  it('refuses an unknown contract id', async () => {
    for (const contractId of [UNKNOWN_CONTRACT, 0n]) {
      const receipt = usage(w0, { contractId, queryCharge: 1n })
      await refuse(receipt, await sign(w0, receipt), 'UnknownContract', [contractId])
    }
  })

  it("refuses a worker outside the contract's cluster, or removed from it", async () => {
    await fund(CONTRACT, 1_000n)
    const outsider = usage(w2, { queryCharge: 1n })
    await refuse(outsider, await sign(w2, outsider), 'NotClusterMember', [w2.address, CONTRACT, CLUSTER])
    const receipt = usage(w0, { queryCharge: 1n })
    const signature = await sign(w0, receipt)
    await mined(t.owner.registry.write.removeClusterMember([CLUSTER, w0.address]))
    await refuse(receipt, signature, 'NotClusterMember', [w0.address, CONTRACT, CLUSTER])
  })

  it('refuses a revoked or pending worker', async () => {
    await fund(CONTRACT, 1_000n)
    expect((await claim(w0, usage(w0, { seq: 1n, queryCharge: 1n }))).paid).toBe(1n)
    const receipt = usage(w0, { seq: 2n, queryCharge: 1n })
    const signature = await sign(w0, receipt)
    await mined(t.as(1).ledger.registry.write.revokeWorker([w0.address]))
    await refuse(receipt, signature, 'NotActiveWorker', [w0.address])

    const pending = await registeredWorker()
    await mined(t.owner.registry.write.addClusterMember([CLUSTER, pending.address]))
    const unapproved = usage(pending, { queryCharge: 1n })
    await refuse(unapproved, await sign(pending, unapproved), 'NotActiveWorker', [pending.address])
    expect(await contractBalance(CONTRACT)).toBe(999n)
  })

  it('refuses a cluster member not bound to a pool', async () => {
    await fund(CONTRACT, 1_000n)
    const unbound = await activeWorker()
    await mined(t.owner.registry.write.addClusterMember([CLUSTER, unbound.address]))
    const receipt = usage(unbound, { queryCharge: 1n })
    await refuse(receipt, await sign(unbound, receipt), 'WorkerNotBound', [unbound.address])
  })
})

describe('StakingPools distributors', () => {
  it('refuses distributeReward from anyone but Rewards and Billing', async () => {
    for (const [m, account] of [
      [owner, t.as(0).account.address],
      [operator, operatorAddress],
      [stranger, strangerAddress],
    ] as const) {
      await expectRevert(m.pools.write.distributeReward([POOL, 1n]), 'NotDistributor', [account])
    }
  })

  it('names Billing once, owner only', async () => {
    await expectRevert(owner.pools.write.setBilling([strangerAddress]), 'BillingAlreadySet', [billingAddress])
    await expectRevert(stranger.pools.write.setBilling([strangerAddress]), 'OwnableUnauthorizedAccount', [
      strangerAddress,
    ])

    // A fresh StakingPools, with neither Rewards nor Billing named yet.
    const fresh = await deployArtifact(
      { publicClient: t.publicClient, walletClient: t.as(0).walletClient },
      'StakingPools',
      StakingPools.abi,
      StakingPools.bytecode,
      [t.as(0).account.address, t.addresses.registry, deployment.addresses.token, 5_000, 60n, 60n, 0n, 0n],
    )
    const poolsAs = (index: number) =>
      getContract({
        address: fresh.address,
        abi: StakingPools.abi,
        client: { public: t.publicClient, wallet: t.as(index).walletClient },
      })
    const relayerAddress = t.as(6).account.address
    await mined(poolsAs(2).write.createPool([1_000]))
    await expectRevert(poolsAs(6).write.distributeReward([1, 1n]), 'NotDistributor', [relayerAddress])
    await expectRevert(poolsAs(9).write.setBilling([relayerAddress]), 'OwnableUnauthorizedAccount', [
      strangerAddress,
    ])
    await expectRevert(poolsAs(0).write.setBilling([zeroAddress]), 'InvalidAddress', [])
    const set = await mined(poolsAs(0).write.setBilling([relayerAddress]))
    expect(only(set.events, 'BillingSet')).toMatchObject([{ args: { billing: relayerAddress } }])
    await expectRevert(poolsAs(0).write.setBilling([billingAddress]), 'BillingAlreadySet', [relayerAddress])
    // The named billing account may now distribute (the pool has no shares: all to its operator).
    await mined(owner.token.write.transfer([fresh.address, 50n]))
    const operatorBefore = await tokenBalance(operatorAddress)
    const distributed = await mined(poolsAs(6).write.distributeReward([1, 50n]))
    expect(only(distributed.events, 'RewardDistributed')).toMatchObject([
      { args: { pool: 1, amount: 50n, commission: 50n, delegators: 0n } },
    ])
    expect(await tokenBalance(operatorAddress)).toBe(operatorBefore + 50n)
    await expectRevert(poolsAs(9).write.distributeReward([1, 1n]), 'NotDistributor', [strangerAddress])
  })
})

// Few runs, no shrinking: every run is a dozen transactions, and a counterexample is readable as is.
const PROPERTY_RUNS = { numRuns: 8, endOnFailure: true }

type Step =
  | { kind: 'fund'; contract: 0 | 1; amount: bigint }
  | {
      kind: 'claim'
      contract: 0 | 1
      worker: 0 | 1
      queryCharge: bigint
      commandDelta: bigint
      stale: boolean
    }

const contractIndex = fc.constantFrom<0 | 1>(0, 1)
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('fund' as const), contract: contractIndex, amount: fc.bigInt(1n, 1_000n) }),
  fc.record({
    kind: fc.constant('claim' as const),
    contract: contractIndex,
    worker: fc.constantFrom<0 | 1>(0, 1),
    queryCharge: fc.bigInt(0n, 600n),
    commandDelta: fc.bigInt(0n, 600n),
    stale: fc.boolean(),
  }),
)

describe('billing invariants (property test against the chain)', () => {
  it('never pays out more than was funded, and holds exactly the sum of the contract balances', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 10 }), async (steps) => {
        const id = await testClient.snapshot()
        try {
          const ids = [CONTRACT, OTHER_CONTRACT] as const
          const workers = [w0, w1] as const
          // The model: per contract its balance, settled and latest command charges; per worker its seq.
          const model = ids.map(() => ({ balance: 0n, settled: 0n, charges: 0n }))
          const seqs = new Map<string, bigint>()
          let funded = 0n
          let paid = 0n
          for (const s of steps) {
            const m = model[s.contract]
            if (!m) throw new Error('no such contract')
            const contractId = ids[s.contract]
            if (s.kind === 'fund') {
              await fund(contractId, s.amount)
              m.balance += s.amount
              funded += s.amount
              continue
            }
            const w = workers[s.worker]
            const key = `${s.worker}:${s.contract}`
            const seq = (seqs.get(key) ?? 0n) + 1n
            seqs.set(key, seq)
            // The worker's total of command charges: the latest one plus what ran since, or an older one.
            m.charges += s.commandDelta
            const commandCharges = s.stale ? m.charges - s.commandDelta : m.charges
            const receipt = usage(w, { contractId, seq, queryCharge: s.queryCharge, commandCharges })
            const { args } = await claim(w, receipt)
            const owed = commandCharges > m.settled ? commandCharges - m.settled : 0n
            const commandPaid = owed < m.balance ? owed : m.balance
            const rest = m.balance - commandPaid
            const queryPaid = s.queryCharge < rest ? s.queryCharge : rest
            expect(args).toMatchObject({ commandPaid, queryPaid })
            m.settled += commandPaid
            m.balance = rest - queryPaid
            paid += commandPaid + queryPaid
          }
          expect(paid).toBeLessThanOrEqual(funded)
          let held = 0n
          for (const [i, contractId] of ids.entries()) {
            const balance = await contractBalance(contractId)
            expect(balance).toBe(model[i]?.balance)
            expect(await billingOf(owner).read.commandsSettled([contractId])).toBe(model[i]?.settled)
            held += balance
          }
          expect(await tokenBalance(billingAddress)).toBe(held)
          expect(held).toBe(funded - paid)
        } finally {
          await testClient.revert({ id })
        }
      }),
      PROPERTY_RUNS,
    )
  })
})
