/**
 * `veil token balance`, `veil pool …`, `veil rewards`, `veil contract fund|balance`: the mining and
 * billing contracts from the command line (docs/mining.md). Amounts are typed in VEIL ("100", "0.5") and
 * printed in VEIL for people; `--json` prints base units (wei) as decimal strings.
 */
import { UsageError, VeilError } from '@veil/protocol'
import type { Address, Hex } from 'viem'
import { flag, pathOption, stringOption } from '../args.js'
import { type Command, type CommandContext, ExitCode } from '../command.js'
import { contractIdArg, networkOption, PRIVATE_KEY_ENV } from '../network.js'
import { table, toJson } from '../output.js'

const DECIMALS = 18

/** "1.5" → 1.5 × 10^18; refuses anything but a non-negative decimal with at most 18 decimals. */
export function parseAmount(text: string | undefined, what: string): bigint {
  if (text === undefined || !/^\d+(\.\d{1,18})?$/.test(text)) {
    throw new UsageError(
      `${what} must be an amount of VEIL like 100 or 0.5, got ${text === undefined ? 'nothing' : `"${text}"`}`,
    )
  }
  const [whole = '0', fraction = ''] = text.split('.')
  return BigInt(whole) * 10n ** BigInt(DECIMALS) + BigInt(fraction.padEnd(DECIMALS, '0'))
}

/** 1500000000000000000n → "1.5". */
export function formatAmount(value: bigint): string {
  const whole = value / 10n ** BigInt(DECIMALS)
  const fraction = (value % 10n ** BigInt(DECIMALS)).toString().padStart(DECIMALS, '0').replace(/0+$/, '')
  return fraction ? `${whole}.${fraction}` : String(whole)
}

function poolArg(text: string | undefined, usage: string): number {
  if (text === undefined || !/^[1-9]\d{0,9}$/.test(text) || Number(text) > 0xffffffff) {
    throw new UsageError(`expected a pool id, got ${text === undefined ? 'nothing' : `"${text}"`}`, {
      hint: usage,
    })
  }
  return Number(text)
}

function addressArg(text: string | undefined, what: string, usage: string): Address {
  if (text === undefined || !/^0x[0-9a-fA-F]{40}$/.test(text)) {
    throw new UsageError(
      `${what} must be a 0x-prefixed address, got ${text === undefined ? 'nothing' : `"${text}"`}`,
      {
        hint: usage,
      },
    )
  }
  return text as Address
}

