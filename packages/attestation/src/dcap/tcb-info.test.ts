import { describe, expect, it } from 'vitest'
import { DcapError } from './errors.js'
import type { PckTcb } from './pck-extensions.js'
import { parseQuote, type TdReport } from './quote.js'
import { checkTdxModule, matchTcbLevel, parseTcbInfo } from './tcb-info.js'
import { type DcapCase, loadDcapCases } from './test-fixtures.js'

const cases = loadDcapCases()
const byId = (id: string) => cases.find((c) => c.id === id) as DcapCase
const tdx = byId('dcapqvl-tdx-v4')
const tdxInfo = parseTcbInfo(tdx.collateral.tcbInfo)

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof DcapError) return error.code
    throw error
  }
  return 'NO_ERROR'
}

const tcb = (sgxComponents: number[], pceSvn: number): PckTcb => ({
  sgxComponents: [...sgxComponents, ...new Array(16 - sgxComponents.length).fill(0)],
  pceSvn,
  cpuSvn: new Uint8Array(16),
})
const svn = (...bytes: number[]) => new Uint8Array([...bytes, ...new Array(16 - bytes.length).fill(0)])

describe('parseTcbInfo', () => {
  it('reads SGX v2, SGX v3 and TDX v3 TCB infos', () => {
    const v2 = parseTcbInfo(byId('automata-sgx-v3-0625-tcbinfo-v2').collateral.tcbInfo)
    expect(v2).toMatchObject({ id: 'SGX', version: 2 })
    expect(v2.tcbLevels[0]?.sgxComponents).toHaveLength(16)
    expect(parseTcbInfo(byId('dcapqvl-sgx-v3').collateral.tcbInfo)).toMatchObject({ id: 'SGX', version: 3 })
    expect(tdxInfo).toMatchObject({ id: 'TDX', version: 3, fmspc: 'b0c06f000000', pceId: '0000' })
    expect(tdxInfo.tdxModuleIdentities.map((m) => m.id)).toEqual(['TDX_03', 'TDX_01'])
    expect(tdxInfo.tcbLevels[0]?.tdxComponents).toHaveLength(16)
  })

  it('rejects malformed TCB info with TCB_INFO_MALFORMED and a JSON path', () => {
    const base = JSON.parse(tdx.collateral.tcbInfo)
    const broken: Array<[unknown, RegExp]> = [
      ['not json', /not valid JSON/],
      [[], /tcbInfo: expected an object/],
      [{ ...base, version: 4 }, /tcbInfo.version: expected 2 or 3/],
      [{ ...base, id: 'SEV' }, /tcbInfo.id/],
      [{ ...base, fmspc: 'xyz' }, /tcbInfo.fmspc: expected hex of 6 bytes/],
      [{ ...base, issueDate: 'yesterday' }, /tcbInfo.issueDate: expected an ISO 8601/],
      [{ ...base, tcbLevels: [] }, /tcbInfo.tcbLevels: expected at least one level/],
      [
        { ...base, tcbLevels: [{ ...base.tcbLevels[0], tcbStatus: 'Fine' }] },
        /tcbInfo.tcbLevels\[0\].tcbStatus/,
      ],
      [
        { ...base, tcbLevels: [{ ...base.tcbLevels[0], tcb: { ...base.tcbLevels[0].tcb, pcesvn: -1 } }] },
        /pcesvn/,
      ],
      [{ ...base, tdxModule: undefined }, /tcbInfo.tdxModule: expected an object/],
    ]
    for (const [value, details] of broken) {
      try {
        parseTcbInfo(typeof value === 'string' ? value : JSON.stringify(value))
        throw new Error(`accepted ${JSON.stringify(value).slice(0, 40)}`)
      } catch (error) {
        if (!(error instanceof DcapError)) throw error
        expect(error.code).toBe('TCB_INFO_MALFORMED')
        expect(`${error.shortMessage} ${error.details ?? ''}`).toMatch(details)
      }
    }
  })
})

