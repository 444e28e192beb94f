import { describe, expect, it } from 'vitest'
import { type DcapCase, loadDcapCases } from './dcap/test-fixtures.js'
import { type ValidQuoteVerdict, verifyQuote } from './dcap/verify.js'
import { checkPolicy } from './policy.js'

const cases = loadDcapCases()
const verdictOf = (id: string) => {
  const c = cases.find((x) => x.id === id) as DcapCase
  return { c, verdict: verifyQuote(c.quote, c.collateral, { now: c.expected.asOf }) }
}

describe('checkPolicy', () => {
  const tdx = verdictOf('dcapqvl-tdx-v4') // UpToDate
  const sgx = verdictOf('dcapqvl-sgx-v3') // ConfigurationAndSWHardeningNeeded
  const now = tdx.c.expected.asOf

  it('accepts an allowed MRTD (TDX) or MRENCLAVE (SGX), any case and 0x prefix', () => {
    const mrTd = String(tdx.c.expected.report.mr_td)
    expect(checkPolicy(tdx.verdict, { allowedMeasurements: [`0x${mrTd.toUpperCase()}`], now })).toEqual({
      ok: true,
      measurement: mrTd,
      status: 'UpToDate',
    })
    const mrEnclave = String(sgx.c.expected.report.mrenclave)
    const result = checkPolicy(sgx.verdict, {
      allowedMeasurements: [mrEnclave],
      minStatus: 'ConfigurationAndSWHardeningNeeded',
      now,
    })
    expect(result.ok).toBe(true)
  })

  it('refuses other measurements, with MRSIGNER or RTMRs no substitute', () => {
    const result = checkPolicy(tdx.verdict, {
      allowedMeasurements: [String(tdx.c.expected.report.rt_mr0)],
      now,
    })
    expect(!result.ok && result.error.code).toBe('POLICY_MEASUREMENT_NOT_ALLOWED')
    const signer = checkPolicy(sgx.verdict, {
      allowedMeasurements: [String(sgx.c.expected.report.mrsigner)],
      now,
    })
    expect(!signer.ok && signer.error.code).toBe('POLICY_MEASUREMENT_NOT_ALLOWED')
  })

  it('accepts UpToDate and SWHardeningNeeded by default', () => {
    const allowed = { allowedMeasurements: [String(sgx.c.expected.report.mrenclave)], now }
    const strict = checkPolicy(sgx.verdict, allowed)
    expect(!strict.ok && strict.error.code).toBe('POLICY_TCB_STATUS')
    expect(!strict.ok && strict.error.details).toMatch(/INTEL-SA-00289/)
    const base = sgx.verdict as ValidQuoteVerdict
    expect(checkPolicy({ ...base, status: 'SWHardeningNeeded' }, allowed).ok).toBe(true)
    expect(checkPolicy({ ...base, status: 'UpToDate' }, allowed).ok).toBe(true)
    expect(checkPolicy({ ...base, status: 'OutOfDate' }, { ...allowed, minStatus: 'OutOfDate' }).ok).toBe(
      true,
    )
    expect(
      checkPolicy({ ...base, status: 'OutOfDateConfigurationNeeded' }, { ...allowed, minStatus: 'OutOfDate' })
        .ok,
    ).toBe(false)
  })

  it('bounds the collateral age (now − tcbInfo issueDate)', () => {
    const v = tdx.verdict as ValidQuoteVerdict
    const allowedMeasurements = [v.measurement && 'mrTd' in v.measurement ? v.measurement.mrTd : '']
    const age = now - v.collateral.tcbInfoIssueDate
    expect(checkPolicy(v, { allowedMeasurements, now, maxCollateralAgeSeconds: age }).ok).toBe(true)
    const old = checkPolicy(v, { allowedMeasurements, now, maxCollateralAgeSeconds: age - 1 })
    expect(!old.ok && old.error.code).toBe('POLICY_COLLATERAL_TOO_OLD')
  })

  it('refuses an invalid verdict, carrying the verifier error', () => {
    const { c, verdict } = verdictOf('automata-tdx-v5-unused')
    const result = checkPolicy(verdict, { allowedMeasurements: [String(c.expected.report.mr_td)], now })
    expect(!result.ok && result.error.code).toBe('POLICY_QUOTE_INVALID')
    expect(!result.ok && result.error.details).toMatch(/^TCB_LEVEL_NOT_FOUND: No matching TCB level found/)
  })
})