/** The mining contracts with the account of VEIL_PRIVATE_KEY (or dev account 1 on a devnet). */
async function loadMining(
  ctx: CommandContext,
  options: { needsAccount?: boolean; needsBilling?: boolean } = {},
) {
  const [{ readNetworkFile }, ledger, viem] = await Promise.all([
    import('@veil/devnet'),
    import('@veil/ledger'),
    import('viem'),
  ])
  const network = readNetworkFile(pathOption(ctx, 'network', '.veil/network.json'))
  if (!network.mining) {
    throw new VeilError('this network has no mining contracts', {
      code: 'NO_MINING',
      hint: 'veil dev deploys them; on another network add "mining": { token, pools, rewards } to network.json',
    })
  }
  if (options.needsBilling && !network.mining.billing) {
    throw new VeilError('this network has no billing contract', {
      code: 'NO_BILLING',
      hint: 'the network was deployed before billing existed: `veil dev` deploys it; on another network add "billing": "<address>" to the "mining" section of network.json',
    })
  }
  const key = ctx.io.env[PRIVATE_KEY_ENV]
  if (key !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new UsageError(`${PRIVATE_KEY_ENV} must be a 0x-prefixed 32-byte hex private key`)
  }
  const { privateKeyToAccount } = await import('viem/accounts')
  const account = key
    ? privateKeyToAccount(key as Hex)
    : 'devnet' in network
      ? ledger.devAccount(1)
      : undefined
  if (options.needsAccount && !account) {
    throw new VeilError('this command sends a transaction, and no account is configured', {
      code: 'ACCOUNT_REQUIRED',
      hint: `set ${PRIVATE_KEY_ENV} to the private key of a funded account on this network`,
    })
  }
  const chain = viem.defineChain({
    id: network.chainId,
    name: `veil-${network.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [network.rpcUrl] } },
  })
  const transport = viem.http(network.rpcUrl)
  const publicClient = viem.createPublicClient({ chain, transport, pollingInterval: 100 })
  const addresses = network.mining
  const read = ledger.getMining({ publicClient: publicClient as never, addresses })
  const write = account
    ? ledger.getMining({
        publicClient: publicClient as never,
        walletClient: viem.createWalletClient({ account, chain, transport }),
        addresses,
      })
    : undefined
  /** Waits for a transaction; explains a revert in the contracts' terms. */
  const send = async (action: string, run: () => Promise<Hex>): Promise<Hex> => {
    try {
      const hash = await run()
      const receipt = await publicClient.waitForTransactionReceipt({ hash })
      if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
      return hash
    } catch (error) {
      throw ledger.explainMiningError(error, action)
    }
  }
  return { network, addresses, read, write, account, publicClient, send, ledger }
}

function requireWrite<T>(write: T | undefined): T {
  if (!write) throw new UsageError('no account')
  return write
}

/** `loadMining` plus the Billing contract, which networks deployed before billing do not have. */
async function loadBilling(ctx: CommandContext, options: { needsAccount?: boolean } = {}) {
  const m = await loadMining(ctx, { ...options, needsBilling: true })
  const billingAddress = m.addresses.billing
  const billing = m.read.billing
  if (!billingAddress || !billing) throw new Error('loadMining checked the billing address')
  return { ...m, billing, billingAddress, writeBilling: m.write?.billing }
}

/** Refuses an id the ledger's Contracts registry does not know (Billing would revert UnknownContract). */
async function requireContract(m: Awaited<ReturnType<typeof loadBilling>>, contractId: bigint) {
  const registry = await m.billing.read.contracts()
  const exists = await m.publicClient.readContract({
    address: registry,
    abi: m.ledger.Contracts.abi,
    functionName: 'exists',
    args: [contractId],
  })
  if (!exists) {
    throw new VeilError(`contract ${contractId} does not exist`, {
      code: 'UNKNOWN_CONTRACT',
      hint: 'check the id: `veil contracts` lists the contracts of this network',
    })
  }
}

export const tokenBalanceCommand: Command = {
  name: ['token', 'balance'],
  args: '[address]',
  summary: 'print a VEIL balance (yours by default)',
  description:
    'Reads the VEIL token balance of an address, or of your account (VEIL_PRIVATE_KEY, or dev account 1 on a devnet).',
  options: { ...networkOption },
  json: true,
  examples: ['veil token balance', 'veil token balance 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --json'],
  async run(ctx) {
    const [text] = ctx.positionals
    const m = await loadMining(ctx)
    const address = text
      ? addressArg(text, 'the address', 'veil token balance [address]')
      : m.account?.address
    if (!address) throw new UsageError('whose balance? give an address or set VEIL_PRIVATE_KEY')
    const balance = await m.read.token.read.balanceOf([address])
    ctx.io.out(
      flag(ctx, 'json') ? toJson({ address, balance: String(balance) }) : `${formatAmount(balance)} VEIL`,
    )
    return ExitCode.ok
  },
}

export const poolCreateCommand: Command = {
  name: ['pool', 'create'],
  summary: 'create a staking pool operated by your account',
  description:
    'Creates a pool whose operator is your account; bind your workers to it with `veil pool add-worker`.\nThe commission (basis points of each reward, paid to the operator) is at most the network’s maximum.',
  options: {
    ...networkOption,
    commission: {
      type: 'string',
      valueName: '<bps>',
      description: 'commission in basis points (1000 = 10 %)',
      default: '1000',
    },
  },
  json: true,
  examples: ['veil pool create --commission 500'],
  async run(ctx) {
    const bpsText = stringOption(ctx, 'commission') ?? '1000'
    if (!/^\d{1,5}$/.test(bpsText) || Number(bpsText) > 10_000) {
      throw new UsageError(`--commission must be basis points from 0 to 10000, got "${bpsText}"`)
    }
    const m = await loadMining(ctx, { needsAccount: true })
    const write = requireWrite(m.write)
    const bps = Number(bpsText)
    let pool = 0
    const txHash = await m.send('creating a pool', async () => {
      const { result } = await write.pools.simulate.createPool([bps], { account: m.account?.address })
      pool = result
      return write.pools.write.createPool([bps])
    })
    ctx.io.out(
      flag(ctx, 'json')
        ? toJson({ pool, commissionBps: bps, txHash })
        : `pool ${pool} created (commission ${bps / 100} %, tx ${txHash})`,
    )
    return ExitCode.ok
  },
}

export const poolAddWorkerCommand: Command = {
  name: ['pool', 'add-worker'],
  args: '<pool> <worker>',
  summary: 'bind one of your workers to your pool',
  description: 'The worker must be active in the registry with your account as its operator.',
  options: { ...networkOption },
  json: true,
  examples: ['veil pool add-worker 1 0x…'],
  async run(ctx) {
    const usage = 'veil pool add-worker <pool> <worker>'
    const pool = poolArg(ctx.positionals[0], usage)
    const worker = addressArg(ctx.positionals[1], 'the worker', usage)
    const m = await loadMining(ctx, { needsAccount: true })
    const write = requireWrite(m.write)
    const txHash = await m.send(`binding ${worker} to pool ${pool}`, () =>
      write.pools.write.bindWorker([pool, worker]),
    )
    ctx.io.out(
      flag(ctx, 'json') ? toJson({ pool, worker, txHash }) : `worker ${worker} bound to pool ${pool}`,
    )
    return ExitCode.ok
  },
}

export const poolStakeCommand: Command = {
  name: ['pool', 'stake'],
  args: '<pool> <amount>',
  summary: 'stake VEIL in a pool for shares',
  description: 'Approves the pools contract for <amount> VEIL and deposits it in the pool.',
  options: { ...networkOption },
  json: true,
  examples: ['veil pool stake 1 250'],
  async run(ctx) {
    const usage = 'veil pool stake <pool> <amount>'
    const pool = poolArg(ctx.positionals[0], usage)
    const amount = parseAmount(ctx.positionals[1], 'the amount')
    if (amount === 0n) throw new UsageError('stake a positive amount')
    const m = await loadMining(ctx, { needsAccount: true })
    const write = requireWrite(m.write)
    await m.send('approving the stake', () => write.token.write.approve([m.addresses.pools, amount]))
    const txHash = await m.send(`staking in pool ${pool}`, () => write.pools.write.deposit([pool, amount]))
    const [shares, assets] = await m.read.pools.read.stakeOf([pool, m.account?.address as Address])
    ctx.io.out(
      flag(ctx, 'json')
        ? toJson({ pool, staked: String(amount), shares: String(shares), assets: String(assets), txHash })
        : `staked ${formatAmount(amount)} VEIL in pool ${pool}: now ${formatAmount(assets)} VEIL (${shares} shares)`,
    )
    return ExitCode.ok
  },
}

export const poolUnstakeCommand: Command = {
  name: ['pool', 'unstake'],
  args: '<pool> <amount|all>',
  summary: 'start unbonding a stake (withdraw it after the unbonding period)',
  description:
    'Burns the shares worth <amount> VEIL (or all of yours) and queues the tokens; `veil pool withdraw` pays them once the unbonding period has passed.',
  options: { ...networkOption },
  json: true,
  examples: ['veil pool unstake 1 100', 'veil pool unstake 1 all'],
  async run(ctx) {
    const usage = 'veil pool unstake <pool> <amount|all>'
    const pool = poolArg(ctx.positionals[0], usage)
    const text = ctx.positionals[1]
    const m = await loadMining(ctx, { needsAccount: true })
    const write = requireWrite(m.write)
    const me = m.account?.address as Address
    const [owned] = await m.read.pools.read.stakeOf([pool, me])
    let shares = owned
    if (text !== 'all') {
      const amount = parseAmount(text, 'the amount')
      shares = await m.read.pools.read.previewDeposit([pool, amount])
      if (shares > owned)
        throw new UsageError(
          `you have ${owned} shares in pool ${pool}, fewer than ${formatAmount(amount)} VEIL`,
        )
    }
    if (shares === 0n) throw new UsageError(`nothing to unstake in pool ${pool}`)
    const assets = await m.read.pools.read.previewWithdraw([pool, shares])
    const txHash = await m.send(`unstaking from pool ${pool}`, () =>
      write.pools.write.requestWithdraw([pool, shares]),
    )
    ctx.io.out(
      flag(ctx, 'json')
        ? toJson({ pool, shares: String(shares), assets: String(assets), txHash })
        : `unbonding ${formatAmount(assets)} VEIL from pool ${pool}; withdraw it with \`veil pool withdraw\` after the unbonding period`,
    )
    return ExitCode.ok
  },
}

