import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadDcapCases } from '../dcap/test-fixtures.js'
import { createTestWorld } from '../dcap/test-pki.js'
import { reportDataFromHash, type TeeErrorCode } from './provider.js'
import { SealedFiles } from './sealing.js'
import {
  createSimulatedQuote,
  createSimulatedTee,
  SIMULATED_QUOTE_LENGTH,
  verifySimulatedQuote,
} from './simulated.js'
import { createTdxTee } from './tdx-tee.js'
import { type AttestationErrorCode, registryMeasurement, verifyWorkerQuote } from './worker-quote.js'

const measurement = Uint8Array.from({ length: 32 }, (_, i) => i)
const binding = Uint8Array.from({ length: 32 }, (_, i) => 255 - i)
const reportData = reportDataFromHash(binding)

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'veil-tee-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const codeOf = async (promise: Promise<unknown>) =>
  (
    (await promise.then(
      () => ({ code: 'NONE' }),
      (e: unknown) => e,
    )) as { code: string }
  ).code

describe('simulated TEE', () => {
  it('signs quotes carrying measurement and report data that verify with the dev attestation key', async () => {
    const tee = createSimulatedTee({ measurement, platformSecret: new Uint8Array(32).fill(7) })
    expect(tee.kind).toBe('simulated')
    const quote = await tee.getQuote(reportData)
    expect(quote).toHaveLength(SIMULATED_QUOTE_LENGTH)
    expect(verifySimulatedQuote(quote)).toEqual({ measurement, reportData })
  })

  it('refuses a quote with any byte changed, truncated or extended', () => {
    const quote = createSimulatedQuote(measurement, reportData)
    for (const i of [0, 8, 9, 10, 41, 42, 105, 106, 169]) {
      const tampered = Uint8Array.from(quote)
      tampered[i] = (tampered[i] as number) ^ 1
      expect(() => verifySimulatedQuote(tampered), `byte ${i}`).toThrow()
    }
    expect(() => verifySimulatedQuote(quote.subarray(0, 100))).toThrow(/bytes/)
    expect(() => verifySimulatedQuote(new Uint8Array([...quote, 0]))).toThrow(/bytes/)
    expect(() => createSimulatedQuote(measurement, new Uint8Array(32))).toThrow(/64 bytes/)
  })

  it('derives sealing keys from the platform secret: stable per machine, different elsewhere', async () => {
    const file = join(dir, 'platform.key')
    const a = createSimulatedTee({ measurement, platformSecretFile: file })
    const key = await a.sealingKey('veil/v1/seal/worker')
    expect(readFileSync(file, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/)
    // Another process on the same machine (same file), another measurement (an upgrade): same key.
    const b = createSimulatedTee({ measurement: new Uint8Array(32), platformSecretFile: file })
    expect(await b.sealingKey('veil/v1/seal/worker')).toEqual(key)
    expect(await b.sealingKey('veil/v1/seal/kms')).not.toEqual(key)
    const elsewhere = createSimulatedTee({ measurement, platformSecret: new Uint8Array(32).fill(1) })
    expect(await elsewhere.sealingKey('veil/v1/seal/worker')).not.toEqual(key)
    writeFileSync(file, 'garbage')
    const broken = createSimulatedTee({ measurement, platformSecretFile: file })
    expect(await codeOf(broken.sealingKey('x'))).toBe('SEALING_UNAVAILABLE' satisfies TeeErrorCode)
  })
})

describe('sealed files', () => {
  const here = createSimulatedTee({ measurement, platformSecret: new Uint8Array(32).fill(3) })
  const there = createSimulatedTee({ measurement, platformSecret: new Uint8Array(32).fill(4) })

  it('round-trip on the same machine; refuse another machine, another label, or altered bytes', async () => {
    const path = join(dir, 'identity.sealed')
    const secret = new TextEncoder().encode('the worker identity')
    await new SealedFiles(here).write(path, 'veil/v1/seal/worker', secret)
    expect(readFileSync(path).includes(Buffer.from('worker identity'))).toBe(false)
    expect(await new SealedFiles(here).read(path, 'veil/v1/seal/worker')).toEqual(secret)
    expect(await new SealedFiles(here).read(join(dir, 'missing'), 'x')).toBeUndefined()

    const copied = await new SealedFiles(there).read(path, 'veil/v1/seal/worker').catch((e: unknown) => e)
    expect(copied).toMatchObject({ code: 'SEAL_KEY_MISMATCH' })
    expect(String((copied as Error).message)).toContain("does not unseal with this TEE's sealing key")
    expect(await codeOf(new SealedFiles(here).read(path, 'veil/v1/seal/kms'))).toBe('SEAL_KEY_MISMATCH')
    const bytes = readFileSync(path)
    bytes.writeUInt8((bytes.at(-20) as number) ^ 1, bytes.length - 20)
    writeFileSync(path, bytes)
    expect(await codeOf(new SealedFiles(here).read(path, 'veil/v1/seal/worker'))).toBe('SEAL_KEY_MISMATCH')
    writeFileSync(path, '{"plain":"json"}')
    expect(await codeOf(new SealedFiles(here).read(path, 'veil/v1/seal/worker'))).toBe('SEALED_FILE_INVALID')
  })
})

describe('TDX TEE', () => {
  it('needs a sealing key source, and derives labelled keys from it', async () => {
    expect(await codeOf(createTdxTee().sealingKey('x'))).toBe('SEALING_UNAVAILABLE')
    const file = join(dir, 'root.key')
    writeFileSync(file, 'ab'.repeat(32))
    const tee = createTdxTee({ sealingKeyFile: file })
    expect(tee.kind).toBe('tdx')
    expect(await tee.sealingKey('a')).toHaveLength(32)
    expect(await tee.sealingKey('a')).not.toEqual(await tee.sealingKey('b'))
    writeFileSync(file, 'short')
    expect(await codeOf(createTdxTee({ sealingKeyFile: file }).sealingKey('a'))).toBe('SEALING_UNAVAILABLE')
  })
})

describe('verifyWorkerQuote', () => {
  const simulated = createSimulatedQuote(measurement, reportData)
  const allowed = (m: `0x${string}`) => m === `0x${Buffer.from(measurement).toString('hex')}`
  const base = { expectedReportData: reportData, isMeasurementAllowed: allowed, now: 1_800_000_000 }

  it('accepts a simulated quote on a dev-mode ledger only, binding the expected keys and an allowed measurement', async () => {
    expect(await verifyWorkerQuote({ ...base, quote: simulated, allowSimulated: true })).toEqual({
      tee: 'simulated',
      measurement: `0x${Buffer.from(measurement).toString('hex')}`,
      status: 'Simulated',
      advisoryIds: [],
    })
    const refuse = (check: Partial<Parameters<typeof verifyWorkerQuote>[0]>) =>
      codeOf(verifyWorkerQuote({ ...base, quote: simulated, allowSimulated: true, ...check }))
    expect(await refuse({ allowSimulated: false })).toBe(
      'SIMULATED_QUOTE_REFUSED' satisfies AttestationErrorCode,
    )
    expect(await refuse({ expectedReportData: new Uint8Array(64) })).toBe('REPORT_DATA_MISMATCH')
    expect(await refuse({ isMeasurementAllowed: () => false })).toBe('MEASUREMENT_NOT_ALLOWED')
    const forged = Uint8Array.from(simulated)
    forged[20] = (forged[20] as number) ^ 1
    expect(await refuse({ quote: forged })).toBe('QUOTE_INVALID')
    expect(await refuse({ quote: new Uint8Array(10) })).toBe('COLLATERAL_MISSING')
  })

  const cases = loadDcapCases().filter((c) => c.expected.valid)
  it.each(cases.map((c) => [c.id, c] as const))(
    'verifies the real DCAP quote %s through the same check',
    async (_id, c) => {
      const quoteReportData = Buffer.from(String(c.expected.report.report_data), 'hex')
      let seen: string | undefined
      const check = {
        quote: c.quote,
        collateral: c.collateral,
        expectedReportData: Uint8Array.from(quoteReportData),
        allowSimulated: false,
        isMeasurementAllowed: (m: string) => {
          seen = m
          return true
        },
        now: c.expected.asOf,
        minStatus: 'OutOfDateConfigurationNeeded' as const,
        maxCollateralAgeSeconds: 10 * 365 * 24 * 3600,
      }
      const result = await verifyWorkerQuote(check)
      expect(result.tee).toBe(c.expected.tee === 'SGX' ? 'sgx' : 'tdx')
      expect(result.status).toBe(c.expected.status)
      expect(result.measurement).toBe(seen)
      if (c.expected.tee === 'SGX') expect(result.measurement).toBe(`0x${c.expected.report.mrenclave}`)
      else expect(result.measurement).toMatch(/^0x[0-9a-f]{64}$/)

      const otherKeys = Uint8Array.from(quoteReportData)
      otherKeys[0] = (otherKeys[0] as number) ^ 1
      expect(await codeOf(verifyWorkerQuote({ ...check, expectedReportData: otherKeys }))).toBe(
        'REPORT_DATA_MISMATCH',
      )
      expect(await codeOf(verifyWorkerQuote({ ...check, collateral: undefined }))).toBe('COLLATERAL_MISSING')
      expect(await codeOf(verifyWorkerQuote({ ...check, now: c.expected.asOf + 5 * 365 * 24 * 3600 }))).toBe(
        'QUOTE_INVALID',
      )
      if (c.expected.status !== 'UpToDate') {
        expect(await codeOf(verifyWorkerQuote({ ...check, minStatus: 'UpToDate' }))).toBe(
          'TCB_STATUS_REFUSED',
        )
      }
      expect(await codeOf(verifyWorkerQuote({ ...check, maxCollateralAgeSeconds: 0 }))).toBe(
        'COLLATERAL_TOO_OLD',
      )
    },
  )

  it('checks hardware quotes against `rootCa` when given (tests on a synthetic PKI), else Intel’s root', async () => {
    const c = cases.find((c) => c.id === 'dcapqvl-tdx-v4')
    if (!c) throw new Error('dcapqvl-tdx-v4 is missing from the DCAP test data')
    const world = createTestWorld({ quote: c.quote, collateral: c.collateral, now: c.expected.asOf })
    const check = {
      quote: world.quote,
      collateral: world.collateral,
      expectedReportData: Uint8Array.from(Buffer.from(String(c.expected.report.report_data), 'hex')),
      allowSimulated: false,
      isMeasurementAllowed: () => true,
      now: world.now,
    }
    expect(await verifyWorkerQuote({ ...check, rootCa: world.rootPem })).toMatchObject({
      tee: 'tdx',
      status: 'UpToDate',
    })
    expect(await codeOf(verifyWorkerQuote(check))).toBe('QUOTE_INVALID')
  })

  it('maps TDX measurements to one 32-byte value over MRTD and RTMR0–2', () => {
    const tdx = {
      mrTd: 'aa'.repeat(48),
      rtmr0: 'bb'.repeat(48),
      rtmr1: 'cc'.repeat(48),
      rtmr2: 'dd'.repeat(48),
    }
    const a = registryMeasurement(tdx)
    expect(a).toMatch(/^0x[0-9a-f]{64}$/)
    expect(registryMeasurement({ ...tdx, rtmr1: 'ce'.repeat(48) })).not.toBe(a)
    expect(registryMeasurement({ ...tdx, mrTd: 'ab'.repeat(48) })).not.toBe(a)
    expect(registryMeasurement({ mrEnclave: 'AB'.repeat(32) })).toBe(`0x${'ab'.repeat(32)}`)
  })
})
