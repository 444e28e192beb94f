/**
 * Gas used by every mining operation, measured on a real anvil, and a simulation of up to 10,000 workers
 * registered, bound, scored and heartbeating, which shows that the gas of every per-epoch operation
 * (heartbeat, settle, reportOffline) stays flat as the worker count grows: nothing loops over workers.
 *
 * To make 10,000 registrations feasible on a 2-core machine, transactions are sent in JSON-RPC batches
 * from impersonated accounts (anvil_autoImpersonateAccount: no signing), with automine off, and mined
 * thousands to a block with evm_mine. Epochs are an hour long and the bench moves between them with
 * evm_setNextBlockTimestamp, so wall-clock time never crosses an epoch boundary by accident.
 *
 * Run from the repository root:
 *   npm run bench -- ledger/mining
 */
import {
  type Abi,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  encodeFunctionData,
  getAddress,
  type Hash,
  type Hex,
  keccak256,
  toHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { Billing, Contracts, Registry } from '../src/artifacts/index.js'
import { devMeasurement, placeholderQuote, reportData } from '../src/dev-attestation.js'
import {
  billingDomain,
  DEVNET_MINING_PARAMS,
  deployMining,
  type MiningAddresses,
  type MiningParams,
  Rewards,
  StakingPools,
  USAGE_RECEIPT_TYPES,
  VEIL,
  VeilToken,
} from '../src/mining.js'
import { startTestLedger, type TestLedger } from '../src/testing.js'

export type BenchRow = { bench: string } & Record<string, number | string>

/** Fleet sizes (workers bound and heartbeating) at which the per-epoch operations are measured. */
const SCALES = [10, 100, 1_000, 10_000] as const
const WORKERS_PER_POOL = 100
const SCORE = 1_000
const PARAMS: MiningParams = { ...DEVNET_MINING_PARAMS, epochSeconds: 3_600 }
/** 1.5 × the minimum stake of a full pool: every worker heartbeats with stake factor 1.5. */
const POOL_STAKE =
  (3n * BigInt(WORKERS_PER_POOL) * (PARAMS.minStakeBase + BigInt(SCORE) * PARAMS.minStakePerScore)) / 2n
const MEASUREMENT = devMeasurement('bench')
const X25519 = keccak256(toHex('bench-x25519'))
/** Transactions per JSON-RPC batch request. */
const RPC_BATCH = 1_000
/** Transactions per mined block. */
const BLOCK_TXS = 500
const GAS_PRICE = toHex(10n ** 10n)
const GAS_LIMIT = toHex(1_000_000)

/** Runs the mining gas bench on its own anvil and reports one row per measurement. */
export async function run(report: (row: BenchRow) => void): Promise<void> {
  const started = performance.now()
  const t = await startTestLedger()
  try {
    await measure(t, report)
  } finally {
    await t.stop()
  }
  report({ bench: 'mining-time', what: 'whole bench', seconds: (performance.now() - started) / 1000 })
}

interface Call {
  from: Address
  to: Address
  data: Hex
}

/** A raw JSON-RPC client: batched requests, transactions from unlocked or impersonated accounts. */
class Chain {
  private readonly nonces = new Map<Address, number>()
  private id = 0

  constructor(private readonly url: string) {}

  async call<T>(method: string, params: unknown[] = []): Promise<T> {
    const [result] = await this.batch<T>([{ method, params }])
    return result as T
  }

  async batch<T>(requests: { method: string; params: unknown[] }[]): Promise<T[]> {
    const results: T[] = []
    for (let i = 0; i < requests.length; i += RPC_BATCH) {
      const body = requests.slice(i, i + RPC_BATCH).map((r) => ({ jsonrpc: '2.0', id: this.id++, ...r }))
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      const answers = (await response.json()) as { id: number; result?: T; error?: { message: string } }[]
      const byId = new Map(answers.map((a) => [a.id, a]))
      for (const request of body) {
        const answer = byId.get(request.id)
        if (!answer || answer.error) {
          throw new Error(`${request.method} failed: ${answer?.error?.message ?? 'no answer'}`)
        }
        results.push(answer.result as T)
      }
    }
    return results
  }

  /** Sends the calls in order (nonces tracked here), without mining them. */
  async send(calls: Call[]): Promise<Hash[]> {
    const unknown = [...new Set(calls.map((c) => c.from).filter((from) => !this.nonces.has(from)))]
    const counts = await this.batch<Hex>(
      unknown.map((from) => ({ method: 'eth_getTransactionCount', params: [from, 'latest'] })),
    )
    for (const [i, from] of unknown.entries()) this.nonces.set(from, Number(counts[i]))
    return this.batch<Hash>(
      calls.map(({ from, to, data }) => {
        const nonce = this.nonces.get(from) ?? 0
        this.nonces.set(from, nonce + 1)
        return {
          method: 'eth_sendTransaction',
          params: [{ from, to, data, nonce: toHex(nonce), gas: GAS_LIMIT, gasPrice: GAS_PRICE }],
        }
      }),
    )
  }

  /** Mines blocks until the calls are in, requires them all to succeed and returns their gas. */
  async mine(hashes: Hash[]): Promise<number[]> {
    for (;;) {
      await this.call('evm_mine')
      const { pending, queued } = await this.call<{ pending: Hex; queued: Hex }>('txpool_status')
      if (Number(pending) === 0 && Number(queued) === 0) break
    }
    const receipts = await this.batch<{ status: Hex; gasUsed: Hex } | null>(
      hashes.map((hash) => ({ method: 'eth_getTransactionReceipt', params: [hash] })),
    )
    return receipts.map((receipt, i) => {
      if (receipt?.status !== '0x1') throw new Error(`transaction ${hashes[i]} did not succeed`)
      return Number(receipt.gasUsed)
    })
  }

  /**
   * Sends the calls, mines them and returns their gas, in order. At most BLOCK_TXS calls go to the pool
   * at a time: anvil's pool slows down sharply with thousands of pending transactions.
   */
  async execute(calls: Call[]): Promise<number[]> {
    const gas: number[] = []
    for (let i = 0; i < calls.length || i === 0; i += BLOCK_TXS) {
      gas.push(...(await this.mine(await this.send(calls.slice(i, i + BLOCK_TXS)))))
    }
    return gas
  }

  async gasOf(call: Call): Promise<number> {
    const [gas = 0] = await this.execute([call])
    return gas
  }

  async timestamp(): Promise<bigint> {
    const block = await this.call<{ timestamp: Hex }>('eth_getBlockByNumber', ['latest', false])
    return BigInt(block.timestamp)
  }
}

function encode<const abi extends Abi, name extends ContractFunctionName<abi, 'nonpayable'>>(
  abi: abi,
  functionName: name,
  args: ContractFunctionArgs<abi, 'nonpayable', name>,
): Hex {
  return encodeFunctionData({ abi, functionName, args } as Parameters<typeof encodeFunctionData>[0])
}

/** The first three of `workers` (the measured ones). */
function three(workers: Address[]): [Address, Address, Address] {
  const [a, b, c] = workers
  if (!a || !b || !c) throw new Error(`expected at least three workers, got ${workers.length}`)
  return [a, b, c]
}

/** The `i`-th worker identity of the bench: deterministic, with no zero byte (cheaper calldata). */
function workerAddress(seed: number): Address {
  for (let salt = 0; ; salt++) {
    const address = `0x${keccak256(toHex(`veil-bench-worker-${seed}-${salt}`)).slice(26)}`
    if (!/^0x(?:[0-9a-f]{2})*00/i.test(address)) return getAddress(address)
  }
}

async function measure(t: TestLedger, report: (row: BenchRow) => void): Promise<void> {
  const chain = new Chain(t.anvil.rpcUrl)
  const owner = t.as(0).account.address
  const kms = t.as(1).account.address
  const operator = t.as(2).account.address
  const delegator = t.as(4).account.address
  const keeper = t.as(5).account.address // sends settle and reportOffline
  const treasury = t.as(8).account.address
  const registry = getAddress(t.addresses.registry)

  const deployment = await deployMining({
    publicClient: t.publicClient,
    walletClient: t.as(0).walletClient,
    registry,
    contracts: getAddress(t.addresses.contracts),
    params: PARAMS,
    treasury,
  })
  const { token, pools, rewards }: MiningAddresses = deployment.addresses
  const billing = deployment.addresses.billing
  for (const [name, used] of Object.entries(deployment.gasUsed)) {
    report({ bench: 'gas', op: `deploy ${name}`, gas: Number(used) })
  }

  await chain.call('anvil_autoImpersonateAccount', [true])
  await chain.call('evm_setBlockGasLimit', [toHex(2_000_000_000)])
  await chain.call('evm_setAutomine', [false])

  const registryCall = <name extends ContractFunctionName<typeof Registry.abi, 'nonpayable'>>(
    from: Address,
    name: name,
    args: ContractFunctionArgs<typeof Registry.abi, 'nonpayable', name>,
  ): Call => ({ from, to: registry, data: encode(Registry.abi, name, args) })
  const poolsCall = <name extends ContractFunctionName<typeof StakingPools.abi, 'nonpayable'>>(
    from: Address,
    name: name,
    args: ContractFunctionArgs<typeof StakingPools.abi, 'nonpayable', name>,
  ): Call => ({ from, to: pools, data: encode(StakingPools.abi, name, args) })
  const rewardsCall = <name extends ContractFunctionName<typeof Rewards.abi, 'nonpayable'>>(
    from: Address,
    name: name,
    args: ContractFunctionArgs<typeof Rewards.abi, 'nonpayable', name>,
  ): Call => ({ from, to: rewards, data: encode(Rewards.abi, name, args) })
  const tokenCall = <name extends ContractFunctionName<typeof VeilToken.abi, 'nonpayable'>>(
    from: Address,
    name: name,
    args: ContractFunctionArgs<typeof VeilToken.abi, 'nonpayable', name>,
  ): Call => ({ from, to: token, data: encode(VeilToken.abi, name, args) })
  const heartbeat = (worker: Address) => rewardsCall(worker, 'heartbeat', [])

  const epochLength = BigInt(PARAMS.epochSeconds)
  const rewardsGenesis = BigInt(
    await t.publicClient.readContract({ address: rewards, abi: Rewards.abi, functionName: 'genesis' }),
  )
  const epochAt = (timestamp: bigint) => (timestamp - rewardsGenesis) / epochLength
  /** Mines an empty block at the first second of the epoch `n` epochs from now; returns its number. */
  const nextEpoch = async (n = 1n): Promise<bigint> => {
    const epoch = epochAt(await chain.timestamp()) + n
    await chain.call('evm_setNextBlockTimestamp', [toHex(rewardsGenesis + epoch * epochLength)])
    await chain.mine([])
    return epoch
  }

  // ------------------------------------------------------------------ setup
  await chain.execute([
    registryCall(owner, 'addKmsSigner', [kms]),
    registryCall(owner, 'allowMeasurement', [MEASUREMENT]),
    tokenCall(owner, 'transfer', [operator, 10_000_000n * VEIL]),
    tokenCall(owner, 'transfer', [delegator, 1_000_000n * VEIL]),
    tokenCall(owner, 'transfer', [treasury, 1n]), // so the first slash does not pay for a new balance slot
  ])
  await chain.execute([
    tokenCall(operator, 'approve', [pools, 2n ** 255n]),
    tokenCall(delegator, 'approve', [pools, 2n ** 255n]),
  ])

  let seed = 0
  /** Registers, approves, binds and scores `count` new workers, each in pool `poolOf(index)`. */
  const addWorkers = async (count: number, poolOf: (index: number) => number): Promise<Address[]> => {
    const workers = Array.from({ length: count }, () => workerAddress(seed++))
    await chain.batch(workers.map((w) => ({ method: 'anvil_setBalance', params: [w, toHex(10n ** 20n)] })))
    await chain.execute(
      workers.map((w) =>
        registryCall(w, 'registerWorker', [
          X25519,
          'https://worker.example.org:8443',
          MEASUREMENT,
          operator,
          placeholderQuote(reportData(w, X25519, 31337, registry)),
        ]),
      ),
    )
    await chain.execute(workers.map((w) => registryCall(kms, 'approveWorker', [w])))
    await chain.execute([
      ...workers.map((w, i) => poolsCall(operator, 'bindWorker', [poolOf(i), w])),
      ...workers.map((w) => poolsCall(w, 'submitScore', [SCORE])),
    ])
    return workers
  }
  let poolCount = 0
  const createPools = async (count: number) => {
    const calls: Call[] = []
    for (let i = 0; i < count; i++) {
      poolCount++
      calls.push(
        poolsCall(operator, 'createPool', [1_000]),
        poolsCall(operator, 'deposit', [poolCount, POOL_STAKE]),
      )
    }
    await chain.execute(calls)
  }

  // ------------------------------------------------- gas of every operation
  const gas = async (op: string, call: Call, extra: Record<string, number | string> = {}) => {
    report({ bench: 'gas', op, ...extra, gas: await chain.gasOf(call) })
  }
  await gas('createPool', poolsCall(operator, 'createPool', [1_000]))
  poolCount++
  const pool = poolCount
  await gas('deposit', poolsCall(operator, 'deposit', [pool, POOL_STAKE]), { note: 'first in pool' })
  await gas('deposit', poolsCall(delegator, 'deposit', [pool, 1_000n * VEIL]), { note: 'new delegator' })
  await gas('deposit', poolsCall(delegator, 'deposit', [pool, 1_000n * VEIL]), { note: 'top-up' })
  await gas('setCommission', poolsCall(operator, 'setCommission', [pool, 500]), { note: 'cut' })
  await gas('setCommission', poolsCall(operator, 'setCommission', [pool, 800]), { note: 'raise (scheduled)' })

  const [a, b, c] = three(await addWorkers(3, () => pool))
  const [spare] = await addWorkers(1, () => pool)
  if (!spare) throw new Error('no spare worker')
  await chain.execute([poolsCall(operator, 'unbindWorker', [spare])])
  await gas('bindWorker', poolsCall(operator, 'bindWorker', [pool, spare]))
  await gas('unbindWorker', poolsCall(operator, 'unbindWorker', [spare]))
  await gas('submitScore', poolsCall(a, 'submitScore', [SCORE + 1]), { note: 'bound worker' })

  const epoch = await nextEpoch()
  await gas('heartbeat', heartbeat(a), { note: 'first of the epoch, first ever' })
  await gas('heartbeat', heartbeat(b), { note: 'first ever' })
  await gas('heartbeat', heartbeat(c), { note: 'first ever' })
  await nextEpoch()
  await chain.execute([heartbeat(c)])
  await gas('heartbeat', heartbeat(a), { note: 'steady state: settles the previous epoch' })
  await gas('settle', rewardsCall(keeper, 'settle', [b, epoch]))
  await gas('claim', poolsCall(delegator, 'claim', [pool]))
  await gas('requestWithdraw', poolsCall(delegator, 'requestWithdraw', [pool, 10n ** 24n]), { note: 'first' })
  await gas('requestWithdraw', poolsCall(delegator, 'requestWithdraw', [pool, 10n ** 24n]))
  await nextEpoch(3n) // b missed 3 epochs; also past the unbonding period (30 s)
  await gas('withdraw', poolsCall(delegator, 'withdraw', [1n]), { entries: 1 })
  await gas('reportOffline', rewardsCall(keeper, 'reportOffline', [b]))
  await gas('heartbeat', heartbeat(b), { note: 'back online' })

  // ---------------------------------------------------------------- billing
  // One worker with a real key (usage receipts are signed), in a cluster that runs one contract.
  const billed = privateKeyToAccount(keccak256(toHex('veil-bench-billing-worker')))
  const call = <A extends Abi>(from: Address, to: Address, abi: A, name: string, args: unknown[]): Call => ({
    from,
    to,
    data: encodeFunctionData({ abi, functionName: name, args } as never),
  })
  const contracts = getAddress(t.addresses.contracts)
  const code = toHex('export default {}')
  await chain.batch([{ method: 'anvil_setBalance', params: [billed.address, toHex(10n ** 20n)] }])
  await chain.execute([
    registryCall(billed.address, 'registerWorker', [
      X25519,
      'https://worker.example.org:8443',
      MEASUREMENT,
      operator,
      placeholderQuote(reportData(billed.address, X25519, 31337, registry)),
    ]),
    registryCall(kms, 'approveWorker', [billed.address]),
    registryCall(owner, 'createCluster', []),
    poolsCall(operator, 'bindWorker', [pool, billed.address]),
    call(owner, contracts, Contracts.abi, 'uploadCode', [code]),
    tokenCall(owner, 'approve', [billing, 2n ** 255n]),
  ])
  const cluster = await t.publicClient.readContract({
    address: registry,
    abi: Registry.abi,
    functionName: 'clusterCount',
  })
  await chain.execute([
    registryCall(owner, 'addClusterMember', [cluster, billed.address]),
    call(owner, contracts, Contracts.abi, 'deploy', [cluster, keccak256(code), '0x', 0n]),
  ])
  const contractId = await t.publicClient.readContract({
    address: contracts,
    abi: Contracts.abi,
    functionName: 'contractCount',
  })
  await gas('fund', call(owner, billing, Billing.abi, 'fund', [contractId, 1_000n * VEIL]), {
    note: 'first for the contract',
  })
  await gas('fund', call(owner, billing, Billing.abi, 'fund', [contractId, 1_000n * VEIL]), {
    note: 'top-up',
  })
  const receipt = (seq: bigint, commandCharges: bigint) => ({
    contractId,
    worker: billed.address,
    seq,
    queries: 1_000n,
    queryFuel: 10n ** 9n,
    queryCharge: VEIL,
    commandCharges,
  })
  const claim = async (seq: bigint, commandCharges: bigint, note: string) => {
    const message = receipt(seq, commandCharges)
    const signature = await billed.signTypedData({
      domain: billingDomain(31337, billing),
      types: USAGE_RECEIPT_TYPES,
      primaryType: 'UsageReceipt',
      message,
    })
    await gas('claimUsage', call(keeper, billing, Billing.abi, 'claimUsage', [message, signature]), { note })
  }
  await claim(1n, VEIL, 'first: commands and queries, new receipt slot')
  await claim(2n, 2n * VEIL, 'commands and queries')
  await claim(3n, 2n * VEIL, 'queries only')
  await gas('setFuelPrice', call(owner, billing, Billing.abi, 'setFuelPrice', [2n * 10n ** 9n]))

  // ------------------------------------------------------------ flatness
  // The fleet: workers bound and heartbeating every simulated epoch. At each scale three fresh measured
  // workers join it, in pools that have already earned, and the fleet heartbeats around them.
  const fleet: Address[] = []
  const flat = new Map<string, number[]>()
  for (const scale of SCALES) {
    const scaleStarted = performance.now()
    const grow = scale - fleet.length
    await createPools(Math.ceil(scale / WORKERS_PER_POOL) - (poolCount - pool))
    const fillerStart = fleet.length
    const joined = await addWorkers(grow, (i) => pool + 1 + Math.floor((fillerStart + i) / WORKERS_PER_POOL))
    const [m1, m2, m3] = three(joined)
    fleet.push(...joined)
    const others = fleet.filter((w) => w !== m1 && w !== m2 && w !== m3)
    const setupSeconds = (performance.now() - scaleStarted) / 1000

    // Epoch e: everyone heartbeats; the measured workers last, after the fleet.
    const e = await nextEpoch()
    const epochStarted = performance.now()
    await chain.execute(others.map(heartbeat))
    const heartbeatSeconds = (performance.now() - epochStarted) / 1000
    await chain.execute([heartbeat(m1), heartbeat(m2), heartbeat(m3)])
    // Epoch e + 1: the fleet heartbeats (settling e), then the measured operations.
    await nextEpoch()
    await chain.execute(others.map(heartbeat))
    const measured: [string, number][] = [
      ['heartbeat', await chain.gasOf(heartbeat(m1))],
      ['settle', await chain.gasOf(rewardsCall(keeper, 'settle', [m2, e]))],
    ]
    // Epoch e + 4: m3 has missed three epochs.
    await nextEpoch(3n)
    measured.push(['reportOffline', await chain.gasOf(rewardsCall(keeper, 'reportOffline', [m3]))])
    const registered = Number(
      await t.publicClient.readContract({
        address: registry,
        abi: Registry.abi,
        functionName: 'workerCount',
      }),
    )
    for (const [op, used] of measured) {
      report({ bench: 'mining-scaling', op, workers: fleet.length, registered, gas: used })
      flat.set(op, [...(flat.get(op) ?? []), used])
    }
    report({
      bench: 'mining-time',
      what: `scale ${scale}`,
      joined: grow,
      setup_s: setupSeconds,
      heartbeats_per_s: others.length / heartbeatSeconds,
      total_s: (performance.now() - scaleStarted) / 1000,
    })
  }
  for (const [op, samples] of flat) {
    const row: BenchRow = { bench: 'mining-flat', op }
    for (const [i, scale] of SCALES.entries()) row[`at${scale}`] = samples[i] ?? 0
    row.delta = Math.max(...samples) - Math.min(...samples)
    report(row)
  }
}
