/**
 * End-to-end checks that real Intel data cannot reach, on a synthetic PKI (see test-pki.ts): quotes
 * re-signed by test keys and verified with `rootCa` set to the test root.
 */
import { describe, expect, it } from 'vitest'
import type { DcapErrorCode } from './errors.js'
import { type DcapCase, loadDcapCases } from './test-fixtures.js'
import { createTestWorld, sgxExtension, type TestWorld } from './test-pki.js'
import { type QuoteVerdict, verifyQuote } from './verify.js'

const cases = loadDcapCases()
const byId = (id: string) => cases.find((c) => c.id === id) as DcapCase
const worldOf = (id: string, pckTcb?: { sgxComponents: number[]; pceSvn: number }) => {
  const c = byId(id)
  return createTestWorld({ quote: c.quote, collateral: c.collateral, now: c.expected.asOf }, pckTcb)
}
const sgx = worldOf('dcapqvl-sgx-v3')
const tdx = worldOf('dcapqvl-tdx-v4')

const verify = (world: TestWorld, quote = world.quote, collateral = world.collateral, allowDebug = false) =>
  verifyQuote(quote, collateral, { now: world.now, rootCa: world.rootPem, allowDebug })

function codeOf(verdict: QuoteVerdict): DcapErrorCode | 'VALID' {
  return verdict.valid ? 'VALID' : verdict.error.code
}

describe('synthetic PKI', () => {
  it('verifies re-signed SGX and TDX quotes against the test root, and only against it', () => {
    for (const world of [sgx, tdx]) {
      const verdict = verify(world)
      expect(codeOf(verdict)).toBe('VALID')
      // The PCK leaf reaches the TCB info's best level (UpToDate for TDX, SWHardeningNeeded for this SGX platform).
      expect(verdict.valid && verdict.status).toBe(
        JSON.parse(world.collateral.tcbInfo).tcbLevels[0].tcbStatus,
      )
      // With Intel's root: the test root CRL is not Intel's, and the test PCK chain does not end at Intel's root.
      expect(codeOf(verifyQuote(world.quote, world.collateral, { now: world.now }))).toBe(
        'CRL_ISSUER_MISMATCH',
      )
      const real = cases.find((c) => c.expected.asOf === world.now) as DcapCase
      expect(codeOf(verifyQuote(world.quote, real.collateral, { now: world.now }))).toBe('CERT_CHAIN_INVALID')
    }
  })
})

describe('debug quotes with a valid signature', () => {
  it('refuses a debug enclave by default and accepts it with allowDebug', () => {
    const quote = sgx.requote((signed) => {
      signed[48 + 48] = (signed[48 + 48] ?? 0) | 0x02
    })
    const refused = verify(sgx, quote)
    expect(codeOf(refused)).toBe('DEBUG_NOT_ALLOWED')
    expect(!refused.valid && refused.error.message).toMatch(/debug enclave/)
    // Refused only after every other check passed: the verdict still names the enclave.
    expect(refused.tee).toBe('SGX')
    expect(codeOf(verify(sgx, quote, sgx.collateral, true))).toBe('VALID')
  })

  it('refuses a debug TD (TD_ATTRIBUTES.TUD.DEBUG) by default and accepts it with allowDebug', () => {
    const quote = tdx.requote((signed) => {
      signed[48 + 120] = (signed[48 + 120] ?? 0) | 0x01
    })
    expect(codeOf(verify(tdx, quote))).toBe('DEBUG_NOT_ALLOWED')
    expect(codeOf(verify(tdx, quote, tdx.collateral, true))).toBe('VALID')
  })

  it('reports an invalid TCB before a debug bit', () => {
    const quote = tdx.requote((signed) => {
      signed[48 + 120] = (signed[48 + 120] ?? 0) | 0x01
      signed[48 + 2] = 0 // TEE_TCB_SVN[2] below every level
    })
    expect(codeOf(verify(tdx, quote))).toBe('TCB_LEVEL_NOT_FOUND')
  })
})

