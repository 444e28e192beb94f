import { revertEachTest } from '@veil/ledger/test-assertions'
import { startTestLedger, type TestLedger } from '@veil/ledger/testing'
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  getContract,
  type Hash,
  isHex,
  parseEventLogs,
  parseUnits,
  zeroAddress,
} from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deployPriceFeed, priceFeedAbi, priceFeedBytecode, readLatest } from './price-feed.js'

// Roles: dev account 0 deploys and owns the feed, 1 stands in for the Veil contract's key (the updater),
// 9 is a stranger. The ledger itself is not used: startTestLedger is just the shared anvil harness.
let t: TestLedger
let feedAddress: Address
let updaterAddress: Address
let strangerAddress: Address

const PRICE = parseUnits('3150.25', 8)

function feedAs(index: number) {
  return getContract({
    address: feedAddress,
    abi: priceFeedAbi,
    client: { public: t.publicClient, wallet: t.as(index).walletClient },
  })
}

beforeAll(async () => {
  t = await startTestLedger()
  updaterAddress = t.as(1).account.address
  strangerAddress = t.as(9).account.address
  const deployed = await deployPriceFeed({
    walletClient: t.as(0).walletClient,
    publicClient: t.publicClient,
    updater: updaterAddress,
    description: 'ETH / USD',
  })
  feedAddress = deployed.address
})
afterAll(async () => {
  await t?.stop()
})
// Every test starts from a freshly deployed feed with no answer.
revertEachTest(() => t)

async function mined(sent: Promise<Hash>) {
  const receipt = await t.publicClient.waitForTransactionReceipt({ hash: await sent })
  expect(receipt.status).toBe('success')
  return { receipt, events: parseEventLogs({ abi: priceFeedAbi, logs: receipt.logs }) }
}

/** The PriceFeed custom error (name and arguments) a call that must fail reverted with. */
async function revertOf(call: Promise<unknown>): Promise<{ errorName: string; args: readonly unknown[] }> {
  try {
    await call
  } catch (error) {
    const reverted =
      error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined
    if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
      return { errorName: reverted.data.errorName, args: reverted.data.args ?? [] }
    }
    // A deployment is not a contract function call, so viem leaves its revert data undecoded.
    const raw =
      error instanceof BaseError ? error.walk((e) => isHex((e as { data?: unknown }).data)) : undefined
    const data = (raw as { data?: unknown } | undefined)?.data
    if (isHex(data)) {
      const decoded = decodeErrorResult({ abi: priceFeedAbi, data })
      return { errorName: decoded.errorName, args: decoded.args ?? [] }
    }
    throw error
  }
  throw new Error('expected the PriceFeed call to revert, but it succeeded')
}

async function latestTimestamp(): Promise<bigint> {
  return (await t.publicClient.getBlock()).timestamp
}

describe('deployPriceFeed', () => {
  it('deploys a feed with Chainlink-style metadata and no answer yet', async () => {
    const feed = feedAs(0)
    expect(await feed.read.decimals()).toBe(8)
    expect(await feed.read.description()).toBe('ETH / USD')
    expect(await feed.read.version()).toBe(1n)
    expect(await feed.read.updater()).toBe(updaterAddress)
    expect(await feed.read.owner()).toBe(t.as(0).account.address)

    expect(await readLatest(t.publicClient, feedAddress)).toBeUndefined()
    expect(await revertOf(feed.read.latestRoundData())).toEqual({ errorName: 'NoData', args: [] })
    expect(await revertOf(feed.read.latestAnswer())).toEqual({ errorName: 'NoData', args: [] })
  })

  it('refuses a zero updater or out-of-range decimals before sending anything', async () => {
    const base = { walletClient: t.as(0).walletClient, publicClient: t.publicClient }
    await expect(deployPriceFeed({ ...base, updater: zeroAddress })).rejects.toThrow(/updater/)
    await expect(deployPriceFeed({ ...base, updater: updaterAddress, decimals: 256 })).rejects.toThrow(
      /decimals/,
    )
  })

  it('readLatest rethrows failures other than NoData', async () => {
    // An address without code: the call returns no data, which is not "no answer yet".
    await expect(readLatest(t.publicClient, strangerAddress)).rejects.toThrow()
  })
})

