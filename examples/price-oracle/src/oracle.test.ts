/**
 * The price oracle end to end on a live cluster (anvil, KMS, two workers): three local price sources
 * (one broken), the oracle contract, and a PriceFeed on the same chain that accepts updates only from
 * the contract's own address. A refresh queues a job; one worker fetches, takes the median, signs and
 * sends the update with the contract's key; every worker applies the outcome.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { startTestCluster, type TestCluster } from '@veil/runtime/testing'
import { type Address, parseEther, toFunctionSelector, zeroAddress } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeUpdate, median, UPDATE_SELECTOR } from './oracle.js'
import { deployPriceFeed, priceFeedAbi, readLatest } from './price-feed.js'

const ORACLE = fileURLToPath(new URL('./oracle.ts', import.meta.url))

describe('encoding and the median', () => {
  it('encodes update(int256,uint64) as PriceFeed.sol declares it', () => {
    expect(toFunctionSelector('update(int256,uint64)')).toBe(UPDATE_SELECTOR)
    expect(encodeUpdate(5n, 7)).toBe(`${UPDATE_SELECTOR}${'5'.padStart(64, '0')}${'7'.padStart(64, '0')}`)
    expect(() => encodeUpdate(0n, 1)).toThrow(/positive/)
  })
  it('takes the median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
  })
})

describe('the price oracle on a live cluster', () => {
  let cluster: TestCluster
  const servers: Server[] = []
  const urls: string[] = []

  async function source(handler: (respond: (status: number, body: string) => void) => void): Promise<string> {
    const server = createServer((_req, res) => handler((status, body) => res.writeHead(status).end(body)))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
    return `127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  beforeAll(async () => {
    const hosts = [
      await source((respond) => respond(200, JSON.stringify({ data: { amount: '3100.5' } }))),
      await source((respond) => respond(200, JSON.stringify({ data: { amount: 3120.25 } }))),
      await source((respond) => respond(503, 'down')),
    ]
    urls.push(...hosts.map((host) => `http://${host}/spot`))
    cluster = await startTestCluster({ workers: 2, workerOptions: { egressAllow: hosts } })
  }, 180_000)

  afterAll(async () => {
    await cluster?.stop()
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  })

  it('pushes the median of the sources that answered to the PriceFeed, from the contract’s address', async () => {
    const { publicClient } = cluster.ledger
    const owner = cluster.ledger.as(1)
    // The feed first trusts the owner; once the oracle's address is known, the owner hands it over.
    const { address: feed } = await deployPriceFeed({
      walletClient: owner.walletClient,
      publicClient,
      updater: owner.account.address,
      decimals: 8,
      description: 'ETH / USD',
    })
    const contractId = await cluster.deploy(
      ORACLE,
      { sources: urls.map((url) => ({ url, path: 'data.amount' })), feed, rpc: 'devnet', decimals: 8 },
      1,
    )
    let updater: Address = zeroAddress
    for (let i = 0; i < 300 && updater === zeroAddress; i++) {
      updater = (await cluster.ledger.owner.contracts.read.getContract([contractId])).signer
      if (updater === zeroAddress) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(updater).not.toBe(zeroAddress)
    const handOver = await owner.walletClient.writeContract({
      address: feed,
      abi: priceFeedAbi,
      functionName: 'setUpdater',
      args: [updater],
      account: owner.account,
      chain: owner.walletClient.chain,
    })
    await publicClient.waitForTransactionReceipt({ hash: handOver })
    // The contract's address pays its own gas.
    const fund = await owner.walletClient.sendTransaction({
      to: updater,
      value: parseEther('1'),
      account: owner.account,
      chain: owner.walletClient.chain,
    })
    await publicClient.waitForTransactionReceipt({ hash: fund })
    expect(await readLatest(publicClient, feed)).toBeUndefined()

    await cluster.settle()
    const started = Date.now()
    await cluster.submit(contractId, 'refresh', [], 1)
    let latest = await readLatest(publicClient, feed)
    while (latest === undefined && Date.now() - started < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      latest = await readLatest(publicClient, feed)
    }
    // Median of 3100.5 and 3120.25 (the third source is down): 3110.375, with 8 decimals.
    expect(latest?.answer).toBe(311_037_500_000n)
    expect(latest?.roundId).toBe(1n)

    // Every worker applied the outcome: a `$job` receipt that succeeded, and equal state. The runner
    // submits the outcome after run() returns, so after the feed's update: wait for it to land.
    const applied = () =>
      cluster.workers.every((w) => w.receipts.some((r) => r.method.startsWith('$job:update')))
    for (let i = 0; i < 300 && !applied(); i++) await new Promise((resolve) => setTimeout(resolve, 100))
    await cluster.settle()
    for (const worker of cluster.workers) {
      const applied = worker.receipts.filter((r) => r.method.startsWith('$job:update'))
      expect(applied.map((r) => r.ok)).toEqual([true])
    }
    expect(new Set(cluster.workers.map((w) => w.digests.at(-1)?.digest)).size).toBe(1)
  }, 60_000)
})
