/**
 * `veil token balance`, `veil pool …` and `veil rewards` against a real anvil with the ledger and the
 * mining contracts (binding workers and heartbeats are covered by @veil/ledger's tests and `veil dev`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEVNET_MINING_PARAMS, deployMining, devAccount, getMining, VEIL } from '@veil/ledger'
import { startTestLedger, type TestLedger } from '@veil/ledger/testing'
import { bytesToHex } from 'viem'
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

describe('veil token, pool and rewards (against anvil with the mining contracts)', () => {
  let ledger: TestLedger
  let dir: string
  let file: string
  let bare: string
  const veil = (args: string[], account = 1) =>
    runCli([...args, '--network', file], { cwd: dir, env: { VEIL_PRIVATE_KEY: devKey(account) } })

  beforeAll(async () => {
    ledger = await startTestLedger({ devMode: true })
    const mining = await deployMining({
      publicClient: ledger.publicClient,
      walletClient: ledger.as(0).walletClient,
      registry: ledger.addresses.registry,
      params: { ...DEVNET_MINING_PARAMS, unbondingSeconds: 1, commissionRaiseDelaySeconds: 1 },
    })
    // Dev account 1 gets 1,000 VEIL from the genesis holder.
    const owner = getMining({
      publicClient: ledger.publicClient,
      walletClient: ledger.as(0).walletClient,
      addresses: mining.addresses,
    })
    const hash = await owner.token.write.transfer([devAccount(1).address, 1_000n * VEIL])
    await ledger.publicClient.waitForTransactionReceipt({ hash })
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
    writeFileSync(file, JSON.stringify({ ...network, mining: mining.addresses }))
    writeFileSync(bare, JSON.stringify(network))
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
})
