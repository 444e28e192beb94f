/**
 * Intel DCAP quote parsing: SGX quote v3, TDX quote v4 and quote v5 (whose body carries a type/size
 * descriptor: SGX enclave report, TD report 1.0 or TD report 1.5). Layouts from Intel's "SGX ECDSA
 * Quote Library API" and "TDX DCAP Quote Generation Library and Quote Verification Library" specs.
 *
 * Parsing never trusts a length field: every read is bounds-checked and a short buffer yields a
 * `DcapError('QUOTE_MALFORMED')` naming the field. Bytes after the signature data are ignored (real
 * buffers carry padding; they are not signed, so nothing the verifier reports depends on them).
 */

import { DcapError } from './errors.js'

export type Tee = 'SGX' | 'TDX'

export const QUOTE_HEADER_LENGTH = 48
export const ENCLAVE_REPORT_LENGTH = 384
export const TD_REPORT10_LENGTH = 584
export const TD_REPORT15_LENGTH = 648
/** ECDSA-256-with-P-256 attestation key, the only type DCAP uses. */
export const ATTESTATION_KEY_TYPE_ECDSA_P256 = 2
export const TEE_TYPE_SGX = 0x00000000
export const TEE_TYPE_TDX = 0x00000081
/** Intel's QE vendor id (939a7233-f79c-4ca9-940a-0db3957f0607). */
export const INTEL_QE_VENDOR_ID = '939a7233f79c4ca9940a0db3957f0607'
/** Certification data type 5: the PCK leaf, intermediate and root certificates as a PEM chain. */
export const CERT_DATA_PCK_CHAIN = 5
/** Certification data type 6 (quote v4/v5): QE report, its signature, QE auth data and nested cert data. */
export const CERT_DATA_QE_REPORT = 6

/** Quote v5 body types. */
export const BODY_SGX_ENCLAVE_REPORT = 1
export const BODY_TD_REPORT10 = 2
export const BODY_TD_REPORT15 = 3

export interface QuoteHeader {
  version: number
  attestationKeyType: number
  /** 0 (SGX) or 0x81 (TDX); quote v3 has reserved zero bytes here, read as 0. */
  teeType: number
  qeSvn: number
  pceSvn: number
  qeVendorId: Uint8Array
  userData: Uint8Array
}

/** SGX REPORT body (384 bytes): the application enclave of an SGX quote, and every quote's QE report. */
export interface EnclaveReport {
  kind: 'enclave'
  cpuSvn: Uint8Array
  /** MISCSELECT as the 4 little-endian bytes of the report. */
  miscSelect: Uint8Array
  attributes: Uint8Array
  mrEnclave: Uint8Array
  mrSigner: Uint8Array
  isvProdId: number
  isvSvn: number
  reportData: Uint8Array
  /** The 384 raw bytes (what the QE report signature covers). */
  raw: Uint8Array
}

/** TDX TD report body: 1.0 (584 bytes) or 1.5 (648 bytes, adds TEE_TCB_SVN2 and MRSERVICETD). */
export interface TdReport {
  kind: 'td10' | 'td15'
  teeTcbSvn: Uint8Array
  mrSeam: Uint8Array
  mrSignerSeam: Uint8Array
  seamAttributes: Uint8Array
  tdAttributes: Uint8Array
  xfam: Uint8Array
  mrTd: Uint8Array
  mrConfigId: Uint8Array
  mrOwner: Uint8Array
  mrOwnerConfig: Uint8Array
  rtmr0: Uint8Array
  rtmr1: Uint8Array
  rtmr2: Uint8Array
  rtmr3: Uint8Array
  reportData: Uint8Array
  teeTcbSvn2?: Uint8Array
  mrServiceTd?: Uint8Array
  raw: Uint8Array
}

/** A `[start, end)` byte range of the quote buffer. */
export type ByteRange = readonly [start: number, end: number]

