import { describe, expect, it } from 'vitest'
import type { DcapCollateral } from './collateral.js'
import type { DcapErrorCode } from './errors.js'
import { INTEL_SGX_ROOT_CA_PEM } from './intel-root-ca.js'
import { parseQuote } from './quote.js'
import { type DcapCase, loadDcapCases, unix } from './test-fixtures.js'
import { type QuoteVerdict, verifyQuote } from './verify.js'
import { parsePemChain } from './x509.js'

const cases = loadDcapCases()
const validCases = cases.filter((c) => c.expected.valid)

/** expected.json's `error` text → the verifier's code. */
const ERROR_CODES: Record<string, DcapErrorCode> = {
  'No matching TCB level found': 'TCB_LEVEL_NOT_FOUND',
}

/** Which code a time outside each validity window of expected.json produces. */
const WINDOW_CODES: Record<string, DcapErrorCode> = {
  tcb_info: 'TCB_INFO_EXPIRED',
  qe_identity: 'QE_IDENTITY_EXPIRED',
  root_ca_crl: 'CRL_EXPIRED',
  pck_crl: 'CRL_EXPIRED',
  pck_leaf_cert: 'CERT_EXPIRED',
  pck_intermediate_cert: 'CERT_EXPIRED',
  tcb_signing_cert: 'CERT_EXPIRED',
  qe_identity_signing_cert: 'CERT_EXPIRED',
  pck_crl_issuer_cert: 'CERT_EXPIRED',
}

function windowsOf(c: DcapCase): Array<[name: string, start: number, end: number]> {
  return Object.entries(c.expected.collateralValidity)
    .filter(
      (entry): entry is [string, [string, string]] => Array.isArray(entry[1]) && entry[0] !== 'intersection',
    )
    .map(([name, [start, end]]) => [name, unix(start), unix(end)])
}

function rejection(verdict: QuoteVerdict): { code: DcapErrorCode; message: string } {
  if (verdict.valid) throw new Error(`expected a rejection, got ${verdict.status}`)
  return verdict.error
}

/** Deterministic sample of positions in [start, end): both ends, evenly spaced ones, and a few LCG picks. */
function positions(start: number, end: number, count = 10): number[] {
  const length = end - start
  const picked = new Set<number>([start, end - 1])
  for (let i = 1; i <= count - 5; i++) picked.add(start + Math.floor((i * length) / (count - 4)))
  let seed = (start * 2654435761 + end) >>> 0
  while (picked.size < Math.min(count, length)) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
    picked.add(start + (seed % length))
  }
  return [...picked].sort((a, b) => a - b)
}

const flipByte = (bytes: Uint8Array, at: number) => {
  const copy = bytes.slice()
  copy[at] = (copy[at] ?? 0) ^ 0x01
  return copy
}
const flipChar = (text: string, at: number) =>
  text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ 0x01) + text.slice(at + 1)