export const poolWithdrawCommand: Command = {
  name: ['pool', 'withdraw'],
  summary: 'withdraw stakes whose unbonding period has passed',
  options: { ...networkOption },
  json: true,
  examples: ['veil pool withdraw'],
  async run(ctx) {
    const m = await loadMining(ctx, { needsAccount: true })
    const write = requireWrite(m.write)
    const me = m.account?.address as Address
    const before = await m.read.token.read.balanceOf([me])
    const txHash = await m.send('withdrawing', () => write.pools.write.withdraw([32n]))
    const paid = (await m.read.token.read.balanceOf([me])) - before
    ctx.io.out(
      flag(ctx, 'json') ? toJson({ withdrawn: String(paid), txHash }) : `withdrew ${formatAmount(paid)} VEIL`,
    )
    return ExitCode.ok
  },
}

export const poolClaimCommand: Command = {
  name: ['pool', 'claim'],
  args: '<pool>',
  summary: 'claim your share of a pool’s rewards',
  options: { ...networkOption },
  json: true,
  examples: ['veil pool claim 1'],
  async run(ctx) {
    const pool = poolArg(ctx.positionals[0], 'veil pool claim <pool>')
    const m = await loadMining(ctx, { needsAccount: true })
    const write = requireWrite(m.write)
    const me = m.account?.address as Address
    const before = await m.read.token.read.balanceOf([me])
    const txHash = await m.send(`claiming from pool ${pool}`, () => write.pools.write.claim([pool]))
    const claimed = (await m.read.token.read.balanceOf([me])) - before
    ctx.io.out(
      flag(ctx, 'json')
        ? toJson({ pool, claimed: String(claimed), txHash })
        : `claimed ${formatAmount(claimed)} VEIL from pool ${pool}`,
    )
    return ExitCode.ok
  },
}

