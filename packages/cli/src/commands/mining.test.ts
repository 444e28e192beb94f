/**
 * `veil token balance`, `veil pool …`, `veil rewards` and `veil contract fund|balance` against a real anvil
 * with the ledger and the mining contracts (binding workers and heartbeats are covered by @veil/ledger's
 * tests and `veil dev`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DEVNET_MINING_PARAMS,
  deployMining,
  devAccount,
  getMining,
  type MiningDeployment,
  VEIL,
} from '@veil/ledger'
import { startTestLedger, type TestLedger } from '@veil/ledger/testing'
import { bytesToHex, type Hex, keccak256, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../testing.js'
import { formatAmount, parseAmount } from './mining.js'

function devKey(index: number): string {
  const key = devAccount(index).getHdKey().privateKey
  if (!key) throw new Error('dev account without a private key')
  return bytesToHex(key)
}

describe('amounts', () => {
  it('parses VEIL amounts to base units and prints them back', () => {
    expect(parseAmount('100', 'x')).toBe(100n * VEIL)
    expect(parseAmount('0.5', 'x')).toBe(VEIL / 2n)
    expect(formatAmount(1_500_000_000_000_000_000n)).toBe('1.5')
    expect(formatAmount(0n)).toBe('0')
    for (const bad of ['-1', '1e3', 'abc', '1.0000000000000000001', ''])
      expect(() => parseAmount(bad, 'x')).toThrow(/amount of VEIL/)
  })
})

describe('veil contract fund and balance help', () => {
  it('lists both commands and documents them', async () => {
    const root = await runCli(['--help'])
    expect(root.stdout).toMatch(/contract fund <id> <amount>\s+add VEIL to a contract’s balance/)
    expect(root.stdout).toMatch(/contract balance <id>\s+print a contract’s VEIL balance/)
    const fund = await runCli(['contract', 'fund', '--help'])
    expect(fund.code).toBe(0)
    expect(fund.stdout).toContain('Usage: veil contract fund <id> <amount> [options]')
    expect(fund.stdout).toContain('--json')
    const balance = await runCli(['contract', 'balance', '--help'])
    expect(balance.stdout).toContain('Usage: veil contract balance <id> [options]')
  })
})

describe('veil token, pool, rewards and contract (against anvil with the mining contracts)', () => {
  let ledger: TestLedger
  let mining: MiningDeployment
  let dir: string
  let file: string
  let bare: string
  let noBilling: string
  /** A Veil contract deployed on the ledger (cluster 1), which Billing accepts funds for. */
  let contractId: bigint
  const veil = (args: string[], account = 1) =>
    runCli([...args, '--network', file], { cwd: dir, env: { VEIL_PRIVATE_KEY: devKey(account) } })

  beforeAll(async () => {
    ledger = await startTestLedger({ devMode: true })
    mining = await deployMining({
      publicClient: ledger.publicClient,
      walletClient: ledger.as(0).walletClient,
      registry: ledger.addresses.registry,
      contracts: ledger.addresses.contracts,
      params: { ...DEVNET_MINING_PARAMS, unbondingSeconds: 1, commissionRaiseDelaySeconds: 1 },
    })
    // Dev account 1 gets 1,000 VEIL from the genesis holder.
    const owner = getMining({
      publicClient: ledger.publicClient,
      walletClient: ledger.as(0).walletClient,
      addresses: mining.addresses,
    })
    const mined = async (sent: Promise<Hex>) => {
      const receipt = await ledger.publicClient.waitForTransactionReceipt({ hash: await sent })
      if (receipt.status !== 'success') throw new Error(`transaction ${receipt.transactionHash} reverted`)
    }
    await mined(owner.token.write.transfer([devAccount(1).address, 1_000n * VEIL]))
    // Dev account 3 funds contracts with its 100 VEIL; account 2 authors a contract on cluster 1.
    await mined(owner.token.write.transfer([devAccount(3).address, 100n * VEIL]))
    await mined(ledger.owner.registry.write.createCluster())
    const code = toHex(new TextEncoder().encode('export default {}'))
    const author = ledger.as(2).ledger
    await mined(author.contracts.write.uploadCode([code]))
    await mined(author.contracts.write.deploy([1n, keccak256(code), '0x', 0n]))
    contractId = await author.contracts.read.contractCount()
    dir = mkdtempSync(join(tmpdir(), 'veil-cli-mining-'))
    const network = {
      version: 1,
      chainId: 31337,
      rpcUrl: ledger.anvil.rpcUrl,
      devMode: true,
      deployBlock: ledger.deployment.deployBlock,
      contracts: ledger.addresses,
      kms: null,
      workers: [],
    }
    file = join(dir, 'network.json')
    bare = join(dir, 'bare.json')
    noBilling = join(dir, 'no-billing.json')
    writeFileSync(file, JSON.stringify({ ...network, mining: mining.addresses }))
    writeFileSync(bare, JSON.stringify(network))
    const { billing: _, ...beforeBilling } = mining.addresses
    writeFileSync(noBilling, JSON.stringify({ ...network, mining: beforeBilling }))
  }, 60_000)
  afterAll(async () => {
    await ledger?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('creates a pool, stakes, unstakes and withdraws after unbonding, with balances in VEIL and wei', async () => {
    const balance = await veil(['token', 'balance', '--json'])
    expect(balance.code).toBe(0)
    expect(JSON.parse(balance.stdout)).toEqual({
      address: devAccount(1).address,
      balance: String(1_000n * VEIL),
    })
    expect((await veil(['token', 'balance'])).stdout.trim()).toBe('1000 VEIL')

    const created = await veil(['pool', 'create', '--commission', '500', '--json'])
    expect(created.code).toBe(0)
    const { pool } = JSON.parse(created.stdout) as { pool: number }
    expect(pool).toBeGreaterThan(0)

    const staked = await veil(['pool', 'stake', String(pool), '250', '--json'])
    expect(staked.code).toBe(0)
    expect(JSON.parse(staked.stdout)).toMatchObject({
      pool,
      staked: String(250n * VEIL),
      assets: String(250n * VEIL),
    })
    expect((await veil(['token', 'balance'])).stdout.trim()).toBe('750 VEIL')

    const unstaked = await veil(['pool', 'unstake', String(pool), 'all'])
    expect(unstaked.code).toBe(0)
    expect(unstaked.stdout).toMatch(/unbonding 250 VEIL/)
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const withdrawn = await veil(['pool', 'withdraw', '--json'])
    expect(withdrawn.code).toBe(0)
    expect(JSON.parse(withdrawn.stdout)).toMatchObject({ withdrawn: String(250n * VEIL) })

    // No worker earned anything here: claiming is refused with the contract's reason.
    const claimed = await veil(['pool', 'claim', String(pool)])
    expect(claimed.code).toBe(1)
    expect(claimed.stderr).toMatch(/claiming from pool .*(NothingToClaim|ZeroAmount)/s)

    const rewards = await veil(['rewards', '--json'])
    expect(rewards.code).toBe(0)
    expect(JSON.parse(rewards.stdout)).toMatchObject({ emitted: '0', distributed: '0', workers: [] })
  })

  it('explains refusals: a stranger binding to someone else’s pool, more than you own, bad input, no mining', async () => {
    const created = JSON.parse((await veil(['pool', 'create', '--json'])).stdout) as { pool: number }
    const stranger = await veil(['pool', 'add-worker', String(created.pool), devAccount(5).address], 6)
    expect(stranger.code).toBe(1)
    expect(stranger.stderr).toMatch(/NotPoolOperator|operator/i)
    const tooMuch = await veil(['pool', 'unstake', String(created.pool), '5'])
    expect(tooMuch.code).toBe(2)
    for (const args of [
      ['pool', 'stake', '1', 'lots'],
      ['pool', 'stake', '0', '1'],
      ['pool', 'add-worker', '1', 'nobody'],
      ['pool', 'create', '--commission', '20000'],
    ]) {
      expect((await veil(args)).code, args.join(' ')).toBe(2)
    }
    const none = await runCli(['rewards', '--network', bare], { cwd: dir, env: {} })
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/no mining contracts/)
  })

  /** What dev account `index` holds and has approved Billing for, and how many transactions it sent. */
  async function account(index: number) {
    const address = devAccount(index).address
    const m = getMining({ publicClient: ledger.publicClient, addresses: mining.addresses })
    return {
      held: await m.token.read.balanceOf([address]),
      allowance: await m.token.read.allowance([address, mining.addresses.billing]),
      nonce: await ledger.publicClient.getTransactionCount({ address }),
    }
  }

  it('funds a contract, approving only when the allowance is short, and reads its balance', async () => {
    const id = String(contractId)
    const first = await veil(['contract', 'fund', id, '10'], 3)
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toBe(`contract ${id} balance: 10 VEIL\n`)
    expect(first.stderr).toMatch(/approving 10 VEIL for the Billing contract…/)
    expect(first.stderr).toMatch(new RegExp(`funding contract ${id} with 10 VEIL…\\ntx 0x[0-9a-f]{64}`))
    expect(await account(3)).toMatchObject({ held: 90n * VEIL, allowance: 0n })

    // The allowance was used up: the next funding approves again.
    const before = await account(3)
    const second = await veil(['contract', 'fund', id, '0.5', '--json'], 3)
    expect(second.code, second.stderr).toBe(0)
    expect(second.stderr).toBe('')
    expect(JSON.parse(second.stdout)).toEqual({
      contractId: id,
      funded: String(VEIL / 2n),
      balance: String(10n * VEIL + VEIL / 2n),
      txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/),
    })
    expect(await account(3)).toMatchObject({ nonce: before.nonce + 2, allowance: 0n })

    // An allowance large enough already is reused: one transaction, no approval.
    const wallet = getMining({
      publicClient: ledger.publicClient,
      walletClient: ledger.as(3).walletClient,
      addresses: mining.addresses,
    })
    const approval = await wallet.token.write.approve([mining.addresses.billing, 20n * VEIL])
    await ledger.publicClient.waitForTransactionReceipt({ hash: approval })
    const approved = await account(3)
    const third = await veil(['contract', 'fund', id, '5'], 3)
    expect(third.code, third.stderr).toBe(0)
    expect(third.stderr).not.toMatch(/approving/)
    expect(third.stdout).toBe(`contract ${id} balance: 15.5 VEIL\n`)
    expect(await account(3)).toEqual({
      held: 100n * VEIL - 15n * VEIL - VEIL / 2n,
      allowance: 15n * VEIL,
      nonce: approved.nonce + 1,
    })

    // Reading needs no account.
    const price = mining.params.fuelPrice
    const text = await runCli(['contract', 'balance', id, '--network', file], { cwd: dir, env: {} })
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toBe(
      [
        `contract ${id} balance: 15.5 VEIL`,
        `fuel price: ${formatAmount(price)} VEIL per fuel (${formatAmount(price * 1_000_000n)} VEIL per million fuel)`,
        'commands settled: 0 VEIL',
        '',
      ].join('\n'),
    )
    expect(text.stdout).toContain('fuel price: 0.000000001 VEIL per fuel (0.001 VEIL per million fuel)')
    const json = await runCli(['contract', 'balance', id, '--json', '--network', file], { cwd: dir, env: {} })
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({
      contractId: id,
      balance: String(15n * VEIL + VEIL / 2n),
      fuelPrice: String(price),
      commandsSettled: '0',
    })
  })

  it('refuses before any transaction: an unknown contract, bad input, too little VEIL, no billing', async () => {
    const id = String(contractId)
    const start = await account(3)

    const unknown = await veil(['contract', 'fund', '99', '1'], 3)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/error: contract 99 does not exist/)
    expect(unknown.stderr).toMatch(/fix: .*veil contracts/)
    const unknownJson = await veil(['contract', 'fund', '99', '1', '--json'], 3)
    expect(unknownJson.code).toBe(1)
    expect(JSON.parse(unknownJson.stdout)).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CONTRACT' } })
    const unknownBalance = await veil(['contract', 'balance', '99'])
    expect(unknownBalance.code).toBe(1)
    expect(unknownBalance.stderr).toMatch(/contract 99 does not exist/)

    for (const [args, message] of [
      [['contract', 'fund', id, 'abc'], /the amount must be an amount of VEIL like 100 or 0\.5, got "abc"/],
      [['contract', 'fund', id, '-1'], /Unknown option '-1'|amount of VEIL/],
      [['contract', 'fund', id, '--', '-1'], /the amount must be an amount of VEIL .*got "-1"/],
      [['contract', 'fund', id, '0'], /fund a positive amount/],
      [['contract', 'fund', id], /the amount must be an amount of VEIL .*got nothing/],
      [['contract', 'fund', '0', '1'], /expected a contract id, got "0"/],
      [['contract', 'fund', 'three', '1'], /expected a contract id, got "three"/],
      [['contract', 'fund', '18446744073709551616', '1'], /expected a contract id/],
      [['contract', 'balance'], /expected a contract id, got nothing/],
      [['contract', 'balance', '1.5'], /expected a contract id, got "1.5"/],
    ] as const) {
      const result = await veil([...args], 3)
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr, args.join(' ')).toMatch(message)
    }

    // Account 3 holds 84.5 VEIL; account 4 none.
    const tooMuch = await veil(['contract', 'fund', id, '84.6'], 3)
    expect(tooMuch.code).toBe(1)
    expect(tooMuch.stderr).toMatch(/funding needs 84\.6 VEIL and your account holds 84\.5 VEIL/)
    const broke = await veil(['contract', 'fund', id, '1', '--json'], 4)
    expect(broke.code).toBe(1)
    expect(JSON.parse(broke.stdout)).toMatchObject({
      ok: false,
      error: { code: 'INSUFFICIENT_VEIL', message: expect.stringMatching(/holds 0 VEIL/) },
    })
    expect((await account(4)).nonce).toBe(0)
    expect(await account(3)).toEqual(start)

    for (const args of [
      ['contract', 'fund', id, '1'],
      ['contract', 'balance', id],
    ]) {
      const none = await runCli([...args, '--network', noBilling, '--json'], {
        cwd: dir,
        env: { VEIL_PRIVATE_KEY: devKey(3) },
      })
      expect(none.code, args.join(' ')).toBe(1)
      expect(JSON.parse(none.stdout)).toMatchObject({
        ok: false,
        error: { code: 'NO_BILLING', hint: expect.stringContaining('"billing"') },
      })
      const text = await runCli([...args, '--network', noBilling], { cwd: dir, env: {} })
      expect(text.stderr).toMatch(/error: this network has no billing contract\n {2}fix: /)
    }
    expect(await account(3)).toEqual(start)
    expect((await runCli(['contract', 'balance', id, '--network', bare], { cwd: dir })).stderr).toMatch(
      /no mining contracts/,
    )
  })
})
