/**
 * Off-chain interop on a live cluster (anvil, KMS, two in-process workers): secrets set through the
 * ledger, HTTP from queries and jobs to a local server the workers allowlist, jobs and timers whose
 * outcomes land through the ledger, a job that still lands when the worker chosen to run it is stopped,
 * and secrets that never reach receipts, logs or the workers' disks in plaintext.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { devAccount } from '@veil/ledger'
import type { Hex } from '@veil/protocol'
import { runnerOrder } from '@veil/runtime'
import { CONTRACTS, startTestCluster, type TestCluster } from '@veil/runtime/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type Feeds from '../../runtime/src/testing/contracts/feeds.js'
import { createClient, type VeilClient } from './index.js'

const SECRET = 'sk-live-7f3a9c2e51d04b8e'
const OWNER = devAccount(1)

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })
}

describe('off-chain interop on a live cluster', () => {
  let cluster: TestCluster
  let client: VeilClient
  let server: Server
  let base: string
  let contractId: bigint
  let price = 3120.5
  const authorizations: string[] = []

  beforeAll(async () => {
    server = createServer((req, res) => {
      authorizations.push(req.headers.authorization ?? '')
      if (req.headers.authorization !== `Bearer ${SECRET}`) {
        res.writeHead(401).end('{}')
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ price }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    base = `http://127.0.0.1:${port}`
    cluster = await startTestCluster({
      workers: 2,
      workerOptions: {
        egressAllow: [`127.0.0.1:${port}`],
        jobTakeoverMs: 2_000,
      },
    })
    contractId = await cluster.deploy(CONTRACTS.feeds, undefined, 1)
    client = createClient({ network: cluster.network, account: OWNER })
    await client.waitForContractKey({ contractId })
  }, 180_000)

  afterAll(async () => {
    await cluster?.stop()
    await new Promise<void>((resolve) => server?.close(() => resolve()))
  })

  async function waitForApplied(count: number, timeoutMs = 30_000) {
    const feeds = client.contract<typeof Feeds>(contractId)
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const state = await feeds.query.price()
      if (state.applied >= count) return state
      if (Date.now() > deadline) throw new Error(`only ${state.applied} outcomes applied, expected ${count}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  it('sets secrets through the ledger (owner only) and never echoes their values', async () => {
    const result = await client.setSecrets({ contractId, set: { API_KEY: SECRET, OTHER: 'x' } })
    expect(result.set).toEqual(['API_KEY', 'OTHER'])
    const removed = await client.setSecrets({ contractId, delete: ['OTHER', 'MISSING'] })
    expect(removed.deleted).toEqual(['OTHER'])
    const stranger = createClient({ network: cluster.network, account: devAccount(7) })
    await expect(stranger.setSecrets({ contractId, set: { API_KEY: 'stolen' } })).rejects.toMatchObject({
      code: 'NOT_OWNER',
    })
    await expect(client.setSecrets({ contractId, set: { 'bad-name': 'x' } })).rejects.toThrow(
      /not a valid secret name/,
    )
  })

  it('refuses plain secrets and job outcomes that no worker authenticated', async () => {
    const { txHash } = await cluster.submit(contractId, '$secrets', [{ set: { API_KEY: 'plain' } }], 1)
    await cluster.settle()
    const plain = cluster.workers[0]?.receipts.find((r) => r.txHash === txHash)
    expect(plain?.error?.code).toBe('NOT_SEALED')
    const stranger = createClient({ network: cluster.network, account: devAccount(7) })
    const forged = await stranger.sendCommand({
      contractId,
      method: '$job',
      args: [{ id: 'j1', outcome: '{"ok":true,"value":1}', mac: `0x${'00'.repeat(32)}` }],
    })
    expect(forged.ok).toBe(false)
    if (!forged.ok) expect(forged.error.code).toBe('NOT_A_WORKER')
  })

  it('fetches from a query with the secret, and refuses private addresses and HTTP in commands', async () => {
    const feeds = client.contract<typeof Feeds>(contractId)
    expect(await feeds.query.direct(`${base}/price`)).toEqual({ status: 200, body: { price } })
    expect(authorizations.at(-1)).toBe(`Bearer ${SECRET}`)
    expect(await feeds.query.refused('http://127.0.0.2:9/')).toBe('EGRESS_REFUSED')
    expect(await feeds.query.refused('http://169.254.169.254/latest/meta-data')).toBe('EGRESS_REFUSED')
    const outcome = await client.sendCommand({ contractId, method: 'fetchInCommand', args: [`${base}/x`] })
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) {
      expect(outcome.error.code).toBe('NOT_ALLOWED')
      expect(outcome.error.message).toMatch(/ctx\.http\.fetch is not allowed in a command/)
    }
  })

  it('reads the chain through a named RPC endpoint', async () => {
    const feeds = client.contract<typeof Feeds>(contractId)
    // The identity precompile (0x01 is ecrecover: empty input gives empty output).
    expect(await feeds.query.chainId()).toBe('0x')
  })

  it('runs an enqueued job on one worker and applies its outcome once on every worker', async () => {
    const feeds = client.contract<typeof Feeds>(contractId)
    const started = performance.now()
    const id = await feeds.command.refresh(`${base}/price`)
    expect(id).toMatch(/^j\d+$/)
    const state = await waitForApplied(1)
    const ms = performance.now() - started
    expect(state).toEqual({ price: 3120.5, applied: 1, lastError: null })
    await cluster.settle()
    // Every worker applied it once: the same state on both.
    const digests = cluster.workers.map((w) => w.digests.at(-1)?.digest)
    expect(new Set(digests).size).toBe(1)
    console.log(`job enqueue → outcome applied: ${Math.round(ms)} ms`)
  })

  it('lands a job whose first worker is stopped before it runs', async () => {
    // The next enqueued job's id is j2: find its first runner, and stop that worker.
    const members = cluster.workers.map((w) => w.worker.address.toLowerCase() as Hex)
    const first = runnerOrder(String(contractId), 'j2', members)[0]
    const victim = cluster.workers.find((w) => w.worker.address.toLowerCase() === first)
    expect(victim).toBeDefined()
    await victim?.worker.stop()
    price = 3200
    const feeds = client.contract<typeof Feeds>(contractId)
    expect(await feeds.command.refresh(`${base}/price`)).toBe('j2')
    const state = await waitForApplied(2, 40_000)
    expect(state.price).toBe(3200)
  }, 60_000)

  it('fires a timer repeatedly until it is cancelled', async () => {
    const feeds = client.contract<typeof Feeds>(contractId)
    const before = (await feeds.query.price()).applied
    const timer = await feeds.command.schedule(`${base}/price`, 5)
    expect(timer).toMatch(/^t\d+$/)
    await waitForApplied(before + 2, 40_000)
    expect(await feeds.command.cancel(timer)).toBe(true)
    expect(await feeds.command.cancel(timer)).toBe(false)
  }, 60_000)

  it('keeps the secret out of receipts, logs and the workers’ disks', async () => {
    const logs = await client.getLogs({ contractId })
    const lines = logs.entries.map((entry) => entry.message)
    expect(lines.some((line) => line.includes('[secret API_KEY]'))).toBe(true)
    expect(lines.some((line) => line.includes(SECRET))).toBe(false)
    expect(logs.entries.some((entry) => entry.kind === 'job')).toBe(true)
    for (const worker of cluster.workers) {
      for (const file of filesUnder(worker.dataDir)) {
        expect(readFileSync(file).includes(Buffer.from(SECRET)), file).toBe(false)
      }
    }
  })
})
