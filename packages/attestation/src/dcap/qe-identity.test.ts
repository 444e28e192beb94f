import { describe, expect, it } from 'vitest'
import { DcapError } from './errors.js'
import { checkQeIdentity, parseQeIdentity } from './qe-identity.js'
import { type EnclaveReport, parseQuote } from './quote.js'
import { type DcapCase, loadDcapCases } from './test-fixtures.js'

const cases = loadDcapCases()
const byId = (id: string) => cases.find((c) => c.id === id) as DcapCase
const sgx = byId('dcapqvl-sgx-v3')
const tdx = byId('dcapqvl-tdx-v4')
const sgxIdentity = parseQeIdentity(sgx.collateral.qeIdentity)
const tdxIdentity = parseQeIdentity(tdx.collateral.qeIdentity)
const sgxQe = parseQuote(sgx.quote).qeReport

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof DcapError) return error.code
    throw error
  }
  return 'NO_ERROR'
}

describe('parseQeIdentity', () => {
  it('reads QE and TD_QE identities', () => {
    expect(sgxIdentity).toMatchObject({ id: 'QE', version: 2, isvProdId: 1 })
    expect(tdxIdentity).toMatchObject({ id: 'TD_QE', version: 2, isvProdId: 2 })
    expect(sgxIdentity.tcbLevels.length).toBeGreaterThan(1)
  })

  it('rejects malformed identities with QE_IDENTITY_MALFORMED', () => {
    const base = JSON.parse(sgx.collateral.qeIdentity)
    for (const broken of [
      '[',
      '{}',
      JSON.stringify({ ...base, version: 1 }),
      JSON.stringify({ ...base, mrsigner: '00' }),
    ]) {
      expect(codeOf(() => parseQeIdentity(broken))).toBe('QE_IDENTITY_MALFORMED')
    }
  })
})

describe('checkQeIdentity', () => {
  const report = (changes: Partial<EnclaveReport>): EnclaveReport => ({ ...sgxQe, ...changes })

  it("matches Intel's QE and takes the first TCB level ≤ its ISVSVN", () => {
    expect(checkQeIdentity(sgxIdentity, sgxQe, 'SGX').status).toBe('UpToDate')
    const oldest = Math.min(...sgxIdentity.tcbLevels.map((l) => l.isvSvn))
    const old = checkQeIdentity(sgxIdentity, report({ isvSvn: oldest }), 'SGX')
    expect(old.status).toBe('OutOfDate')
    expect(old.advisoryIds.length).toBeGreaterThan(0)
    if (oldest > 0)
      expect(codeOf(() => checkQeIdentity(sgxIdentity, report({ isvSvn: oldest - 1 }), 'SGX'))).toBe(
        'TCB_LEVEL_NOT_FOUND',
      )
  })

  it('refuses another enclave, or the identity of the other TEE', () => {
    expect(codeOf(() => checkQeIdentity(tdxIdentity, sgxQe, 'SGX'))).toBe('QE_IDENTITY_MISMATCH')
    expect(codeOf(() => checkQeIdentity(sgxIdentity, sgxQe, 'TDX'))).toBe('QE_IDENTITY_MISMATCH')
    expect(codeOf(() => checkQeIdentity(sgxIdentity, report({ mrSigner: new Uint8Array(32) }), 'SGX'))).toBe(
      'QE_IDENTITY_MISMATCH',
    )
    expect(codeOf(() => checkQeIdentity(sgxIdentity, report({ isvProdId: 9 }), 'SGX'))).toBe(
      'QE_IDENTITY_MISMATCH',
    )
    const attributes = sgxQe.attributes.slice()
    attributes[0] = (attributes[0] ?? 0) | 0x02 // a debug QE
    expect(codeOf(() => checkQeIdentity(sgxIdentity, report({ attributes }), 'SGX'))).toBe(
      'QE_IDENTITY_MISMATCH',
    )
    expect(
      codeOf(() => checkQeIdentity(sgxIdentity, report({ miscSelect: new Uint8Array([1, 0, 0, 0]) }), 'SGX')),
    ).toBe('QE_IDENTITY_MISMATCH')
  })
})
