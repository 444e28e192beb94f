import { WorkerStatus } from '@veil/ledger'
import type { Address } from '@veil/protocol'
import { keccak256, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { KmsStatus } from './app.js'
import {
  flipByte,
  type KmsTestEnv,
  mined,
  registerWorker,
  startKmsEnv,
  WORKER_MEASUREMENT,
  waitFor,
} from './test-support.js'

let env: KmsTestEnv

beforeAll(async () => {
  env = await startKmsEnv({ kms: { assignCluster: 1n, recheckIntervalMs: 50 } })
})
afterAll(async () => {
  await env?.stop()
})

/** Waits until the approver has handled every block up to the current head. */
async function caughtUp(): Promise<void> {
  const head = await env.t.publicClient.getBlockNumber({ cacheTime: 0 })
  await waitFor('the approver to catch up', () => BigInt(env.kms.status().approver?.scannedTo ?? -1) >= head)
}

const statusOf = async (worker: Address) => (await env.t.owner.registry.read.getWorker([worker])).status

/** Waits until the approver has refused `worker`, and returns the refusal. */
const refusalOf = (worker: Address) =>
  waitFor(`a refusal of ${worker}`, () =>
    env.kms.status().approver?.refusals.find((r) => r.worker === worker),
  )

describe('approver', () => {
  it('approves a worker whose quote binds its keys and an allowed measurement, and adds it to the cluster', async () => {
    const worker = await registerWorker(env)
    await waitFor('membership', () => env.t.owner.registry.read.isActiveMember([1n, worker.address]))
    expect(await statusOf(worker.address)).toBe(WorkerStatus.Active)
    expect(env.kms.status().approver?.approved).toBeGreaterThanOrEqual(1)
  })

  it('leaves a worker with a forged quote pending (QUOTE_INVALID)', async () => {
    const worker = await registerWorker(env, { tamper: (quote) => flipByte(quote) })
    expect((await refusalOf(worker.address)).code).toBe('QUOTE_INVALID')
    expect(await statusOf(worker.address)).toBe(WorkerStatus.Pending)
  })

  it('leaves a worker whose quote binds other keys pending (REPORT_DATA_MISMATCH)', async () => {
    const other = new Uint8Array(32).fill(9)
    const worker = await registerWorker(env, { quotedX25519: other })
    expect((await refusalOf(worker.address)).code).toBe('REPORT_DATA_MISMATCH')
    expect(await statusOf(worker.address)).toBe(WorkerStatus.Pending)
  })

  it('leaves a worker pending until its measurement is allowed, then approves it', async () => {
    const measurement = keccak256(toHex('veil-kms-test/not-allowed-yet'))
    const worker = await registerWorker(env, { measurement })
    const refusal = await refusalOf(worker.address)
    expect(refusal.code).toBe('MEASUREMENT_NOT_ALLOWED')
    expect(refusal.message).toContain(measurement)
    expect(await statusOf(worker.address)).toBe(WorkerStatus.Pending)
    // Refused workers are checked again: once the owner allows the build, the worker gets in.
    await mined(env.t, env.t.owner.registry.write.allowMeasurement([measurement]))
    await waitFor('membership', () => env.t.owner.registry.read.isActiveMember([1n, worker.address]))
    expect(env.kms.status().approver?.refusals.some((r) => r.worker === worker.address)).toBe(false)
  })

  it('leaves a worker whose quote carries another measurement than it registered pending', async () => {
    const quoted = keccak256(toHex('veil-kms-test/another-allowed-build'))
    await mined(env.t, env.t.owner.registry.write.allowMeasurement([quoted]))
    const worker = await registerWorker(env, { measurement: WORKER_MEASUREMENT, quotedMeasurement: quoted })
    const refusal = await refusalOf(worker.address)
    expect(refusal.code).toBe('MEASUREMENT_NOT_ALLOWED')
    expect(refusal.message).toMatch(/registered measurement/)
    expect(await statusOf(worker.address)).toBe(WorkerStatus.Pending)
  })

  it('leaves a hardware quote pending without a collateral source (COLLATERAL_MISSING)', async () => {
    const worker = await registerWorker(env, { tamper: () => new Uint8Array(600).fill(3) })
    expect((await refusalOf(worker.address)).code).toBe('COLLATERAL_MISSING')
    expect(await statusOf(worker.address)).toBe(WorkerStatus.Pending)
  })

  it('shows refusals to operators on /v1/status', async () => {
    const response = await fetch(`${env.kms.url}/v1/status`)
    expect(response.status).toBe(200)
    const status = (await response.json()) as KmsStatus
    expect(status.health.phase).toBe('ready')
    const codes = new Set(status.approver?.refusals.map((r) => r.code))
    for (const code of ['QUOTE_INVALID', 'REPORT_DATA_MISMATCH', 'COLLATERAL_MISSING'])
      expect(codes).toContain(code)
  })

  it('reads the chain again after a rewind and approves what it finds there', async () => {
    const snapshot = await env.testClient.snapshot()
    const first = await registerWorker(env)
    await waitFor('membership', () => env.t.owner.registry.read.isActiveMember([1n, first.address]))
    await caughtUp() // its transactions' receipts are in: nothing waits on what the revert drops
    await env.testClient.revert({ id: snapshot })
    expect(await statusOf(first.address)).toBe(WorkerStatus.None)
    // The new chain holds another registration, possibly in a block number the approver already passed.
    const second = await registerWorker(env)
    await waitFor('membership', () => env.t.owner.registry.read.isActiveMember([1n, second.address]))
  })

  // Last: turning dev mode off cannot be undone on this ledger.
  it('refuses simulated quotes once the owner disabled dev mode (SIMULATED_QUOTE_REFUSED)', async () => {
    await mined(env.t, env.t.owner.registry.write.disableDevMode())
    const worker = await registerWorker(env)
    expect((await refusalOf(worker.address)).code).toBe('SIMULATED_QUOTE_REFUSED')
    expect(await statusOf(worker.address)).toBe(WorkerStatus.Pending)
  })
})