describe('verifyQuote reproduces expected.json', () => {
  it('covers SGX v3, TDX v4 and TDX v5 quotes', () => {
    expect(new Set(cases.map((c) => `${c.expected.tee}-v${c.expected.quoteVersion}`))).toEqual(
      new Set(['SGX-v3', 'TDX-v4', 'TDX-v5']),
    )
  })

  for (const c of cases) {
    it(`${c.id}: ${c.expected.valid ? c.expected.status : c.expected.error}`, () => {
      const verdict = verifyQuote(c.quote, c.collateral, { now: c.expected.asOf })
      const { expected } = c
      expect(verdict.valid).toBe(expected.valid)
      expect(verdict.tee).toBe(expected.tee)
      expect(verdict.quoteVersion).toBe(expected.quoteVersion)
      expect(verdict.status).toBe(expected.status)
      expect(verdict.advisoryIds).toEqual(expected.advisoryIds)
      expect(verdict.reportData).toBe(expected.report.report_data)
      const m = verdict.measurement
      if (expected.tee === 'SGX') {
        expect(m).toMatchObject({
          mrEnclave: expected.report.mrenclave,
          mrSigner: expected.report.mrsigner,
          isvProdId: expected.report.isvprodid,
          isvSvn: expected.report.isvsvn,
        })
      } else {
        expect(m).toMatchObject({
          mrTd: expected.report.mr_td,
          rtmr0: expected.report.rt_mr0,
          rtmr1: expected.report.rt_mr1,
          rtmr2: expected.report.rt_mr2,
          rtmr3: expected.report.rt_mr3,
          teeTcbSvn: expected.report.tee_tcb_svn,
          mrSeam: expected.report.mr_seam,
          tdAttributes: expected.report.td_attributes,
          xfam: expected.report.xfam,
        })
        if (expected.report.mr_servicetd !== undefined) {
          expect(m).toMatchObject({ mrServiceTd: expected.report.mr_servicetd })
        }
      }
      if (expected.valid) {
        if (!verdict.valid) throw new Error(verdict.error.message)
        expect(verdict.collateral.tcbInfoIssueDate).toBe(unix(JSON.parse(c.collateral.tcbInfo).issueDate))
        expect(verdict.collateral.validUntil).toBe(
          unix((expected.collateralValidity.intersection as [string, string])[1]),
        )
      } else {
        const error = rejection(verdict)
        const message = expected.error ?? ''
        expect(error.code).toBe(ERROR_CODES[message])
        expect(error.message.startsWith(message)).toBe(true)
      }
    })
  }

  it('reports the status parts it merged', () => {
    const tdx = cases.find((c) => c.id === 'automata-tdx-v4-0625') as DcapCase
    const verdict = verifyQuote(tdx.quote, tdx.collateral, { now: tdx.expected.asOf })
    expect(verdict.valid && verdict.statusParts).toEqual({
      platform: 'OutOfDate',
      tdxModule: 'UpToDate',
      qe: 'UpToDate',
    })
    const sgx = cases.find((c) => c.id === 'dcapqvl-sgx-v3') as DcapCase
    const sgxVerdict = verifyQuote(sgx.quote, sgx.collateral, { now: sgx.expected.asOf })
    expect(sgxVerdict.valid && sgxVerdict.statusParts).toEqual({
      platform: 'ConfigurationAndSWHardeningNeeded',
      qe: 'UpToDate',
    })
  })
})

describe('validity windows', () => {
  for (const c of validCases) {
    it(`${c.id}: valid on the edges of the intersection, rejected outside each window`, () => {
      const [from, to] = (c.expected.collateralValidity.intersection as [string, string]).map(unix) as [
        number,
        number,
      ]
      expect(verifyQuote(c.quote, c.collateral, { now: from }).valid).toBe(true)
      expect(verifyQuote(c.quote, c.collateral, { now: to }).valid).toBe(true)
      const windows = windowsOf(c)
      expect(windows.length).toBe(Object.keys(WINDOW_CODES).length)
      for (const [name, start, end] of windows) {
        for (const now of [start - 1, end + 1]) {
          const error = rejection(verifyQuote(c.quote, c.collateral, { now }))
          // Several windows may exclude `now`; the error must be one of theirs, and theirs alone.
          const excluded = windows.filter(([, s, e]) => now < s || now > e).map(([n]) => WINDOW_CODES[n])
          expect(excluded, `${name} at ${now}`).toContain(WINDOW_CODES[name])
          expect(excluded, `${name} at ${now}: ${error.message}`).toContain(error.code)
        }
      }
    })
  }
})

