/**
 * Workers mine on a live cluster: with the mining contracts in the network, each worker submits its
 * benchmark score from its identity; once its operator binds it to a staked pool it heartbeats every
 * epoch (10 s on the devnet parameters), and the epoch's emission reaches the pools.
 */
import { decodeMiningLogs, getMining, VEIL } from '@veil/ledger'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCluster, type TestCluster } from '../testing/cluster.js'

describe('mining on a live cluster', () => {
  let cluster: TestCluster

  beforeAll(async () => {
    cluster = await startTestCluster({ workers: 2, mining: true })
  }, 120_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('scores every worker, then heartbeats once bound to a staked pool, and pays the pools', async () => {
    const { ledger, network } = cluster
    const addresses = network.mining
    if (!addresses) throw new Error('no mining contracts')
    const reader = getMining({ publicClient: ledger.publicClient, addresses })
    // Scores arrive without any pool (the worker's first step).
    for (const { worker } of cluster.workers) {
      for (let i = 0; i < 100 && !(await reader.pools.read.workerInfo([worker.address])).scored; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const info = await reader.pools.read.workerInfo([worker.address])
      expect(info.scored).toBe(true)
      expect(info.score).toBeGreaterThan(0)
    }
    // Each operator opens a pool, binds its worker and stakes from the genesis supply.
    const pools = await cluster.openPools({ stake: 1_000n * VEIL })
    // Heartbeats in two epochs settle the first: rewards reach the pools.
    const deadline = Date.now() + 40_000
    let settled = 0
    while (Date.now() < deadline && settled < 2) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      const logs = await ledger.publicClient.getLogs({ address: addresses.rewards, fromBlock: 0n })
      const events = decodeMiningLogs(logs)
      settled = events.filter((e) => e.eventName === 'RewardSettled').length
    }
    expect(settled).toBeGreaterThanOrEqual(2)
    for (const pool of pools) {
      const view = await reader.pools.read.getPool([pool])
      expect(view.rewardPerShare).toBeGreaterThan(0n)
    }
  }, 90_000)
})
