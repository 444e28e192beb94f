/**
 * Intel DCAP quote verification (SGX v3, TDX v4/v5) against collateral, at a given time.
 *
 * The order of checks follows the trust they build on: first the PKI (root CRL, PCK chain, PCK CRL,
 * TCB-info and QE-identity signing chains), then the quote's own signatures (QE report by the PCK key,
 * attestation-key binding, quote by the attestation key), then the signed collateral, then the TCB
 * evaluation. Policy-like refusals (debug) come last, so they are only ever reported about an
 * authentic quote: a forged "debug" bit reads as a bad signature, not as a debug quote.
 */

import { createHash } from 'node:crypto'
import { bytesEqual, isAllZero, isoTime, toHex } from '../bytes.js'
import type { DcapCollateral } from './collateral.js'
import { p256KeyFromRaw, verifyRawSignature } from './ecdsa.js'
import { DcapError, type DcapErrorCode } from './errors.js'
import { INTEL_SGX_ROOT_CA_PEM } from './intel-root-ca.js'
import { parsePckExtensions } from './pck-extensions.js'
import { checkQeIdentity, parseQeIdentity, type QeIdentity } from './qe-identity.js'
import { assertNotDebug, CERT_DATA_PCK_CHAIN, type ParsedQuote, parseQuote, type Tee } from './quote.js'
import { mergeAdvisoryIds, mergeTcbStatus, type TcbStatus } from './status.js'
import { checkTdxModule, matchTcbLevel, parseTcbInfo, type TcbInfo } from './tcb-info.js'
import {
  type Certificate,
  type Crl,
  checkNotRevoked,
  parseCrl,
  parsePemChain,
  parseRootCertificate,
  verifyChain,
  verifyCrl,
} from './x509.js'

export interface VerifyQuoteOptions {
  /** The time to verify at, unix seconds. Every certificate, CRL and collateral must be valid then. */
  now: number
  /** Accept debug enclaves / debug TDs (never in production: the host can read their memory). */
  allowDebug?: boolean
  /** Trust anchor, PEM or DER; defaults to the Intel SGX Root CA embedded in this package. */
  rootCa?: string | Uint8Array
}

export interface SgxMeasurement {
  /** MRENCLAVE, hex (no 0x). */
  mrEnclave: string
  /** MRSIGNER, hex (no 0x). */
  mrSigner: string
  isvProdId: number
  isvSvn: number
}

export interface TdxMeasurement {
  /** MRTD: the initial TD memory (firmware), hex (no 0x). */
  mrTd: string
  rtmr0: string
  rtmr1: string
  rtmr2: string
  rtmr3: string
  mrConfigId: string
  mrOwner: string
  mrOwnerConfig: string
  mrSeam: string
  teeTcbSvn: string
  tdAttributes: string
  xfam: string
  /** TD report 1.5 only. */
  mrServiceTd?: string
}

export type Measurement = SgxMeasurement | TdxMeasurement

/** Which pieces of collateral were used and until when the verdict holds. */
export interface CollateralInfo {
  fmspc: string
  tcbEvaluationDataNumber: number
  /** Unix seconds. */
  tcbInfoIssueDate: number
  tcbInfoNextUpdate: number
  qeIdentityIssueDate: number
  qeIdentityNextUpdate: number
  /** The earliest end of any validity window that was checked (certificates, CRLs, collateral). */
  validUntil: number
}

export interface StatusParts {
  /** The TCB level of the platform (SGX components, PCESVN, and TEE_TCB_SVN for TDX). */
  platform: TcbStatus
  /** The TDX module identity's level; absent for SGX and for TDX modules without an identity. */
  tdxModule?: TcbStatus
  /** The QE identity's level (UpToDate, OutOfDate or Revoked). */
  qe: TcbStatus
}

interface VerdictCommon {
  /** From the parsed quote; `null` only when the quote did not parse. */
  tee: Tee | null
  quoteVersion: number | null
  measurement: Measurement | null
  /** REPORTDATA, hex (no 0x). */
  reportData: string | null
}

export interface ValidQuoteVerdict extends VerdictCommon {
  valid: true
  tee: Tee
  quoteVersion: number
  measurement: Measurement
  reportData: string
  /** Worst of platform, TDX module and QE statuses (see `mergeTcbStatus`); never `Revoked` here. */
  status: TcbStatus
  /** Advisory ids of the matched levels: platform first, then TDX module, then QE. */
  advisoryIds: string[]
  statusParts: StatusParts
  collateral: CollateralInfo
}

export interface InvalidQuoteVerdict extends VerdictCommon {
  valid: false
  /** `Revoked` when a TCB level is revoked (`TCB_REVOKED`), otherwise `null`. */
  status: TcbStatus | null
  advisoryIds: string[]
  error: { code: DcapErrorCode; message: string }
}