export interface ParsedQuote {
  version: number
  tee: Tee
  header: QuoteHeader
  /** Quote v5 body type (1 SGX, 2 TD 1.0, 3 TD 1.5); for v3/v4 the implied one. */
  bodyType: number
  body: EnclaveReport | TdReport
  /** Header (+ v5 body descriptor) + body: what the attestation key signs. */
  signedData: Uint8Array
  /** ECDSA P-256 signature r||s by the attestation key. */
  signature: Uint8Array
  /** Attestation public key x||y (64 bytes). */
  attestationKey: Uint8Array
  qeReport: EnclaveReport
  /** ECDSA P-256 signature r||s of the QE report by the PCK leaf key. */
  qeReportSignature: Uint8Array
  qeAuthData: Uint8Array
  /** The innermost certification data (type 5 = PEM chain for every quote Intel's QE produces). */
  certificationData: { type: number; data: Uint8Array }
  /** Where each part lies in the input, e.g. to test tampering. */
  ranges: {
    signedData: ByteRange
    signature: ByteRange
    attestationKey: ByteRange
    qeReport: ByteRange
    qeReportSignature: ByteRange
    qeAuthData: ByteRange
    certificationData: ByteRange
    /** Unsigned bytes after the signature data (usually zero padding). */
    trailing: ByteRange
  }
}

/** Bounds-checked little-endian reader; every short read names the field it was reading. */
class QuoteReader {
  offset = 0
  constructor(
    private readonly bytes: Uint8Array,
    private end: number = bytes.length,
  ) {}

  /** Restricts further reads to the next `length` bytes; returns the enclosing end, for `restore`. */
  section(length: number, what: string): number {
    this.need(length, what)
    const previous = this.end
    this.end = this.offset + length
    return previous
  }

  restore(end: number): void {
    this.end = end
  }

  get remaining(): number {
    return this.end - this.offset
  }

  bytesOf(length: number, what: string): Uint8Array {
    this.need(length, what)
    const out = this.bytes.subarray(this.offset, this.offset + length)
    this.offset += length
    return out
  }

  u16(what: string): number {
    const b = this.bytesOf(2, what)
    return (b[0] ?? 0) | ((b[1] ?? 0) << 8)
  }

  u32(what: string): number {
    const b = this.bytesOf(4, what)
    return ((b[0] ?? 0) | ((b[1] ?? 0) << 8) | ((b[2] ?? 0) << 16) | ((b[3] ?? 0) << 24)) >>> 0
  }

  private need(length: number, what: string): void {
    if (length > this.remaining) {
      throw new DcapError('QUOTE_MALFORMED', `Quote is truncated: ${what} needs ${length} bytes`, {
        details: `at offset ${this.offset} only ${Math.max(0, this.remaining)} bytes are left in this section`,
      })
    }
  }
}

function readEnclaveReport(reader: QuoteReader, what: string): EnclaveReport {
  const raw = reader.bytesOf(ENCLAVE_REPORT_LENGTH, what)
  return {
    kind: 'enclave',
    cpuSvn: raw.subarray(0, 16),
    miscSelect: raw.subarray(16, 20),
    attributes: raw.subarray(48, 64),
    mrEnclave: raw.subarray(64, 96),
    mrSigner: raw.subarray(128, 160),
    isvProdId: (raw[256] ?? 0) | ((raw[257] ?? 0) << 8),
    isvSvn: (raw[258] ?? 0) | ((raw[259] ?? 0) << 8),
    reportData: raw.subarray(320, 384),
    raw,
  }
}

function readTdReport(reader: QuoteReader, kind: 'td10' | 'td15'): TdReport {
  const length = kind === 'td10' ? TD_REPORT10_LENGTH : TD_REPORT15_LENGTH
  const raw = reader.bytesOf(length, kind === 'td10' ? 'TD report 1.0' : 'TD report 1.5')
  const at = (start: number, size: number) => raw.subarray(start, start + size)
  const report: TdReport = {
    kind,
    teeTcbSvn: at(0, 16),
    mrSeam: at(16, 48),
    mrSignerSeam: at(64, 48),
    seamAttributes: at(112, 8),
    tdAttributes: at(120, 8),
    xfam: at(128, 8),
    mrTd: at(136, 48),
    mrConfigId: at(184, 48),
    mrOwner: at(232, 48),
    mrOwnerConfig: at(280, 48),
    rtmr0: at(328, 48),
    rtmr1: at(376, 48),
    rtmr2: at(424, 48),
    rtmr3: at(472, 48),
    reportData: at(520, 64),
    raw,
  }
  if (kind === 'td15') {
    report.teeTcbSvn2 = at(584, 16)
    report.mrServiceTd = at(600, 48)
  }
  return report
}

interface QeSection {
  qeReportStart: number
  qeReport: EnclaveReport
  qeReportSignature: Uint8Array
  qeAuthStart: number
  qeAuthData: Uint8Array
  certStart: number
  certificationData: { type: number; data: Uint8Array }
}

