import { describe, expect, it } from 'vitest'
import { DcapError } from './errors.js'
import { INTEL_SGX_ROOT_CA_PEM } from './intel-root-ca.js'
import { parseQuote } from './quote.js'
import { loadDcapCases } from './test-fixtures.js'
import { parseCertificate, parseCrl, parsePemChain, parseRootCertificate, verifyChain } from './x509.js'

const [c] = loadDcapCases().filter((x) => x.id === 'dcapqvl-tdx-v4')
if (c === undefined) throw new Error('missing test case')
const rootDer = new Uint8Array(
  Buffer.from(INTEL_SGX_ROOT_CA_PEM.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'),
)
const pckPem = Buffer.from(parseQuote(c.quote).certificationData.data).toString('latin1')

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    if (error instanceof DcapError) return error.code
    throw error
  }
  return 'NO_ERROR'
}

describe('certificates', () => {
  it('reads the PCK chain of a quote: leaf, PCK CA, root', () => {
    const chain = parsePemChain(pckPem, 'PCK chain')
    expect(chain.map((cert) => cert.commonName)).toEqual([
      'Intel SGX PCK Certificate',
      'Intel SGX PCK Platform CA',
      'Intel SGX Root CA',
    ])
    expect(chain.map((cert) => cert.isCa)).toEqual([false, true, true])
    const root = parseRootCertificate(rootDer)
    expect(codeOf(() => verifyChain(chain, root, c.expected.asOf, ['leaf', 'CA']))).toBe('NO_ERROR')
    expect(codeOf(() => verifyChain(chain.slice(0, 2), root, c.expected.asOf, ['leaf', 'CA']))).toBe(
      'NO_ERROR',
    )
    expect(
      codeOf(() =>
        verifyChain(
          [chain[0], chain[2]].flatMap((x) => (x ? [x] : [])),
          root,
          c.expected.asOf,
          ['leaf'],
        ),
      ),
    ).toBe('CERT_CHAIN_INVALID')
  })

  it('accepts only whitespace and NUL padding around strict base64 PEM blocks', () => {
    expect(parsePemChain(`\n\n${INTEL_SGX_ROOT_CA_PEM}\n\0\0`, 'root')).toHaveLength(1)
    expect(codeOf(() => parsePemChain(`junk${INTEL_SGX_ROOT_CA_PEM}`, 'root'))).toBe('CERT_MALFORMED')
    expect(codeOf(() => parsePemChain(`${INTEL_SGX_ROOT_CA_PEM}junk`, 'root'))).toBe('CERT_MALFORMED')
    expect(codeOf(() => parsePemChain(INTEL_SGX_ROOT_CA_PEM.replace('MIIC', 'MI*C'), 'root'))).toBe(
      'CERT_MALFORMED',
    )
    expect(codeOf(() => parsePemChain(INTEL_SGX_ROOT_CA_PEM.replace('\nMIIC', '\vMIIC'), 'root'))).toBe(
      'CERT_MALFORMED',
    )
    expect(codeOf(() => parsePemChain('', 'root'))).toBe('CERT_MALFORMED')
    expect(codeOf(() => parseRootCertificate(`${INTEL_SGX_ROOT_CA_PEM}${INTEL_SGX_ROOT_CA_PEM}`))).toBe(
      'CERT_MALFORMED',
    )
  })

  it('insists on one encoding: no trailing bytes, no unused signature bits', () => {
    expect(codeOf(() => parseCertificate(new Uint8Array([...rootDer, 0]), 'root'))).toBe('CERT_MALFORMED')
    const cert = parseCertificate(rootDer, 'root')
    const unusedBits = rootDer.slice()
    const at = rootDer.length - cert.signature.length - 1
    unusedBits[at] = 1
    expect(codeOf(() => parseCertificate(unusedBits, 'root'))).toBe('CERT_MALFORMED')
    expect(codeOf(() => parseCertificate(new Uint8Array([0x30, 0x03, 1, 2, 3]), 'root'))).toBe(
      'CERT_MALFORMED',
    )
  })

  it('memoizes parses without aliasing the caller buffer', () => {
    const input = rootDer.slice()
    const first = parseCertificate(input, 'root')
    input.fill(0)
    const again = parseCertificate(rootDer, 'root')
    expect(again).toBe(first)
    expect(Buffer.from(again.der).equals(Buffer.from(rootDer))).toBe(true)
  })
})

describe('CRLs', () => {
  it('reads issuer, validity and revoked serials', () => {
    const pckCrl = parseCrl(c.collateral.pckCrl, 'PCK CRL')
    expect(pckCrl.issuerName).toMatch(/CN=Intel SGX PCK (Platform|Processor) CA/)
    expect(pckCrl.revoked.size).toBeGreaterThan(0)
    expect(pckCrl.nextUpdate).toBeGreaterThan(pckCrl.thisUpdate)
    const rootCrl = parseCrl(c.collateral.rootCaCrl, 'root CRL')
    expect(rootCrl.issuer).toBe(parseRootCertificate(rootDer).subject)
  })

  it('rejects garbage and trailing bytes with CRL_MALFORMED', () => {
    expect(codeOf(() => parseCrl(new Uint8Array([1, 2, 3]), 'CRL'))).toBe('CRL_MALFORMED')
    expect(codeOf(() => parseCrl(new Uint8Array([...c.collateral.rootCaCrl, 0]), 'CRL'))).toBe(
      'CRL_MALFORMED',
    )
  })
})
