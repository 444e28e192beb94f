import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DcapError } from './errors.js'
import { assertNotDebug, isDebug, parseQuote, type TdReport } from './quote.js'
import { type DcapCase, loadDcapCases } from './test-fixtures.js'
import { verifyQuote } from './verify.js'

const cases = loadDcapCases()
const byId = (id: string) => cases.find((c) => c.id === id) as DcapCase
const sgxV3 = byId('dcapqvl-sgx-v3')
const tdxV4 = byId('dcapqvl-tdx-v4')
const tdxV5 = byId('automata-tdx-v5-unused')

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof DcapError) return error.code
    throw error
  }
  return 'NO_ERROR'
}

const withU16 = (bytes: Uint8Array, at: number, value: number) => {
  const copy = bytes.slice()
  new DataView(copy.buffer).setUint16(at, value, true)
  return copy
}
const withU32 = (bytes: Uint8Array, at: number, value: number) => {
  const copy = bytes.slice()
  new DataView(copy.buffer).setUint32(at, value, true)
  return copy
}

describe('parseQuote', () => {
  it('parses every test quote, with ranges that tile the signature data', () => {
    for (const c of cases) {
      const quote = parseQuote(c.quote)
      expect(quote.version).toBe(c.expected.quoteVersion)
      expect(quote.tee).toBe(c.expected.tee)
      expect(quote.certificationData.type).toBe(5)
      expect(quote.signedData.length).toBe(quote.ranges.signedData[1])
      expect(quote.ranges.attestationKey[0]).toBe(quote.ranges.signature[1])
      expect(quote.ranges.qeReportSignature[0]).toBe(quote.ranges.qeReport[1])
      expect(quote.ranges.trailing[1]).toBe(c.quote.length)
      expect(Buffer.from(quote.body.reportData).toString('hex')).toBe(c.expected.report.report_data)
    }
  })

  it('reads quote v5 body descriptors: TD report 1.5 with TEE_TCB_SVN2 and MRSERVICETD', () => {
    const quote = parseQuote(tdxV5.quote)
    expect(quote.bodyType).toBe(3)
    const body = quote.body as TdReport
    expect(body.kind).toBe('td15')
    expect(Buffer.from(body.mrServiceTd ?? []).toString('hex')).toBe(tdxV5.expected.report.mr_servicetd)
    expect(quote.signedData.length).toBe(48 + 6 + 648)
  })

  it('tolerates trailing bytes after the signature data (real buffers are padded)', () => {
    const padded = new Uint8Array([...sgxV3.quote, ...new Uint8Array(100)])
    const quote = parseQuote(padded)
    expect(quote.ranges.trailing).toEqual([sgxV3.quote.length, padded.length])
  })

  it('rejects empty and truncated input with QUOTE_MALFORMED', () => {
    expect(codeOf(() => parseQuote(new Uint8Array()))).toBe('QUOTE_MALFORMED')
    for (const c of [sgxV3, tdxV4, tdxV5]) {
      const end = parseQuote(c.quote).ranges.trailing[0]
      const cuts = [1, 2, 20, 47, 48, 53, 100, 431, 432, 435, 436, 600, 700, 1000, 1100, 1300, 2000, end - 1]
      for (const cut of cuts) {
        expect(
          codeOf(() => parseQuote(c.quote.subarray(0, cut))),
          `${c.id} cut at ${cut}`,
        ).toBe('QUOTE_MALFORMED')
      }
    }
  })

  it('rejects what it does not support with QUOTE_UNSUPPORTED', () => {
    for (const version of [0, 1, 2, 6, 0xffff]) {
      expect(codeOf(() => parseQuote(withU16(tdxV4.quote, 0, version)))).toBe('QUOTE_UNSUPPORTED')
    }
    expect(codeOf(() => parseQuote(withU16(tdxV4.quote, 2, 3)))).toBe('QUOTE_UNSUPPORTED') // key type
    expect(codeOf(() => parseQuote(withU32(sgxV3.quote, 4, 0x81)))).toBe('QUOTE_UNSUPPORTED') // v3 is SGX only
    expect(codeOf(() => parseQuote(withU32(tdxV4.quote, 4, 0x7)))).toBe('QUOTE_UNSUPPORTED') // TEE type
    const vendor = tdxV4.quote.slice()
    vendor[12] = (vendor[12] ?? 0) ^ 0xff
    expect(codeOf(() => parseQuote(vendor))).toBe('QUOTE_UNSUPPORTED')
    expect(codeOf(() => parseQuote(withU16(tdxV5.quote, 48, 9)))).toBe('QUOTE_UNSUPPORTED') // v5 body type
    expect(codeOf(() => parseQuote(withU16(tdxV5.quote, 48, 1)))).toBe('QUOTE_UNSUPPORTED') // SGX body in a TDX quote
    // v4 must nest its QE report in certification data type 6.
    const certTypeAt = parseQuote(tdxV4.quote).ranges.attestationKey[1]
    expect(codeOf(() => parseQuote(withU16(tdxV4.quote, certTypeAt, 5)))).toBe('QUOTE_UNSUPPORTED')
  })

  it('rejects inconsistent length fields with QUOTE_MALFORMED', () => {
    expect(codeOf(() => parseQuote(withU32(tdxV5.quote, 50, 584)))).toBe('QUOTE_MALFORMED') // v5 body size vs type
    const sigLengthAt = parseQuote(tdxV4.quote).ranges.signedData[1]
    expect(codeOf(() => parseQuote(withU32(tdxV4.quote, sigLengthAt, 0xffffffff)))).toBe('QUOTE_MALFORMED')
    expect(codeOf(() => parseQuote(withU32(tdxV4.quote, sigLengthAt, 100)))).toBe('QUOTE_MALFORMED')
    // A signature-data length that leaves bytes after the certification data unaccounted for.
    const longer = new Uint8Array([...withU32(sgxV3.quote, 432, 4164 + 4), 0, 0, 0, 0])
    expect(codeOf(() => parseQuote(longer))).toBe('QUOTE_MALFORMED')
  })

  it('rejects a non-Uint8Array with a typed error', () => {
    expect(codeOf(() => parseQuote('quote' as unknown as Uint8Array))).toBe('QUOTE_MALFORMED')
    expect(codeOf(() => parseQuote(undefined as unknown as Uint8Array))).toBe('QUOTE_MALFORMED')
  })

  it('never throws anything but DcapError on arbitrary corruption (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(sgxV3, tdxV4, tdxV5),
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
        (c, cut, flips) => {
          const bytes = c.quote.slice(0, cut % (c.quote.length + 1))
          for (const [at, xor] of flips)
            if (bytes.length > 0) bytes[at % bytes.length] = (bytes[at % bytes.length] ?? 0) ^ xor
          try {
            parseQuote(bytes)
          } catch (error) {
            if (!(error instanceof DcapError)) throw error
          }
        },
      ),
      { numRuns: 300, seed: 42 },
    )
  })
})