describe('matchTcbLevel', () => {
  // dcapqvl-tdx-v4's levels: SGX [2,2,2,2,3,1,0,5,…], PCESVN 11 / 5, TDX [5,0,2,…]; UpToDate then OutOfDate.
  const good = tcb([2, 2, 2, 2, 3, 1, 0, 5], 11)

  it('takes the first level every SGX component and PCESVN reach', () => {
    expect(matchTcbLevel(tdxInfo, good, svn(5, 0, 2)).status).toBe('UpToDate')
    expect(matchTcbLevel(tdxInfo, tcb([2, 2, 2, 2, 3, 1, 0, 5], 10), svn(5, 0, 2)).status).toBe('OutOfDate')
    expect(matchTcbLevel(tdxInfo, tcb([9, 9, 9, 9, 9, 9, 9, 9], 99), svn(9, 0, 9)).status).toBe('UpToDate')
  })

  it('fails with "No matching TCB level found" below every level', () => {
    expect(codeOf(() => matchTcbLevel(tdxInfo, tcb([2, 2, 2, 2, 3, 1, 0, 4], 11), svn(5, 0, 2)))).toBe(
      'TCB_LEVEL_NOT_FOUND',
    )
    expect(codeOf(() => matchTcbLevel(tdxInfo, tcb([2, 2, 2, 2, 3, 1, 0, 5], 4), svn(5, 0, 2)))).toBe(
      'TCB_LEVEL_NOT_FOUND',
    )
  })

  it('compares TEE_TCB_SVN bytes 0–1 only when the TDX module major version (byte 1) is 0', () => {
    // Byte 0 (module SVN 3) is below the level's 5: counts only for version 0 modules.
    expect(codeOf(() => matchTcbLevel(tdxInfo, good, svn(3, 0, 2)))).toBe('TCB_LEVEL_NOT_FOUND')
    expect(matchTcbLevel(tdxInfo, good, svn(3, 1, 2)).status).toBe('UpToDate')
    // Byte 2 (TDX late microcode) always counts.
    expect(codeOf(() => matchTcbLevel(tdxInfo, good, svn(5, 1, 1)))).toBe('TCB_LEVEL_NOT_FOUND')
  })
})

describe('checkTdxModule', () => {
  const report = parseQuote(tdx.quote).body as TdReport
  const withSvn = (...bytes: number[]): TdReport => ({ ...report, teeTcbSvn: svn(...bytes) })

  it('takes the status of the module identity TDX_<major> at the first level ≤ the module SVN', () => {
    expect(checkTdxModule(tdxInfo, withSvn(6, 1, 3))).toMatchObject({
      identityId: 'TDX_01',
      status: 'UpToDate',
    })
    expect(checkTdxModule(tdxInfo, withSvn(2, 1, 3))).toMatchObject({
      identityId: 'TDX_01',
      status: 'OutOfDate',
    })
    expect(checkTdxModule(tdxInfo, withSvn(3, 3, 3))).toMatchObject({
      identityId: 'TDX_03',
      status: 'UpToDate',
    })
    expect(codeOf(() => checkTdxModule(tdxInfo, withSvn(1, 1, 3)))).toBe('TCB_LEVEL_NOT_FOUND')
  })

  it('uses tdxModule and gives no module status for major version 0', () => {
    expect(checkTdxModule(tdxInfo, withSvn(6, 0, 3))).toEqual({
      identityId: undefined,
      status: undefined,
      advisoryIds: [],
    })
  })

  it('refuses unknown module versions, foreign signers and attributes', () => {
    expect(codeOf(() => checkTdxModule(tdxInfo, withSvn(6, 2, 3)))).toBe('TDX_MODULE_MISMATCH')
    const signer = report.mrSignerSeam.slice()
    signer[0] = 1
    expect(codeOf(() => checkTdxModule(tdxInfo, { ...report, mrSignerSeam: signer }))).toBe(
      'TDX_MODULE_MISMATCH',
    )
    expect(
      codeOf(() =>
        checkTdxModule(tdxInfo, { ...report, seamAttributes: svn(0, 0, 0, 0, 0, 0, 0, 1).subarray(0, 8) }),
      ),
    ).toBe('TDX_MODULE_MISMATCH')
  })
})