export type QuoteVerdict = ValidQuoteVerdict | InvalidQuoteVerdict

function measurementOf(quote: ParsedQuote): Measurement {
  const body = quote.body
  if (body.kind === 'enclave') {
    return {
      mrEnclave: toHex(body.mrEnclave),
      mrSigner: toHex(body.mrSigner),
      isvProdId: body.isvProdId,
      isvSvn: body.isvSvn,
    }
  }
  return {
    mrTd: toHex(body.mrTd),
    rtmr0: toHex(body.rtmr0),
    rtmr1: toHex(body.rtmr1),
    rtmr2: toHex(body.rtmr2),
    rtmr3: toHex(body.rtmr3),
    mrConfigId: toHex(body.mrConfigId),
    mrOwner: toHex(body.mrOwner),
    mrOwnerConfig: toHex(body.mrOwnerConfig),
    mrSeam: toHex(body.mrSeam),
    teeTcbSvn: toHex(body.teeTcbSvn),
    tdAttributes: toHex(body.tdAttributes),
    xfam: toHex(body.xfam),
    ...(body.mrServiceTd === undefined ? {} : { mrServiceTd: toHex(body.mrServiceTd) }),
  }
}

/** Parsed trust anchors are immutable; the embedded one is parsed once. */
let defaultRoot: Certificate | undefined
function rootCertificate(rootCa: string | Uint8Array | undefined): Certificate {
  if (rootCa !== undefined) return parseRootCertificate(rootCa)
  defaultRoot ??= parseRootCertificate(INTEL_SGX_ROOT_CA_PEM, 'Intel SGX Root CA certificate')
  return defaultRoot
}

/** Verifies an issuer chain from the collateral up to the root, and the root CRL on its intermediates. */
function verifyIssuerChain(
  pem: string,
  root: Certificate,
  rootCrl: Crl,
  now: number,
  label: string,
): Certificate {
  const chain = parsePemChain(pem, `${label} chain`)
  verifyChain(chain, root, now, [label])
  const signer = chain[0] as Certificate
  checkNotRevoked(signer, rootCrl, label)
  return signer
}

/** Checks an ECDSA r||s signature over the exact JSON text of a piece of collateral. */
function checkJsonSignature(
  signer: Certificate,
  text: string,
  signature: Uint8Array,
  code: DcapErrorCode,
  label: string,
): void {
  if (
    signer.publicKey === undefined ||
    !verifyRawSignature(signer.publicKey, Buffer.from(text, 'utf8'), signature)
  ) {
    throw new DcapError(code, `${label} signature is invalid`, {
      details: `not signed by ${signer.subjectName}`,
    })
  }
}

function checkWindow(
  issueDate: number,
  nextUpdate: number,
  now: number,
  code: DcapErrorCode,
  label: string,
): void {
  if (now < issueDate || now > nextUpdate) {
    throw new DcapError(
      code,
      `${label} is not valid at ${isoTime(now)} (${now < issueDate ? 'not yet issued' : 'expired'})`,
      {
        details: `issueDate ${isoTime(issueDate)}, nextUpdate ${isoTime(nextUpdate)}`,
      },
    )
  }
}