describe('revocation', () => {
  it('refuses a PCK leaf listed by the PCK CRL', () => {
    const verdict = verify(sgx, sgx.quote, sgx.withCrls({ pckRevoked: [7, sgx.serials.pck] }))
    expect(codeOf(verdict)).toBe('CERT_REVOKED')
    expect(codeOf(verify(sgx, sgx.quote, sgx.withCrls({ pckRevoked: [7, 8] })))).toBe('VALID')
  })

  it('refuses intermediates listed by the root CA CRL', () => {
    expect(codeOf(verify(tdx, tdx.quote, tdx.withCrls({ rootRevoked: [tdx.serials.pckCa] })))).toBe(
      'CERT_REVOKED',
    )
    expect(codeOf(verify(tdx, tdx.quote, tdx.withCrls({ rootRevoked: [tdx.serials.tcb] })))).toBe(
      'CERT_REVOKED',
    )
  })

  it('refuses a PCK CRL from another issuer than the PCK leaf', () => {
    expect(codeOf(verify(sgx, sgx.quote, sgx.withCrls({ pckCrlIssuer: 'root' })))).toBe('CRL_ISSUER_MISMATCH')
  })
})

describe('TCB evaluation', () => {
  it('refuses a Revoked platform TCB level, reporting the status', () => {
    const collateral = sgx.withTcbInfo((info) => {
      const levels = info.tcbLevels as Array<Record<string, unknown>>
      if (levels[0]) {
        levels[0].tcbStatus = 'Revoked'
        levels[0].advisoryIDs = ['INTEL-SA-99999']
      }
    })
    const verdict = verify(sgx, sgx.quote, collateral)
    expect(codeOf(verdict)).toBe('TCB_REVOKED')
    expect(verdict.status).toBe('Revoked')
    expect(verdict.advisoryIds).toEqual(['INTEL-SA-99999'])
  })

  it('merges an OutOfDate QE into the platform status, advisories platform first', () => {
    const platform = worldOf('dcapqvl-sgx-v3')
    const collateral = platform.withTcbInfo((info) => {
      const levels = info.tcbLevels as Array<Record<string, unknown>>
      if (levels[0]) {
        levels[0].tcbStatus = 'ConfigurationNeeded'
        levels[0].advisoryIDs = ['INTEL-SA-00001', 'INTEL-SA-00002']
      }
    })
    const qeSvn = platform.template.qeReport.isvSvn
    const signed = { ...collateral, ...withQe(platform, qeSvn) }
    const verdict = verify(platform, platform.quote, signed)
    expect(verdict.valid && verdict.statusParts).toEqual({ platform: 'ConfigurationNeeded', qe: 'OutOfDate' })
    expect(verdict.status).toBe('OutOfDateConfigurationNeeded')
    expect(verdict.advisoryIds).toEqual(['INTEL-SA-00001', 'INTEL-SA-00002', 'INTEL-SA-00003'])
  })

  it('merges an OutOfDate TDX module (TDX_01 level ISVSVN 2) into the TDX status', () => {
    // dcapqvl-tdx-v4's TCB info: TDX_01 levels isvsvn 4 UpToDate, isvsvn 2 OutOfDate.
    const quote = tdx.requote((signed) => {
      signed[48] = 2 // TEE_TCB_SVN[0]: TDX module SVN 2, major version 1
    })
    const verdict = verify(tdx, quote)
    expect(verdict.valid && verdict.statusParts).toEqual({
      platform: 'UpToDate',
      tdxModule: 'OutOfDate',
      qe: 'UpToDate',
    })
    expect(verdict.status).toBe('OutOfDate')
  })

  it('refuses a TDX module without identity in the TCB info, or from another signer', () => {
    const noIdentity = tdx.requote((signed) => {
      signed[48 + 1] = 2 // major version 2: no TDX_02
    })
    expect(codeOf(verify(tdx, noIdentity))).toBe('TDX_MODULE_MISMATCH')
    const foreignSigner = tdx.requote((signed) => {
      signed[48 + 64] = 0xaa // MRSIGNERSEAM
    })
    expect(codeOf(verify(tdx, foreignSigner))).toBe('TDX_MODULE_MISMATCH')
  })

  it('refuses TCB info of another platform or TEE, and a QE identity of another TEE', () => {
    const fmspc = sgx.withTcbInfo((info) => {
      info.fmspc = '00aabbccddee'
    })
    expect(codeOf(verify(sgx, sgx.quote, fmspc))).toBe('TCB_INFO_MISMATCH')
    const pceId = sgx.withTcbInfo((info) => {
      info.pceId = '0101'
    })
    expect(codeOf(verify(sgx, sgx.quote, pceId))).toBe('TCB_INFO_MISMATCH')
    const tdxInfo = { ...sgx.collateral, ...pick(tdx.collateral, sgx) }
    const mismatch = verify(sgx, sgx.quote, tdxInfo)
    expect(codeOf(mismatch)).toBe('TCB_INFO_MISMATCH')
    expect(!mismatch.valid && mismatch.error.message).toMatch(/TCB info is for TDX, the quote is SGX/)
    const tdQe = sgx.withQeIdentity((identity) => {
      identity.id = 'TD_QE'
    })
    expect(codeOf(verify(sgx, sgx.quote, tdQe))).toBe('QE_IDENTITY_MISMATCH')
  })
})

