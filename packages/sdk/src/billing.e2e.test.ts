/**
 * Billing on a live cluster (anvil, KMS, two in-process workers, the mining contracts with Billing):
 * commands are charged fuel × price against their contract's balance, identically on every worker; a
 * contract that cannot pay gets INSUFFICIENT_BALANCE and nothing changes; queries are refused once
 * nothing is left to pay them; workers claim signed usage receipts that pay their pools.
 */
import { decodeMiningLogs, devAccount, getMining, type Mining, VEIL } from '@veil/ledger'
import type { Hex } from '@veil/protocol'
import { CONTRACTS, startTestCluster, type TestCluster } from '@veil/runtime/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type Counter from '../../runtime/src/testing/contracts/counter.js'
import type Feeds from '../../runtime/src/testing/contracts/feeds.js'
import { createClient, type VeilClient } from './index.js'

const FUEL_PRICE = 10n ** 9n

describe('billing on a live cluster', () => {
  let cluster: TestCluster
  let client: VeilClient
  let mining: Mining
  let billing: NonNullable<Mining['billing']>
  const pools: number[] = []

  const mined = async (hash: Hex) => {
    const receipt = await cluster.ledger.publicClient.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
  }
  const fund = async (contractId: bigint, amount: bigint) => {
    await mined(await mining.token.write.approve([billing.address, amount]))
    await mined(await billing.write.fund([contractId, amount]))
  }

  beforeAll(async () => {
    cluster = await startTestCluster({
      workers: 2,
      mining: { billing: true, params: { fuelPrice: FUEL_PRICE } },
      workerOptions: { mining: { usageClaimIntervalMs: 1_000 } },
    })
    const addresses = cluster.network.mining
    if (!addresses?.billing) throw new Error('no billing contract')
    const { ledger } = cluster
    mining = getMining({
      publicClient: ledger.publicClient,
      walletClient: ledger.as(0).walletClient,
      addresses,
    })
    if (!mining.billing) throw new Error('no billing handle')
    billing = mining.billing
    // Usage receipts pay a worker's pool: each operator opens one and binds its worker.
    pools.push(...(await cluster.openPools()))
    client = createClient({ network: cluster.network, account: devAccount(1) })
  }, 180_000)

  afterAll(async () => {
    await cluster?.stop()
  })

  async function deployCounter(): Promise<bigint> {
    const id = await cluster.deploy(CONTRACTS.counter, { start: 0 }, 1) // init is not charged
    await client.waitForContractKey({ contractId: id })
    return id
  }

  it('refuses commands and queries of a contract with no balance, changing nothing', async () => {
    const id = await deployCounter()
    const outcome = await client.sendCommand({ contractId: id, method: 'add', args: [1] })
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) {
      expect(outcome.error.code).toBe('INSUFFICIENT_BALANCE')
      expect(outcome.error.message).toMatch(/veil contract fund/)
    }
    expect(outcome.fuel).toBe(0)
    expect(outcome.charge).toBeUndefined()
    await expect(client.contract<typeof Counter>(id).query.get()).rejects.toMatchObject({
      code: 'INSUFFICIENT_BALANCE',
    })
  }, 60_000)

  it('charges fuel × price on every worker alike, stops a command the balance cannot finish, and lets it run again once funded', async () => {
    const id = await deployCounter()
    await fund(id, VEIL)
    const counter = client.contract<typeof Counter>(id)
    const first = await client.sendCommand({ contractId: id, method: 'add', args: [1] })
    expect(first.ok).toBe(true)
    expect(first.fuel).toBeGreaterThan(0)
    expect(first.charge).toBe(BigInt(first.fuel) * FUEL_PRICE)
    await cluster.settle()
    for (const { receipts } of cluster.workers) {
      const receipt = receipts.find((r) => r.txHash === first.txHash)
      expect(receipt?.charge).toBe(first.charge)
    }
    const [a, b] = cluster.workers
    expect(a?.digests.at(-1)).toEqual(b?.digests.at(-1))

    // A second contract funded for one and a half such commands: the second runs out of what it can
    // pay for, fails with INSUFFICIENT_BALANCE, is not charged and changes nothing.
    const small = await deployCounter()
    const cost = first.charge ?? 0n
    await fund(small, cost + cost / 2n)
    const ok = await client.sendCommand({ contractId: small, method: 'add', args: [1] })
    expect(ok.ok).toBe(true)
    // The same call's fuel varies by a few units with the block (its number is in the call's context).
    expect(ok.charge).toBe(BigInt(ok.fuel) * FUEL_PRICE)
    const drift = (ok.charge ?? 0n) - cost
    expect(drift < 0n ? -drift : drift).toBeLessThan(cost / 100n)
    const refused = await client.sendCommand({ contractId: small, method: 'add', args: [1] })
    expect(refused.ok).toBe(false)
    if (!refused.ok) expect(refused.error.code).toBe('INSUFFICIENT_BALANCE')
    expect(refused.charge).toBeUndefined()
    expect(await client.contract<typeof Counter>(small).query.get()).toBe(1)
    // Funded again, the same command runs.
    await fund(small, cost)
    const again = await client.sendCommand({ contractId: small, method: 'add', args: [1] })
    expect(again.ok).toBe(true)
    expect(await client.contract<typeof Counter>(small).query.get()).toBe(2)
    expect(await counter.query.get()).toBe(1)
  }, 120_000)

  it('pays the pools through usage receipts: queries to the worker that answered them, command charges once', async () => {
    const id = await deployCounter()
    await fund(id, VEIL)
    const counter = client.contract<typeof Counter>(id)
    let charged = 0n
    for (let i = 0; i < 3; i++) {
      const result = await client.sendCommand({ contractId: id, method: 'add', args: [1] })
      charged += result.charge ?? 0n
    }
    for (let i = 0; i < 10; i++) expect(await counter.query.get()).toBe(3)

    const deadline = Date.now() + 30_000
    let claims: { worker: Hex; pool: number; commandPaid: bigint; queryPaid: bigint; queries: bigint }[] = []
    for (;;) {
      const logs = await cluster.ledger.publicClient.getLogs({ address: billing.address, fromBlock: 0n })
      claims = decodeMiningLogs(logs).flatMap((e) =>
        e.eventName === 'UsageClaimed' && e.args.contractId === id ? [e.args] : [],
      )
      const settled = await billing.read.commandsSettled([id])
      const queries = claims.reduce((sum, c) => sum + c.queries, 0n)
      if (settled === charged && queries === 10n) break
      if (Date.now() > deadline)
        throw new Error(`settled ${settled} of ${charged}, ${queries} of 10 queries claimed`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    const commandPaid = claims.reduce((sum, c) => sum + c.commandPaid, 0n)
    const queryPaid = claims.reduce((sum, c) => sum + c.queryPaid, 0n)
    expect(commandPaid).toBe(charged) // settled once, whichever worker claimed first
    expect(queryPaid).toBeGreaterThan(0n)
    expect(await billing.read.balanceOf([id])).toBe(VEIL - commandPaid - queryPaid)
    for (const claim of claims) expect(pools).toContain(claim.pool)
    // Each pool got exactly what its worker's receipts paid (commission to the operator, the rest to
    // delegators: with no stake, all of it to the operator).
    const distributed = decodeMiningLogs(
      await cluster.ledger.publicClient.getLogs({ address: mining.addresses.pools, fromBlock: 0n }),
    ).flatMap((e) => (e.eventName === 'RewardDistributed' ? [e.args] : []))
    const allClaims = decodeMiningLogs(
      await cluster.ledger.publicClient.getLogs({ address: billing.address, fromBlock: 0n }),
    ).flatMap((e) => (e.eventName === 'UsageClaimed' ? [e.args] : []))
    for (const pool of pools) {
      const paid = allClaims
        .filter((c) => c.pool === pool)
        .reduce((s, c) => s + c.commandPaid + c.queryPaid, 0n)
      const received = distributed.filter((d) => d.pool === pool).reduce((s, d) => s + d.amount, 0n)
      expect(received).toBe(paid)
    }
  }, 120_000)

  it('charges a job outcome like a command and meters the job run like a query', async () => {
    const id = await cluster.deploy(CONTRACTS.feeds, undefined, 1)
    await client.waitForContractKey({ contractId: id })
    await fund(id, VEIL)
    const feeds = client.contract<typeof Feeds>(id)
    // The source is refused (loopback, not allowlisted): the run fails, and its outcome is applied.
    expect(await feeds.command.refresh('http://127.0.0.1:9/price')).toBe('j1')
    let queries = 0n
    const deadline = Date.now() + 30_000
    for (;;) {
      queries++
      if ((await feeds.query.price()).applied === 1) break
      if (Date.now() > deadline) throw new Error('the job outcome was not applied')
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    await cluster.settle()
    const charges = cluster.workers.map(
      (w) => w.receipts.filter((r) => r.contractId === String(id) && r.charge !== undefined).length,
    )
    expect(charges[0]).toBe(2) // refresh, and the $job outcome's apply
    expect(charges[1]).toBe(2)
    // Every query and the one job run are claimed, by whichever worker served them.
    for (;;) {
      const logs = await cluster.ledger.publicClient.getLogs({ address: billing.address, fromBlock: 0n })
      const metered = decodeMiningLogs(logs)
        .flatMap((e) => (e.eventName === 'UsageClaimed' && e.args.contractId === id ? [e.args.queries] : []))
        .reduce((sum, n) => sum + n, 0n)
      // One job run, or two when the first runner was too slow (a loaded machine) and the next took
      // over after its takeover delay: both ran, so both are metered.
      if (metered === queries + 1n || metered === queries + 2n) break
      expect(metered).toBeLessThan(queries + 3n)
      if (Date.now() > deadline + 15_000) throw new Error(`${metered} of ${queries + 1n} runs claimed`)
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }, 90_000)
})