/** Everything up to the TCB evaluation; returns what the evaluation needs. */
function verifyAuthenticity(
  quote: ParsedQuote,
  collateral: DcapCollateral,
  now: number,
  root: Certificate,
): { pck: Certificate; tcbInfo: TcbInfo; qeIdentity: QeIdentity; validUntil: number } {
  // Root CA CRL: signed by the root, current.
  const rootCrl = parseCrl(collateral.rootCaCrl, 'Root CA CRL')
  verifyCrl(rootCrl, root, now, 'Root CA CRL')

  // PCK chain from the quote: leaf → PCK Platform/Processor CA → root.
  if (quote.certificationData.type !== CERT_DATA_PCK_CHAIN) {
    throw new DcapError(
      'QUOTE_UNSUPPORTED',
      `Certification data type ${quote.certificationData.type} is not supported`,
      {
        details: 'only type 5 (PCK certificate chain inside the quote) can be verified offline',
      },
    )
  }
  const pckChain = parsePemChain(
    Buffer.from(quote.certificationData.data).toString('latin1'),
    'PCK certificate chain',
  )
  verifyChain(pckChain, root, now, ['PCK leaf certificate', 'PCK intermediate certificate'])
  const pck = pckChain[0] as Certificate
  const pckCa = pckChain[1]
  if (pckCa === undefined || pckCa.subject === root.subject) {
    throw new DcapError('CERT_CHAIN_INVALID', 'PCK certificate chain lacks the PCK intermediate CA')
  }
  checkNotRevoked(pckCa, rootCrl, 'PCK intermediate certificate')
  if (!pck.commonName.includes('SGX PCK Certificate')) {
    throw new DcapError('PCK_CERT_INVALID', 'Leaf of the quote is not a PCK certificate', {
      details: `subject CN "${pck.commonName}" does not contain "SGX PCK Certificate"`,
    })
  }

  // PCK CRL: issued by the PCK leaf's issuer (checked by name and by signature), current, leaf not listed.
  const pckCrlSigner = verifyIssuerChain(
    collateral.pckCrlIssuerChain,
    root,
    rootCrl,
    now,
    'PCK CRL issuer certificate',
  )
  const pckCrl = parseCrl(collateral.pckCrl, 'PCK CRL')
  verifyCrl(pckCrl, pckCrlSigner, now, 'PCK CRL')
  if (pckCrl.issuer !== pck.issuer) {
    throw new DcapError('CRL_ISSUER_MISMATCH', 'PCK CRL is not the CRL of the PCK certificate issuer', {
      details: `CRL issuer "${pckCrl.issuerName}", PCK issuer "${pck.issuerName}"`,
    })
  }
  checkNotRevoked(pck, pckCrl, 'PCK leaf certificate')

  // TCB info and QE identity: signing chains, signatures over the exact text, then contents.
  const tcbSigner = verifyIssuerChain(
    collateral.tcbInfoIssuerChain,
    root,
    rootCrl,
    now,
    'TCB signing certificate',
  )
  checkJsonSignature(
    tcbSigner,
    collateral.tcbInfo,
    collateral.tcbInfoSignature,
    'TCB_INFO_SIGNATURE_INVALID',
    'TCB info',
  )
  const qeSigner = verifyIssuerChain(
    collateral.qeIdentityIssuerChain,
    root,
    rootCrl,
    now,
    'QE identity signing certificate',
  )
  checkJsonSignature(
    qeSigner,
    collateral.qeIdentity,
    collateral.qeIdentitySignature,
    'QE_IDENTITY_SIGNATURE_INVALID',
    'QE identity',
  )

  // The quote itself: QE report signed by the PCK key, binding the attestation key, which signed the quote.
  if (
    pck.publicKey === undefined ||
    !verifyRawSignature(pck.publicKey, quote.qeReport.raw, quote.qeReportSignature)
  ) {
    throw new DcapError('QE_REPORT_SIGNATURE_INVALID', 'QE report signature is invalid', {
      details: 'the QE report is not signed by the PCK certificate key',
    })
  }
  const binding = createHash('sha256').update(quote.attestationKey).update(quote.qeAuthData).digest()
  const qeReportData = quote.qeReport.reportData
  if (!bytesEqual(qeReportData.subarray(0, 32), binding) || !isAllZero(qeReportData.subarray(32))) {
    throw new DcapError('QE_REPORT_DATA_MISMATCH', 'QE report does not bind the attestation key', {
      details: 'QE REPORTDATA must be sha256(attestation key || QE auth data) followed by 32 zero bytes',
    })
  }
  const attestationKey = p256KeyFromRaw(quote.attestationKey)
  if (
    attestationKey === undefined ||
    !verifyRawSignature(attestationKey, quote.signedData, quote.signature)
  ) {
    throw new DcapError('QUOTE_SIGNATURE_INVALID', 'Quote signature is invalid', {
      details: 'header and body are not signed by the attestation key',
    })
  }

  const tcbInfo = parseTcbInfo(collateral.tcbInfo)
  checkWindow(tcbInfo.issueDate, tcbInfo.nextUpdate, now, 'TCB_INFO_EXPIRED', 'TCB info')
  const qeIdentity = parseQeIdentity(collateral.qeIdentity)
  checkWindow(qeIdentity.issueDate, qeIdentity.nextUpdate, now, 'QE_IDENTITY_EXPIRED', 'QE identity')

  const validUntil = Math.min(
    rootCrl.nextUpdate ?? Number.POSITIVE_INFINITY,
    pckCrl.nextUpdate ?? Number.POSITIVE_INFINITY,
    tcbInfo.nextUpdate,
    qeIdentity.nextUpdate,
    root.notAfter,
    ...pckChain.map((c) => c.notAfter),
    pckCrlSigner.notAfter,
    tcbSigner.notAfter,
    qeSigner.notAfter,
  )
  return { pck, tcbInfo, qeIdentity, validUntil }
}

