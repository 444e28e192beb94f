import { quoteKind, quoteReportData } from '@veil/protocol'
import { describe, expect, it } from 'vitest'
import { loadDcapCases } from '../dcap/test-fixtures.js'
import { createSimulatedQuote } from './simulated.js'

describe('@veil/protocol quoteReportData (offsets only) agrees with the full parsers', () => {
  it.each(loadDcapCases().map((c) => [c.id, c] as const))('%s', (_id, c) => {
    expect(quoteKind(c.quote)).toBe(c.expected.tee === 'SGX' ? 'sgx' : 'tdx')
    expect(Buffer.from(quoteReportData(c.quote) ?? []).toString('hex')).toBe(c.expected.report.report_data)
  })

  it('reads simulated quotes, and nothing from garbage', () => {
    const reportData = Uint8Array.from({ length: 64 }, (_, i) => i)
    const quote = createSimulatedQuote(new Uint8Array(32).fill(9), reportData)
    expect(quoteKind(quote)).toBe('simulated')
    expect(quoteReportData(quote)).toEqual(reportData)
    expect(quoteReportData(new Uint8Array(10))).toBeUndefined()
    expect(quoteReportData(quote.subarray(0, 50))).toBeUndefined()
    const sgxHeaderOnly = new Uint8Array(100)
    sgxHeaderOnly[0] = 3
    expect(quoteKind(sgxHeaderOnly)).toBe('sgx')
    expect(quoteReportData(sgxHeaderOnly)).toBeUndefined()
  })
})