export const rewardsCommand: Command = {
  name: ['rewards'],
  summary: 'the current epoch, emission and what each worker earned',
  description:
    'Reads the rewards contract and its events: the current epoch, the tokens emitted by the epochs that had\n' +
    'heartbeats, those distributed so far (settled rewards), and per worker its score, heartbeats and earnings.\n' +
    'With --json amounts are base units (wei) as decimal strings.',
  options: { ...networkOption },
  json: true,
  examples: ['veil rewards', 'veil rewards --json'],
  async run(ctx) {
    const m = await loadMining(ctx)
    const rewards = m.read.rewards
    // By the clock, as workers count it: an idle dev chain's latest block can be minutes old.
    const [genesis, length] = await Promise.all([rewards.read.genesis(), rewards.read.epochLength()])
    const now = BigInt(Math.floor(Date.now() / 1000))
    const epoch = now <= BigInt(genesis) ? 0n : (now - BigInt(genesis)) / BigInt(length)
    const logs = await m.publicClient.getLogs({
      address: m.addresses.rewards,
      fromBlock: 0n,
      toBlock: 'latest',
    })
    const events = m.ledger.decodeMiningLogs(logs)
    let emitted = 0n
    let distributed = 0n
    const workers = new Map<string, { address: string; score: number; heartbeats: number; earned: bigint }>()
    const workerOf = (address: string) => {
      let w = workers.get(address)
      if (!w) {
        w = { address, score: 0, heartbeats: 0, earned: 0n }
        workers.set(address, w)
      }
      return w
    }
    for (const event of events) {
      const args = event.args as Record<string, unknown>
      if (event.eventName === 'EpochStarted') emitted += args.emission as bigint
      else if (event.eventName === 'Heartbeat') {
        const w = workerOf(args.worker as string)
        w.heartbeats++
        w.score = Number(args.score)
      } else if (event.eventName === 'RewardSettled') {
        distributed += args.reward as bigint
        workerOf(args.worker as string).earned += args.reward as bigint
      }
    }
    const list = [...workers.values()].sort((a, b) => (a.address < b.address ? -1 : 1))
    if (flag(ctx, 'json')) {
      ctx.io.out(
        toJson({
          epoch: Number(epoch),
          emitted: String(emitted),
          distributed: String(distributed),
          workers: list.map((w) => ({ ...w, earned: String(w.earned) })),
        }),
      )
    } else {
      ctx.io.out(
        `epoch ${epoch} · emitted ${formatAmount(emitted)} VEIL · distributed ${formatAmount(distributed)} VEIL`,
      )
      if (list.length > 0) {
        ctx.io.out(
          table(
            ['WORKER', 'SCORE', 'HEARTBEATS', 'EARNED (VEIL)'],
            list.map((w) => [w.address, String(w.score), String(w.heartbeats), formatAmount(w.earned)]),
          ),
        )
      }
    }
    return ExitCode.ok
  },
}