describe('PCK certificate requirements', () => {
  it('needs "SGX PCK Certificate" in the leaf CN and the SGX extensions', () => {
    const wrongCn = sgx.requote(() => {}, { pem: sgx.chainPem({ pckSubject: 'Some Leaf' }) })
    expect(codeOf(verify(sgx, wrongCn))).toBe('PCK_CERT_INVALID')
    const noExtensions = sgx.requote(() => {}, { pem: sgx.chainPem({ pckExtensions: [] }) })
    expect(codeOf(verify(sgx, noExtensions))).toBe('PCK_CERT_INVALID')
  })

  it('reads the platform TCB from the PCK certificate', () => {
    const low = sgx.requote(() => {}, {
      pem: sgx.chainPem({
        pckExtensions: [
          sgxExtension({
            fmspc: fmspcOf(sgx),
            pceId: '0000',
            sgxComponents: new Array(16).fill(0),
            pceSvn: 0,
          }),
        ],
      }),
    })
    const verdict = verify(sgx, low)
    expect(codeOf(verdict)).toBe('TCB_LEVEL_NOT_FOUND')
    expect(!verdict.valid && verdict.error.message).toMatch(/^No matching TCB level found/)
  })

  it('needs the PCK intermediate to be a CA', () => {
    const notCa = sgx.requote(() => {}, { pem: sgx.chainPem({ pckCaIsCa: false }) })
    expect(codeOf(verify(sgx, notCa))).toBe('CERT_CHAIN_INVALID')
  })

  it('needs certification data type 5 (the PCK chain)', () => {
    expect(
      codeOf(
        verify(
          sgx,
          sgx.requote(() => {}, { certType: 3 }),
        ),
      ),
    ).toBe('QUOTE_UNSUPPORTED')
  })
})

/** QE identity whose current level lies above the QE's ISVSVN, with an OutOfDate level at it. */
function withQe(world: TestWorld, qeSvn: number) {
  const collateral = world.withQeIdentity((identity) => {
    identity.tcbLevels = [
      { tcb: { isvsvn: qeSvn + 1 }, tcbDate: '2025-01-01T00:00:00Z', tcbStatus: 'UpToDate' },
      {
        tcb: { isvsvn: qeSvn },
        tcbDate: '2024-01-01T00:00:00Z',
        tcbStatus: 'OutOfDate',
        advisoryIDs: ['INTEL-SA-00002', 'INTEL-SA-00003'],
      },
    ]
  })
  return { qeIdentity: collateral.qeIdentity, qeIdentitySignature: collateral.qeIdentitySignature }
}

/** TDX TCB info re-signed in `world` (so only its content, not its signature, is wrong). */
function pick(other: TestWorld['collateral'], world: TestWorld) {
  const collateral = world.withTcbInfo((info) => {
    for (const key of Object.keys(info)) delete info[key]
    Object.assign(info, JSON.parse(other.tcbInfo), { fmspc: fmspcOf(world) })
    const now = world.now * 1000
    info.issueDate = new Date(now - 86_400_000).toISOString().replace('.000Z', 'Z')
    info.nextUpdate = new Date(now + 86_400_000).toISOString().replace('.000Z', 'Z')
  })
  return { tcbInfo: collateral.tcbInfo, tcbInfoSignature: collateral.tcbInfoSignature }
}

function fmspcOf(world: TestWorld): string {
  return String(JSON.parse(world.collateral.tcbInfo).fmspc)
}
