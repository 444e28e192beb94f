import { describe, expect, it } from 'vitest'
import { mergeAdvisoryIds, mergeTcbStatus, TCB_STATUSES, tcbStatusRank } from './status.js'

describe('mergeTcbStatus', () => {
  it('is the identity for one status and for UpToDate', () => {
    for (const status of TCB_STATUSES) {
      expect(mergeTcbStatus(status)).toBe(status)
      expect(mergeTcbStatus(status, 'UpToDate')).toBe(status)
      expect(mergeTcbStatus('UpToDate', status, 'UpToDate')).toBe(status)
    }
  })

  it("follows Intel's convergence with an OutOfDate QE or TDX module", () => {
    expect(mergeTcbStatus('UpToDate', 'OutOfDate')).toBe('OutOfDate')
    expect(mergeTcbStatus('SWHardeningNeeded', 'OutOfDate')).toBe('OutOfDate')
    expect(mergeTcbStatus('ConfigurationNeeded', 'OutOfDate')).toBe('OutOfDateConfigurationNeeded')
    expect(mergeTcbStatus('ConfigurationAndSWHardeningNeeded', 'OutOfDate')).toBe(
      'OutOfDateConfigurationNeeded',
    )
    expect(mergeTcbStatus('OutOfDateConfigurationNeeded', 'OutOfDate')).toBe('OutOfDateConfigurationNeeded')
  })

  it('lets Revoked win, and is commutative', () => {
    for (const a of TCB_STATUSES) {
      expect(mergeTcbStatus(a, 'Revoked')).toBe('Revoked')
      for (const b of TCB_STATUSES) expect(mergeTcbStatus(a, b)).toBe(mergeTcbStatus(b, a))
    }
  })

  it('never yields a better status than any of its parts', () => {
    for (const a of TCB_STATUSES) {
      for (const b of TCB_STATUSES) {
        const merged = tcbStatusRank(mergeTcbStatus(a, b))
        expect(merged).toBeGreaterThanOrEqual(Math.max(tcbStatusRank(a), tcbStatusRank(b)))
      }
    }
  })

  it('combines configuration and software hardening', () => {
    expect(mergeTcbStatus('ConfigurationNeeded', 'SWHardeningNeeded')).toBe(
      'ConfigurationAndSWHardeningNeeded',
    )
  })
})

describe('mergeAdvisoryIds', () => {
  it('is a union in first-seen order, platform first', () => {
    expect(
      mergeAdvisoryIds(['INTEL-SA-00615', 'INTEL-SA-00289'], [], ['INTEL-SA-00289', 'INTEL-SA-00837']),
    ).toEqual(['INTEL-SA-00615', 'INTEL-SA-00289', 'INTEL-SA-00837'])
  })
})