/** QE report, its signature, QE auth data and certification data: inline in v3, nested (type 6) in v4/v5. */
function readQeSection(reader: QuoteReader): QeSection {
  const qeReportStart = reader.offset
  const qeReport = readEnclaveReport(reader, 'QE report')
  const qeReportSignature = reader.bytesOf(64, 'QE report signature')
  const authLength = reader.u16('QE auth data length')
  const qeAuthStart = reader.offset
  const qeAuthData = reader.bytesOf(authLength, 'QE auth data')
  const certStart = reader.offset
  const type = reader.u16('certification data type')
  const length = reader.u32('certification data length')
  const data = reader.bytesOf(length, `certification data (type ${type})`)
  return {
    qeReportStart,
    qeReport,
    qeReportSignature,
    qeAuthStart,
    qeAuthData,
    certStart,
    certificationData: { type, data },
  }
}

function unsupported(message: string, details?: string): DcapError {
  return new DcapError('QUOTE_UNSUPPORTED', message, details === undefined ? {} : { details })
}

function readHeader(reader: QuoteReader): QuoteHeader {
  const version = reader.u16('header.version')
  const attestationKeyType = reader.u16('header.attestationKeyType')
  // v3: 4 reserved bytes, then QE SVN and PCE SVN; v4/v5: TEE type, then 2 reserved u16.
  const teeType = reader.u32('header.teeType')
  const qeSvn = reader.u16('header.qeSvn')
  const pceSvn = reader.u16('header.pceSvn')
  const qeVendorId = reader.bytesOf(16, 'header.qeVendorId')
  const userData = reader.bytesOf(20, 'header.userData')
  return { version, attestationKeyType, teeType, qeSvn, pceSvn, qeVendorId, userData }
}

function checkHeader(header: QuoteHeader): Tee {
  if (header.version !== 3 && header.version !== 4 && header.version !== 5) {
    throw unsupported(`Unsupported quote version ${header.version}`, 'supported: 3 (SGX), 4 and 5 (TDX)')
  }
  if (header.attestationKeyType !== ATTESTATION_KEY_TYPE_ECDSA_P256) {
    throw unsupported(
      `Unsupported attestation key type ${header.attestationKeyType}`,
      'only 2 (ECDSA-256-with-P-256) is supported',
    )
  }
  if (header.version === 3) {
    if (header.teeType !== TEE_TYPE_SGX) {
      throw unsupported(`Quote v3 with TEE type 0x${header.teeType.toString(16)}`, 'v3 is SGX only')
    }
    return 'SGX'
  }
  if (header.teeType === TEE_TYPE_TDX) return 'TDX'
  if (header.teeType === TEE_TYPE_SGX && header.version === 5) return 'SGX'
  throw unsupported(`Unsupported TEE type 0x${header.teeType.toString(16)} in quote v${header.version}`)
}

/**
 * Parses a DCAP quote. Throws `DcapError` (`QUOTE_MALFORMED`, `QUOTE_UNSUPPORTED`) and nothing else.
 * Parsing checks structure only: no signature is verified here.
 *
 * @example
 * const quote = parseQuote(readFileSync('quote.bin'))
 * quote.tee // 'TDX'
 */