describe('verifyQuote on malformed input', () => {
  it('returns a verdict with a typed error instead of throwing', () => {
    const inputs: Array<[string, Uint8Array, string]> = [
      ['empty', new Uint8Array(), 'QUOTE_MALFORMED'],
      ['truncated', tdxV4.quote.subarray(0, 700), 'QUOTE_MALFORMED'],
      ['wrong version', withU16(tdxV4.quote, 0, 7), 'QUOTE_UNSUPPORTED'],
    ]
    for (const [name, quote, code] of inputs) {
      const verdict = verifyQuote(quote, tdxV4.collateral, { now: tdxV4.expected.asOf })
      expect(verdict.valid, name).toBe(false)
      if (!verdict.valid) expect(verdict.error.code, name).toBe(code)
      expect(verdict.tee).toBeNull()
    }
  })

  it('keeps the parsed fields of a quote that parsed but failed verification', () => {
    const verdict = verifyQuote(tdxV4.quote, tdxV4.collateral, { now: 0 })
    expect(verdict.valid).toBe(false)
    expect(verdict.tee).toBe('TDX')
    expect(verdict.reportData).toBe(tdxV4.expected.report.report_data)
  })

  it('survives random corruption of quote and time without throwing (property)', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bytes = tdxV4.quote.slice()
        bytes[at % bytes.length] = (bytes[at % bytes.length] ?? 0) ^ xor
        const verdict = verifyQuote(bytes, tdxV4.collateral, { now: tdxV4.expected.asOf })
        if (!verdict.valid) expect(verdict.error.code).not.toBe('INTERNAL_ERROR')
      }),
      { numRuns: 60, seed: 7 },
    )
  })
})

describe('debug enclaves and TDs', () => {
  const debugSgx = () => {
    const bytes = sgxV3.quote.slice()
    bytes[48 + 48] = (bytes[48 + 48] ?? 0) | 0x02 // ATTRIBUTES.DEBUG of the enclave report
    return bytes
  }
  const debugTd = () => {
    const bytes = tdxV4.quote.slice()
    bytes[48 + 120] = (bytes[48 + 120] ?? 0) | 0x01 // TD_ATTRIBUTES.TUD.DEBUG
    return bytes
  }

  it('no test quote is a debug one', () => {
    for (const c of cases) expect(isDebug(parseQuote(c.quote).body), c.id).toBe(false)
  })

  it('detects the SGX DEBUG attribute and the TDX TUD.DEBUG bit', () => {
    const sgx = parseQuote(debugSgx()).body
    const td = parseQuote(debugTd()).body
    expect(isDebug(sgx)).toBe(true)
    expect(isDebug(td)).toBe(true)
    expect(codeOf(() => assertNotDebug(sgx))).toBe('DEBUG_NOT_ALLOWED')
    expect(codeOf(() => assertNotDebug(td))).toBe('DEBUG_NOT_ALLOWED')
    expect(codeOf(() => assertNotDebug(td, true))).toBe('NO_ERROR')
    // Other TD_ATTRIBUTES bits (SEPT_VE_DISABLE, bit 28, is set in the test quotes; PERFMON, bit 63) are not debug.
    const perfmon = tdxV4.quote.slice()
    perfmon[48 + 127] = (perfmon[48 + 127] ?? 0) | 0x80
    expect(isDebug(parseQuote(perfmon).body)).toBe(false)
  })

  it('a forged debug bit is reported as a bad signature, with or without allowDebug', () => {
    for (const [bytes, c] of [
      [debugSgx(), sgxV3],
      [debugTd(), tdxV4],
    ] as const) {
      for (const allowDebug of [false, true]) {
        const verdict = verifyQuote(bytes, c.collateral, { now: c.expected.asOf, allowDebug })
        expect(verdict.valid).toBe(false)
        if (!verdict.valid) expect(verdict.error.code).toBe('QUOTE_SIGNATURE_INVALID')
      }
    }
  })
})