describe('update', () => {
  it('lands from the updater, emits AnswerUpdated and shows in latestRoundData; rounds count from 1', async () => {
    const observedAt = await latestTimestamp()
    const { receipt, events } = await mined(feedAs(1).write.update([PRICE, observedAt]))
    const block = await t.publicClient.getBlock({ blockNumber: receipt.blockNumber })
    expect(events).toMatchObject([
      { eventName: 'AnswerUpdated', args: { current: PRICE, roundId: 1n, updatedAt: block.timestamp } },
    ])
    expect(await feedAs(0).read.latestRoundData()).toEqual([1n, PRICE, observedAt, block.timestamp, 1n])
    expect(await feedAs(0).read.latestAnswer()).toBe(PRICE)
    expect(await readLatest(t.publicClient, feedAddress)).toEqual({
      roundId: 1n,
      answer: PRICE,
      observedAt: Number(observedAt),
      updatedAt: Number(block.timestamp),
    })

    // A steady-state round rewrites the same two slots; the first one initialises them (costlier).
    const second = await mined(feedAs(1).write.update([PRICE + 1n, observedAt + 1n]))
    // Measured with solc 0.8.30: 70,751 for the first round, 36,551 for each later one.
    expect(receipt.gasUsed).toBeLessThan(75_000n)
    expect(second.receipt.gasUsed).toBeLessThan(40_000n)
    expect(await readLatest(t.publicClient, feedAddress)).toMatchObject({
      roundId: 2n,
      answer: PRICE + 1n,
      observedAt: Number(observedAt) + 1,
    })
  })

  it('reverts NotUpdater for anyone else, the owner included', async () => {
    const observedAt = await latestTimestamp()
    expect(await revertOf(feedAs(9).write.update([PRICE, observedAt]))).toEqual({
      errorName: 'NotUpdater',
      args: [strangerAddress],
    })
    expect((await revertOf(feedAs(0).write.update([PRICE, observedAt]))).errorName).toBe('NotUpdater')
    expect(await readLatest(t.publicClient, feedAddress)).toBeUndefined()
  })

  it('reverts StaleUpdate for an observation as old as or older than the last one', async () => {
    // Zero is stale even before the first update: observations start after the epoch.
    expect(await revertOf(feedAs(1).write.update([PRICE, 0n]))).toEqual({
      errorName: 'StaleUpdate',
      args: [0n, 0n],
    })
    const observedAt = await latestTimestamp()
    await mined(feedAs(1).write.update([PRICE, observedAt]))
    expect(await revertOf(feedAs(1).write.update([PRICE + 1n, observedAt]))).toEqual({
      errorName: 'StaleUpdate',
      args: [observedAt, observedAt],
    })
    expect(await revertOf(feedAs(1).write.update([PRICE + 1n, observedAt - 60n]))).toEqual({
      errorName: 'StaleUpdate',
      args: [observedAt, observedAt - 60n],
    })
  })

  it('reverts InvalidAnswer for zero or negative answers', async () => {
    const observedAt = await latestTimestamp()
    for (const answer of [0n, -1n, -PRICE]) {
      expect(await revertOf(feedAs(1).write.update([answer, observedAt]))).toEqual({
        errorName: 'InvalidAnswer',
        args: [],
      })
    }
  })

  it('accepts observations up to 5 minutes ahead of the block and reverts FutureUpdate beyond', async () => {
    const now = await latestTimestamp()
    const tooFar = await revertOf(feedAs(1).write.update([PRICE, now + 3600n]))
    expect(tooFar.errorName).toBe('FutureUpdate')
    expect(tooFar.args[0]).toBe(now + 3600n)
    // The next block is no older than the latest, so `now + 300` is within the allowed skew.
    await mined(feedAs(1).write.update([PRICE, now + 300n]))
    expect((await readLatest(t.publicClient, feedAddress))?.observedAt).toBe(Number(now) + 300)
  })
})

describe('setUpdater', () => {
  it('the constructor refuses a zero updater too', async () => {
    const deploying = t.as(0).walletClient.deployContract({
      abi: priceFeedAbi,
      bytecode: priceFeedBytecode,
      args: [zeroAddress, 8, ''],
    })
    expect((await revertOf(deploying)).errorName).toBe('ZeroUpdater')
  })

  it('lets the owner hand the feed to a new updater, which alone may then update', async () => {
    const { events } = await mined(feedAs(0).write.setUpdater([strangerAddress]))
    expect(events).toMatchObject([
      { eventName: 'UpdaterChanged', args: { previous: updaterAddress, next: strangerAddress } },
    ])
    expect(await feedAs(0).read.updater()).toBe(strangerAddress)

    const observedAt = await latestTimestamp()
    expect(await revertOf(feedAs(1).write.update([PRICE, observedAt]))).toEqual({
      errorName: 'NotUpdater',
      args: [updaterAddress],
    })
    await mined(feedAs(9).write.update([PRICE, observedAt]))
    expect((await readLatest(t.publicClient, feedAddress))?.answer).toBe(PRICE)
  })

  it('reverts OwnableUnauthorizedAccount for a non-owner, the updater included', async () => {
    for (const index of [1, 9]) {
      expect(await revertOf(feedAs(index).write.setUpdater([t.as(index).account.address]))).toEqual({
        errorName: 'OwnableUnauthorizedAccount',
        args: [t.as(index).account.address],
      })
    }
    expect(await feedAs(0).read.updater()).toBe(updaterAddress)
  })

  it('refuses the zero address', async () => {
    expect(await revertOf(feedAs(0).write.setUpdater([zeroAddress]))).toEqual({
      errorName: 'ZeroUpdater',
      args: [],
    })
  })
})