export const contractFundCommand: Command = {
  name: ['contract', 'fund'],
  args: '<id> <amount>',
  summary: 'add VEIL to a contract’s balance, which pays its fuel',
  description:
    'Moves <amount> VEIL from your account to the contract’s balance in the Billing contract, approving\n' +
    'Billing first when its allowance is short. Workers charge the contract’s commands and queries\n' +
    'against that balance at the fuel price. Anyone may fund any contract; funds cannot be taken back.\n' +
    'With --json amounts are base units (wei) as decimal strings.',
  options: { ...networkOption },
  json: true,
  examples: ['veil contract fund 3 10', 'veil contract fund 3 0.5 --json'],
  async run(ctx) {
    const usage = 'veil contract fund <id> <amount>'
    const contractId = contractIdArg(ctx.positionals[0], usage)
    const amount = parseAmount(ctx.positionals[1], 'the amount')
    if (amount === 0n) throw new UsageError('fund a positive amount')
    const json = flag(ctx, 'json')
    const progress = (text: string) => {
      if (!json) ctx.io.err(text)
    }
    const m = await loadBilling(ctx, { needsAccount: true })
    const write = requireWrite(m.write)
    const billing = requireWrite(m.writeBilling)
    const me = m.account?.address as Address
    const [held, allowance] = await Promise.all([
      m.read.token.read.balanceOf([me]),
      m.read.token.read.allowance([me, m.billingAddress]),
    ])
    if (held < amount) {
      throw new VeilError(
        `funding needs ${formatAmount(amount)} VEIL and your account holds ${formatAmount(held)} VEIL`,
        {
          code: 'INSUFFICIENT_VEIL',
          details: `account ${me}`,
          hint: 'fund less, or get VEIL into this account first (`veil token balance` shows it)',
        },
      )
    }
    await requireContract(m, contractId)
    if (allowance < amount) {
      progress(`approving ${formatAmount(amount)} VEIL for the Billing contract…`)
      await m.send('approving the funding', () => write.token.write.approve([m.billingAddress, amount]))
    }
    progress(`funding contract ${contractId} with ${formatAmount(amount)} VEIL…`)
    const txHash = await m.send(`funding contract ${contractId}`, () =>
      billing.write.fund([contractId, amount]),
    )
    progress(`tx ${txHash}`)
    const balance = await m.billing.read.balanceOf([contractId])
    ctx.io.out(
      json
        ? toJson({ contractId, funded: String(amount), balance: String(balance), txHash })
        : `contract ${contractId} balance: ${formatAmount(balance)} VEIL`,
    )
    return ExitCode.ok
  },
}

export const contractBalanceCommand: Command = {
  name: ['contract', 'balance'],
  args: '<id>',
  summary: 'print a contract’s VEIL balance and the fuel price',
  description:
    'Reads the Billing contract: the contract’s balance, the fuel price its commands and queries are charged\n' +
    'at, and the command charges paid out to workers’ pools so far. Needs no account.\n' +
    'With --json amounts are base units (wei) as decimal strings.',
  options: { ...networkOption },
  json: true,
  examples: ['veil contract balance 3', 'veil contract balance 3 --json'],
  async run(ctx) {
    const contractId = contractIdArg(ctx.positionals[0], 'veil contract balance <id>')
    const m = await loadBilling(ctx)
    await requireContract(m, contractId)
    const [balance, fuelPrice, commandsSettled] = await Promise.all([
      m.billing.read.balanceOf([contractId]),
      m.billing.read.fuelPrice(),
      m.billing.read.commandsSettled([contractId]),
    ])
    if (flag(ctx, 'json')) {
      ctx.io.out(
        toJson({
          contractId,
          balance: String(balance),
          fuelPrice: String(fuelPrice),
          commandsSettled: String(commandsSettled),
        }),
      )
    } else {
      ctx.io.out(
        [
          `contract ${contractId} balance: ${formatAmount(balance)} VEIL`,
          `fuel price: ${formatAmount(fuelPrice)} VEIL per fuel (${formatAmount(fuelPrice * 1_000_000n)} VEIL per million fuel)`,
          `commands settled: ${formatAmount(commandsSettled)} VEIL`,
        ].join('\n'),
      )
    }
    return ExitCode.ok
  },
}