export function parseQuote(bytes: Uint8Array): ParsedQuote {
  if (!(bytes instanceof Uint8Array)) {
    throw new DcapError('QUOTE_MALFORMED', 'Quote must be a Uint8Array')
  }
  const reader = new QuoteReader(bytes)
  const header = readHeader(reader)
  const tee = checkHeader(header)
  if (Buffer.from(header.qeVendorId).toString('hex') !== INTEL_QE_VENDOR_ID) {
    throw unsupported('Quote was not produced by an Intel quoting enclave', 'unknown QE vendor id')
  }

  let bodyType: number
  let body: EnclaveReport | TdReport
  if (header.version === 5) {
    bodyType = reader.u16('body.type')
    const bodySize = reader.u32('body.size')
    const expected: Record<number, [Tee, number]> = {
      [BODY_SGX_ENCLAVE_REPORT]: ['SGX', ENCLAVE_REPORT_LENGTH],
      [BODY_TD_REPORT10]: ['TDX', TD_REPORT10_LENGTH],
      [BODY_TD_REPORT15]: ['TDX', TD_REPORT15_LENGTH],
    }
    const shape = expected[bodyType]
    if (shape === undefined) throw unsupported(`Unsupported quote v5 body type ${bodyType}`)
    if (shape[0] !== tee) throw unsupported(`Quote v5 body type ${bodyType} does not fit TEE ${tee}`)
    if (bodySize !== shape[1]) {
      throw new DcapError(
        'QUOTE_MALFORMED',
        `Quote v5 body size ${bodySize} is wrong for body type ${bodyType}`,
        {
          details: `expected ${shape[1]}`,
        },
      )
    }
    body =
      bodyType === BODY_SGX_ENCLAVE_REPORT
        ? readEnclaveReport(reader, 'enclave report')
        : readTdReport(reader, bodyType === BODY_TD_REPORT10 ? 'td10' : 'td15')
  } else if (tee === 'SGX') {
    bodyType = BODY_SGX_ENCLAVE_REPORT
    body = readEnclaveReport(reader, 'enclave report')
  } else {
    bodyType = BODY_TD_REPORT10
    body = readTdReport(reader, 'td10')
  }
  const signedEnd = reader.offset
  const signedData = bytes.subarray(0, signedEnd)

  const signatureDataLength = reader.u32('signature data length')
  const bufferEnd = reader.section(signatureDataLength, 'signature data')
  const sigStart = reader.offset
  const signature = reader.bytesOf(64, 'quote signature')
  const attestationKey = reader.bytesOf(64, 'attestation key')

  let qe: QeSection
  if (header.version === 3) {
    qe = readQeSection(reader)
  } else {
    const type = reader.u16('certification data type')
    const length = reader.u32('certification data length')
    if (type !== CERT_DATA_QE_REPORT) {
      throw unsupported(
        `Quote v${header.version} certification data type ${type}`,
        `expected ${CERT_DATA_QE_REPORT} (QE report certification data)`,
      )
    }
    const signatureDataEnd = reader.section(length, 'QE report certification data')
    qe = readQeSection(reader)
    if (reader.remaining !== 0) {
      throw new DcapError('QUOTE_MALFORMED', 'QE report certification data has unexpected extra bytes', {
        details: `${reader.remaining} bytes after the nested certification data`,
      })
    }
    reader.restore(signatureDataEnd)
  }
  if (reader.remaining !== 0) {
    throw new DcapError('QUOTE_MALFORMED', 'Quote signature data has unexpected extra bytes', {
      details: `${reader.remaining} bytes after the certification data`,
    })
  }
  const sigEnd = reader.offset
  reader.restore(bufferEnd)
  const type = qe.certificationData.type
  if (type < 1 || type > 5) {
    throw unsupported(
      `Unsupported certification data type ${type}`,
      'expected 1–5 (5: PCK certificate chain)',
    )
  }

  return {
    version: header.version,
    tee,
    header,
    bodyType,
    body,
    signedData,
    signature,
    attestationKey,
    qeReport: qe.qeReport,
    qeReportSignature: qe.qeReportSignature,
    qeAuthData: qe.qeAuthData,
    certificationData: qe.certificationData,
    ranges: {
      signedData: [0, signedEnd],
      signature: [sigStart, sigStart + 64],
      attestationKey: [sigStart + 64, sigStart + 128],
      qeReport: [qe.qeReportStart, qe.qeReportStart + ENCLAVE_REPORT_LENGTH],
      qeReportSignature: [
        qe.qeReportStart + ENCLAVE_REPORT_LENGTH,
        qe.qeReportStart + ENCLAVE_REPORT_LENGTH + 64,
      ],
      qeAuthData: [qe.qeAuthStart, qe.qeAuthStart + qe.qeAuthData.length],
      certificationData: [qe.certStart, sigEnd],
      trailing: [sigEnd, bytes.length],
    },
  }
}

/** SGX ATTRIBUTES.DEBUG (bit 1 of byte 0) or TDX TD_ATTRIBUTES.TUD.DEBUG (bit 0 of byte 0). */
export function isDebug(body: EnclaveReport | TdReport): boolean {
  if (body.kind === 'enclave') return ((body.attributes[0] ?? 0) & 0x02) !== 0
  return ((body.tdAttributes[0] ?? 0) & 0x01) !== 0
}

/** Refuses a debug enclave or debug TD unless `allowDebug`: their memory is readable by the host. */
export function assertNotDebug(body: EnclaveReport | TdReport, allowDebug = false): void {
  if (allowDebug || !isDebug(body)) return
  throw new DcapError(
    'DEBUG_NOT_ALLOWED',
    body.kind === 'enclave' ? 'Quote is from a debug enclave' : 'Quote is from a debug TD',
    {
      details:
        body.kind === 'enclave'
          ? 'SGX ATTRIBUTES.DEBUG is set: the host can read and change enclave memory'
          : 'TD_ATTRIBUTES.TUD.DEBUG is set: the host can read and change TD memory',
    },
  )
}