describe('tampering', () => {
  const quoteRegions: Array<
    [
      region: string,
      pick: (q: ReturnType<typeof parseQuote>) => readonly [number, number],
      codes: DcapErrorCode[],
    ]
  > = [
    ['header', () => [0, 48], ['QUOTE_SIGNATURE_INVALID', 'QUOTE_UNSUPPORTED']],
    [
      'body',
      (q) => [48, q.ranges.signedData[1]],
      ['QUOTE_SIGNATURE_INVALID', 'QUOTE_UNSUPPORTED', 'QUOTE_MALFORMED'],
    ],
    ['quote signature', (q) => q.ranges.signature, ['QUOTE_SIGNATURE_INVALID']],
    ['attestation key', (q) => q.ranges.attestationKey, ['QE_REPORT_DATA_MISMATCH']],
    ['QE report', (q) => q.ranges.qeReport, ['QE_REPORT_SIGNATURE_INVALID']],
    ['QE report signature', (q) => q.ranges.qeReportSignature, ['QE_REPORT_SIGNATURE_INVALID']],
    ['QE auth data', (q) => q.ranges.qeAuthData, ['QE_REPORT_DATA_MISMATCH']],
  ]
  const crlCodes: DcapErrorCode[] = ['CRL_MALFORMED', 'CRL_SIGNATURE_INVALID', 'CRL_ISSUER_MISMATCH']

  for (const c of validCases) {
    const now = c.expected.asOf
    const parsed = parseQuote(c.quote)

    it(`${c.id}: any flipped byte of the signed quote parts is rejected`, () => {
      for (const [region, pick, codes] of quoteRegions) {
        const [start, end] = pick(parsed)
        for (const at of positions(start, end)) {
          const error = rejection(verifyQuote(flipByte(c.quote, at), c.collateral, { now }))
          expect(codes, `${region} byte ${at}: ${error.message}`).toContain(error.code)
        }
      }
    })

    it(`${c.id}: any flipped byte of the signed collateral is rejected`, () => {
      const mutate = (field: keyof DcapCollateral, value: unknown) => ({ ...c.collateral, [field]: value })
      const textFields = [
        ['tcbInfo', 'TCB_INFO_SIGNATURE_INVALID'],
        ['qeIdentity', 'QE_IDENTITY_SIGNATURE_INVALID'],
      ] as const
      for (const [field, code] of textFields) {
        const text = c.collateral[field]
        for (const at of positions(0, text.length)) {
          const error = rejection(verifyQuote(c.quote, mutate(field, flipChar(text, at)), { now }))
          expect(error.code, `${field} char ${at}`).toBe(code)
        }
      }
      const byteFields: Array<[keyof DcapCollateral, DcapErrorCode[]]> = [
        ['tcbInfoSignature', ['TCB_INFO_SIGNATURE_INVALID']],
        ['qeIdentitySignature', ['QE_IDENTITY_SIGNATURE_INVALID']],
        ['rootCaCrl', crlCodes],
        ['pckCrl', crlCodes],
      ]
      for (const [field, codes] of byteFields) {
        const bytes = c.collateral[field] as Uint8Array
        for (const at of positions(0, bytes.length)) {
          const error = rejection(verifyQuote(c.quote, mutate(field, flipByte(bytes, at)), { now }))
          expect(codes, `${field} byte ${at}: ${error.message}`).toContain(error.code)
        }
      }
    })

    it(`${c.id}: any flipped byte of a signed certificate part is rejected`, () => {
      const [certStart, certEnd] = parsed.ranges.certificationData
      // The PEM starts 6 bytes in (type + length); re-encode a tampered DER in place, same length.
      const pemStart = certStart + 6
      const pem = Buffer.from(c.quote.subarray(pemStart, certEnd)).toString('latin1')
      const chain = parsePemChain(pem, 'PCK chain')
      const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----\n([^-]*)-----END CERTIFICATE-----/g)]
      for (const [index, certificate] of chain.entries()) {
        const block = blocks[index]
        if (block === undefined) throw new Error('PEM blocks and certificates disagree')
        const tbsStart = Buffer.from(certificate.der).indexOf(Buffer.from(certificate.tbs))
        for (const at of positions(tbsStart, tbsStart + certificate.tbs.length, 6)) {
          const der = flipByte(certificate.der, at)
          const body = `${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n')}\n`.replace(
            /\n\n$/,
            '\n',
          )
          expect(body.length).toBe((block[1] ?? '').length)
          const offset = pemStart + (block.index ?? 0) + '-----BEGIN CERTIFICATE-----\n'.length
          const quote = c.quote.slice()
          quote.set(Buffer.from(body, 'latin1'), offset)
          const error = rejection(verifyQuote(quote, c.collateral, { now }))
          expect(
            ['CERT_MALFORMED', 'CERT_CHAIN_INVALID'],
            `certificate ${index} byte ${at}: ${error.message}`,
          ).toContain(error.code)
        }
      }
      // The TCB signing certificate, from the collateral.
      const tcbChain = parsePemChain(c.collateral.tcbInfoIssuerChain, 'TCB chain')
      const signer = tcbChain[0]
      if (signer === undefined) throw new Error('empty TCB chain')
      const tbsStart = Buffer.from(signer.der).indexOf(Buffer.from(signer.tbs))
      for (const at of positions(tbsStart, tbsStart + signer.tbs.length, 6)) {
        const der = flipByte(signer.der, at)
        const tampered = c.collateral.tcbInfoIssuerChain.replace(
          /-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/,
          `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----`,
        )
        const error = rejection(
          verifyQuote(c.quote, { ...c.collateral, tcbInfoIssuerChain: tampered }, { now }),
        )
        expect(['CERT_MALFORMED', 'CERT_CHAIN_INVALID'], `TCB signer byte ${at}: ${error.message}`).toContain(
          error.code,
        )
      }
    })

    it(`${c.id}: the unsigned padding after the signature data does not matter`, () => {
      const [start] = parsed.ranges.trailing
      const padded = new Uint8Array([...c.quote, 0, 0, 0, 0, 7])
      for (const at of positions(start, padded.length, 4)) {
        expect(verifyQuote(flipByte(padded, at), c.collateral, { now }).valid).toBe(true)
      }
    })
  }
})