function evaluate(
  quote: ParsedQuote,
  parts: ReturnType<typeof verifyAuthenticity>,
): { status: TcbStatus; advisoryIds: string[]; statusParts: StatusParts } {
  const { pck, tcbInfo, qeIdentity } = parts
  const extensions = parsePckExtensions(pck)
  if (tcbInfo.id !== quote.tee) {
    throw new DcapError('TCB_INFO_MISMATCH', `TCB info is for ${tcbInfo.id}, the quote is ${quote.tee}`)
  }
  if (tcbInfo.fmspc !== extensions.fmspc) {
    throw new DcapError('TCB_INFO_MISMATCH', 'TCB info is for another platform (FMSPC)', {
      details: `TCB info FMSPC ${tcbInfo.fmspc}, PCK certificate FMSPC ${extensions.fmspc}`,
    })
  }
  if (tcbInfo.pceId !== extensions.pceId) {
    throw new DcapError('TCB_INFO_MISMATCH', 'TCB info is for another PCE (PCE-ID)', {
      details: `TCB info PCE-ID ${tcbInfo.pceId}, PCK certificate PCE-ID ${extensions.pceId}`,
    })
  }
  const qe = checkQeIdentity(qeIdentity, quote.qeReport, quote.tee)
  const body = quote.body
  const module = body.kind === 'enclave' ? undefined : checkTdxModule(tcbInfo, body)
  const level = matchTcbLevel(tcbInfo, extensions.tcb, body.kind === 'enclave' ? undefined : body.teeTcbSvn)
  const statuses = [level.status, ...(module?.status === undefined ? [] : [module.status]), qe.status]
  return {
    status: mergeTcbStatus(...statuses),
    advisoryIds: mergeAdvisoryIds(level.advisoryIds, module?.advisoryIds ?? [], qe.advisoryIds),
    statusParts: {
      platform: level.status,
      ...(module?.status === undefined ? {} : { tdxModule: module.status }),
      qe: qe.status,
    },
  }
}

/**
 * Verifies an Intel DCAP quote (SGX v3, TDX v4/v5) against its collateral at `opts.now`. Never throws:
 * every failure, malformed input included, is a verdict with `valid: false` and a typed `error.code`.
 *
 * @example
 * const verdict = verifyQuote(quote, parseCollateral(json), { now: Math.floor(Date.now() / 1000) })
 * if (verdict.valid) console.log(verdict.status, verdict.measurement)
 */
export function verifyQuote(
  quote: Uint8Array,
  collateral: DcapCollateral,
  opts: VerifyQuoteOptions,
): QuoteVerdict {
  let parsed: ParsedQuote | undefined
  let status: TcbStatus | null = null
  let advisoryIds: string[] = []
  try {
    if (!Number.isFinite(opts.now)) throw new DcapError('INTERNAL_ERROR', 'opts.now must be unix seconds')
    parsed = parseQuote(quote)
    const root = rootCertificate(opts.rootCa)
    const parts = verifyAuthenticity(parsed, collateral, opts.now, root)
    const result = evaluate(parsed, parts)
    if (result.status === 'Revoked') {
      status = result.status
      advisoryIds = result.advisoryIds
      throw new DcapError('TCB_REVOKED', 'TCB level is revoked', {
        details:
          `platform ${result.statusParts.platform}, QE ${result.statusParts.qe}` +
          (result.statusParts.tdxModule === undefined ? '' : `, TDX module ${result.statusParts.tdxModule}`),
      })
    }
    assertNotDebug(parsed.body, opts.allowDebug ?? false)
    return {
      valid: true,
      tee: parsed.tee,
      quoteVersion: parsed.version,
      measurement: measurementOf(parsed),
      reportData: toHex(parsed.body.reportData),
      status: result.status,
      advisoryIds: result.advisoryIds,
      statusParts: result.statusParts,
      collateral: {
        fmspc: parts.tcbInfo.fmspc,
        tcbEvaluationDataNumber: parts.tcbInfo.tcbEvaluationDataNumber,
        tcbInfoIssueDate: parts.tcbInfo.issueDate,
        tcbInfoNextUpdate: parts.tcbInfo.nextUpdate,
        qeIdentityIssueDate: parts.qeIdentity.issueDate,
        qeIdentityNextUpdate: parts.qeIdentity.nextUpdate,
        validUntil: parts.validUntil,
      },
    }
  } catch (error) {
    const dcap =
      error instanceof DcapError
        ? error
        : new DcapError(
            'INTERNAL_ERROR',
            `Verifier failed: ${error instanceof Error ? error.message : String(error)}`,
            {
              cause: error,
            },
          )
    const message = dcap.details === undefined ? dcap.shortMessage : `${dcap.shortMessage}: ${dcap.details}`
    return {
      valid: false,
      tee: parsed?.tee ?? null,
      quoteVersion: parsed?.version ?? null,
      measurement: parsed === undefined ? null : measurementOf(parsed),
      reportData: parsed === undefined ? null : toHex(parsed.body.reportData),
      status,
      advisoryIds,
      error: { code: dcap.code, message },
    }
  }
}
