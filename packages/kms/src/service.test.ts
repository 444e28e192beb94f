import { randomBytes } from 'node:crypto'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { reportDataFromHash, verifyWorkerQuote } from '@veil/attestation'
import { reportData } from '@veil/ledger'
import { startTestLedger, type TestLedger } from '@veil/ledger/testing'
import { base64urlToBytes } from '@veil/protocol'
import { hexToBytes, keccak256, parseEther, toHex, zeroAddress, zeroHash } from 'viem'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { KmsHealth, KmsInfo } from './app.js'
import { KmsService, type KmsServiceOptions } from './service.js'
import {
  KMS_MEASUREMENT,
  type KmsTestEnv,
  mined,
  simulatedTee,
  startKmsEnv,
  tempDir,
  waitFor,
} from './test-support.js'

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'NONE',
    (error: { code?: string }) => error.code,
  )

describe('KmsService without a ledger', () => {
  let dir: string
  const options = (): KmsServiceOptions => ({
    dataDir: dir,
    tee: simulatedTee(),
    measurement: KMS_MEASUREMENT,
    rpcUrl: 'http://127.0.0.1:9',
    chainId: 31337,
    contracts: { registry: zeroAddress, contracts: zeroAddress, commands: zeroAddress },
  })
  beforeEach(() => {
    dir = tempDir()
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  it('opens offline, keeps its identity across restarts and holds the data dir exclusively', async () => {
    const kms = await KmsService.open(options())
    expect(kms.measurement).toBe(KMS_MEASUREMENT)
    expect(() => kms.url).toThrow(/not started/)
    expect(await codeOf(KmsService.open(options()))).toBe('DATA_DIR_IN_USE')
    await kms.stop()
    await kms.stop() // idempotent
    expect(await codeOf(kms.start())).toBe('STOPPED')
    const again = await KmsService.open(options())
    expect(again.address).toBe(kms.address)
    await again.stop()
  })

  it('refuses a data dir locked by another live process, and takes over a stale lock', async () => {
    writeFileSync(join(dir, 'kms.lock'), String(process.ppid))
    expect(await codeOf(KmsService.open(options()))).toBe('DATA_DIR_IN_USE')
    writeFileSync(join(dir, 'kms.lock'), '2147483646') // no such process
    const kms = await KmsService.open(options())
    await kms.stop()
  })

  it('refuses a data dir sealed on another machine', async () => {
    await (await KmsService.open(options())).stop()
    const elsewhere = KmsService.open({ ...options(), tee: simulatedTee(99) })
    await expect(elsewhere).rejects.toMatchObject({ code: 'SEAL_KEY_MISMATCH' })
    // The lock was released on the way out.
    await (await KmsService.open(options())).stop()
  })

  it('fails to start, and releases the data dir, when the ledger does not answer', async () => {
    const kms = await KmsService.open(options())
    expect(await codeOf(kms.start())).toBe('LEDGER_UNREACHABLE')
    await (await KmsService.open(options())).stop()
  })

  it('rejects invalid options', async () => {
    expect(await codeOf(KmsService.open({ ...options(), measurement: '0x1234' }))).toBe('KMS_OPTIONS_INVALID')
    expect(await codeOf(KmsService.open({ ...options(), assignCluster: 0n }))).toBe('KMS_OPTIONS_INVALID')
  })
})

describe('KmsService on a ledger', () => {
  let t: TestLedger
  let dir: string
  beforeAll(async () => {
    t = await startTestLedger()
  })
  afterAll(async () => {
    await t?.stop()
  })
  beforeEach(() => {
    dir = tempDir()
  })
  afterEach(() => rmSync(dir, { recursive: true, force: true }))

  const options = (): KmsServiceOptions => ({
    dataDir: dir,
    tee: simulatedTee(),
    measurement: KMS_MEASUREMENT,
    rpcUrl: t.anvil.rpcUrl,
    chainId: 31337,
    contracts: t.addresses,
    pollIntervalMs: 20,
  })

  it('refuses to start on another chain, at a wrong registry, or with a TEE of another measurement', async () => {
    for (const [override, code] of [
      [{ chainId: 1 }, 'CHAIN_MISMATCH'],
      [
        { contracts: { ...t.addresses, registry: '0x000000000000000000000000000000000000bEEF' } },
        'LEDGER_NOT_FOUND',
      ],
      [{ contracts: { ...t.addresses, registry: t.addresses.commands } }, 'LEDGER_NOT_FOUND'],
      [{ measurement: keccak256(toHex('another build')) }, 'MEASUREMENT_MISMATCH'],
    ] as const) {
      const kms = await KmsService.open({ ...options(), ...override } as KmsServiceOptions)
      expect(await codeOf(kms.start()), code).toBe(code)
    }
  })

  it('serves its own attestation on /v1/info, checkable like a worker quote with bytes32(0) as X25519 key', async () => {
    const kms = await KmsService.open(options())
    try {
      await kms.start()
      const info = (await (await fetch(`${kms.url}/v1/info`)).json()) as KmsInfo
      expect(info).toMatchObject({
        address: kms.address,
        tee: 'simulated',
        measurement: KMS_MEASUREMENT,
        chainId: 31337,
        registry: t.addresses.registry,
      })
      expect(info.version).toMatch(/\d/)
      const verified = await verifyWorkerQuote({
        quote: base64urlToBytes(info.quote),
        expectedReportData: reportDataFromHash(
          hexToBytes(reportData(info.address, zeroHash, info.chainId, info.registry)),
        ),
        allowSimulated: true,
        isMeasurementAllowed: (m) => m === KMS_MEASUREMENT,
        now: Math.floor(Date.now() / 1000),
      })
      expect(verified.measurement).toBe(KMS_MEASUREMENT)
      expect((await fetch(`${kms.url}/nope`)).status).toBe(404)
    } finally {
      await kms.stop()
    }
  })
})

describe('KmsService before it is a KMS signer', () => {
  let env: KmsTestEnv
  beforeAll(async () => {
    env = await startKmsEnv({ signer: false, fund: false })
  })
  afterAll(async () => {
    await env?.stop()
  })

  const health = async () => {
    const response = await fetch(`${env.kms.url}/healthz`)
    return { status: response.status, body: (await response.json()) as KmsHealth & { ok: boolean } }
  }

  it('says how to fix it on /healthz, refuses to provision, and becomes ready once added', async () => {
    const before = await health()
    expect(before.status).toBe(503)
    expect(before.body).toMatchObject({ ok: false, phase: 'waiting-for-signer', signer: false })
    expect(before.body.warning?.code).toBe('NOT_KMS_SIGNER')
    expect(before.body.warning?.hint).toContain(`addKmsSigner(${env.kms.address})`)
    const provision = await fetch(`${env.kms.url}/v1/provision`, { method: 'POST', body: '{}' })
    expect(provision.status).toBe(503)
    expect(await provision.json()).toMatchObject({ ok: false, error: { code: 'NOT_READY' } })

    await mined(env.t, env.t.owner.registry.write.addKmsSigner([env.kms.address]))
    await waitFor('ready', async () => (await health()).status === 200)
    // Ready, but its identity has no gas yet.
    expect((await health()).body).toMatchObject({ ok: true, signer: true, balanceWei: '0' })
    expect((await health()).body.warning?.code).toBe('NO_GAS')
    await env.testClient.setBalance({ address: env.kms.address, value: parseEther('1') })
    await waitFor('the gas warning to clear', async () => (await health()).body.warning === undefined)
  })

  it('keeps its identity and master secret across a restart on the same data dir', async () => {
    const { address } = env.kms
    await env.kms.stop()
    const again = await KmsService.open({
      dataDir: env.dataDir,
      tee: simulatedTee(),
      measurement: KMS_MEASUREMENT,
      rpcUrl: env.t.anvil.rpcUrl,
      chainId: 31337,
      contracts: env.t.addresses,
      pollIntervalMs: 20,
      randomBytes: () => new Uint8Array(randomBytes(32)),
    })
    try {
      expect(again.address).toBe(address)
      await again.start()
      expect((await fetch(`${again.url}/healthz`)).status).toBe(200)
    } finally {
      await again.stop()
    }
  })
})