describe('trust anchor', () => {
  const c = validCases[0] as DcapCase
  const now = c.expected.asOf

  it('embeds the Intel SGX Root CA of the test data', () => {
    const [embedded] = parsePemChain(INTEL_SGX_ROOT_CA_PEM, 'embedded root')
    const der = Buffer.from(INTEL_SGX_ROOT_CA_PEM.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')
    expect(embedded?.commonName).toBe('Intel SGX Root CA')
    expect(Buffer.from(embedded?.der ?? []).equals(der)).toBe(true)
  })

  it('accepts the root CA given as DER or PEM', () => {
    const der = Buffer.from(INTEL_SGX_ROOT_CA_PEM.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')
    expect(verifyQuote(c.quote, c.collateral, { now, rootCa: new Uint8Array(der) }).valid).toBe(true)
    expect(verifyQuote(c.quote, c.collateral, { now, rootCa: INTEL_SGX_ROOT_CA_PEM }).valid).toBe(true)
  })

  it('rejects chains that do not end at the given root', () => {
    // Any other CA as trust anchor: here Intel's PCK intermediate.
    const intermediate = parsePemChain(c.collateral.pckCrlIssuerChain, 'chain')[0]
    const verdict = verifyQuote(c.quote, c.collateral, { now, rootCa: intermediate?.der ?? new Uint8Array() })
    expect(rejection(verdict).code).toMatch(/^(CERT_CHAIN_INVALID|CRL_ISSUER_MISMATCH)$/)
  })

  it('reports a malformed root as a typed error', () => {
    expect(rejection(verifyQuote(c.quote, c.collateral, { now, rootCa: 'not a PEM' })).code).toBe(
      'CERT_MALFORMED',
    )
  })
})
