import { decodeValue, type Hex } from '@veil/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { CONTRACTS, startTestCluster, type TestCluster, type TestWorker } from '../testing/cluster.js'

describe('worker API', () => {
  let cluster: TestCluster
  let url: string
  let counter: bigint

  beforeAll(async () => {
    cluster = await startTestCluster({ workers: 1 })
    url = (cluster.workers[0] as TestWorker).worker.url
    counter = await cluster.deploy(CONTRACTS.counter, { start: 1 })
  }, 120_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('serves a plain command’s receipts by transaction hash, with tagged values', async () => {
    const { txHash, blockNumber } = await cluster.submit(counter, 'add', [41])
    await cluster.settle()
    const response = await fetch(`${url}/v1/receipts/${txHash}`)
    expect(response.status).toBe(200)
    const body = (await response.json()) as { v: number; receipts: Record<string, unknown>[] }
    expect(body.v).toBe(1)
    expect(body.receipts).toHaveLength(1)
    expect(body.receipts[0]).toMatchObject({
      kind: 'command',
      contract: String(counter),
      seq: '1',
      block: String(blockNumber),
      ok: true,
      method: 'add',
      result: 42,
      events: [{ name: 'added', data: { by: 41, n: 42 } }],
    })
    expect(body.receipts[0]?.fuel).toBeGreaterThan(0)
  })

  it('keeps plain commands’ log lines with their method, failed ones included, exactly once per block', async () => {
    const chatty = await cluster.deploy(CONTRACTS.chatty)
    const ok = await cluster.submit(chatty, 'say', ['hello'])
    const failed = await cluster.submit(chatty, 'say', ['fail'])
    await cluster.settle()
    const store = (cluster.workers[0] as TestWorker).worker.stateStore
    if (!store) throw new Error('no store')
    const entries = store
      .readLogs(String(chatty))
      .map((r) => ({ seq: r.seq, ...(decodeValue(r.text) as object) }))
    expect(entries).toEqual([
      expect.objectContaining({ seq: 1n, kind: 'init', method: 'init', level: 'info', message: 'ready' }),
      expect.objectContaining({
        seq: 2n,
        kind: 'command',
        method: 'say',
        message: 'said hello',
        txHash: ok.txHash,
        block: ok.blockNumber,
      }),
      expect.objectContaining({
        seq: 3n,
        kind: 'command',
        method: 'say',
        message: 'said fail',
        txHash: failed.txHash,
      }),
      expect.objectContaining({ seq: 4n, level: 'error', message: 'about to fail', txHash: failed.txHash }),
    ])
  })

  it('answers unknown and malformed receipt lookups with clean errors', async () => {
    const unknown = await fetch(`${url}/v1/receipts/0x${'ab'.repeat(32)}`)
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ ok: false, error: { code: 'RECEIPT_NOT_FOUND' } })
    const bad = await fetch(`${url}/v1/receipts/0x1234`)
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } })
  })

  it('describes a contract, and 404s one it does not run', async () => {
    const response = await fetch(`${url}/v1/contracts/${counter}`)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({
      id: String(counter),
      cluster: '1',
      methods: { commands: ['add'], queries: ['get', 'whoami'] },
    })
    const missing = await fetch(`${url}/v1/contracts/999`)
    expect(missing.status).toBe(404)
    expect(await missing.json()).toMatchObject({ error: { code: 'UNKNOWN_CONTRACT' } })
    expect((await fetch(`${url}/v1/contracts/abc`)).status).toBe(400)
  })

  it('streams a contract’s events over WebSocket after their block commits', async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/contracts/${counter}/events`)
    await new Promise((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    const received = new Promise<Record<string, unknown>>((resolve) =>
      ws.once('message', (data) => resolve(JSON.parse(String(data)))),
    )
    const { txHash } = await cluster.submit(counter, 'add', [8])
    const event = await received
    ws.close()
    expect(event).toMatchObject({ contract: String(counter), name: 'added', data: { by: 8 } })
    expect((event.txHash as Hex).toLowerCase()).toBe(txHash.toLowerCase())
  })

  it('resumes an event stream from a block: replays the kept events, then goes on live', async () => {
    const first = await cluster.submit(counter, 'add', [100])
    const second = await cluster.submit(counter, 'add', [200])
    await cluster.settle()
    const ws = new WebSocket(
      `${url.replace('http', 'ws')}/v1/contracts/${counter}/events?fromBlock=${first.blockNumber}`,
    )
    const messages: Record<string, unknown>[] = []
    ws.on('message', (data) => messages.push(JSON.parse(String(data))))
    await new Promise((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    const third = await cluster.submit(counter, 'add', [300])
    for (let i = 0; i < 100 && messages.length < 3; i++)
      await new Promise((resolve) => setTimeout(resolve, 20))
    ws.close()
    expect(messages.map((m) => (m.data as { by: number }).by)).toEqual([100, 200, 300])
    expect(messages.map((m) => String(m.txHash).toLowerCase())).toEqual(
      [first, second, third].map((c) => c.txHash.toLowerCase()),
    )
    const bad = new WebSocket(
      `${url.replace('http', 'ws')}/v1/contracts/${counter}/events?fromBlock=yesterday`,
    )
    const status = await new Promise<number>((resolve) =>
      bad.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    )
    expect(status).toBe(400)
  })

  it('refuses an event stream for an unknown contract', async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/contracts/999/events`)
    const status = await new Promise<number>((resolve) =>
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    )
    expect(status).toBe(404)
  })

  it('exports Prometheus metrics', async () => {
    const response = await fetch(`${url}/metrics`)
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text).toMatch(/veil_commands_total\{ok="true"\} \d+/)
    expect(text).toContain('veil_command_fuel_bucket')
    expect(text).toMatch(/veil_block_height \d+/)
    expect(text).toContain('veil_chain_lag_blocks')
  })

  it('refuses oversized and malformed query bodies with their codes', async () => {
    const big = await fetch(`${url}/v1/query`, {
      method: 'POST',
      body: 'x'.repeat(1024 * 1024 + 1),
      headers: { 'content-type': 'application/json' },
    })
    expect(big.status).toBe(413)
    expect(await big.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } })
    const notJson = await fetch(`${url}/v1/query`, {
      method: 'POST',
      body: '{nope',
      headers: { 'content-type': 'application/json' },
    })
    expect([400, 503]).toContain(notJson.status)
  })
})
