/**
 * X.509 certificates and CRLs of Intel's SGX PKI, parsed with @peculiar/asn1-x509 and verified with
 * node:crypto. Chains end at one trust anchor (the Intel SGX Root CA); a chain is accepted only if every
 * link is signed by the next, every issuer is a CA, and every certificate is valid at the given time.
 */

import type { KeyObject } from 'node:crypto'
import { AsnConvert } from '@peculiar/asn1-schema'
import {
  Certificate as AsnCertificate,
  BasicConstraints,
  CertificateList,
  id_ce_basicConstraints,
  type Name,
} from '@peculiar/asn1-x509'
import { bytesEqual, isoTime, toHex } from '../bytes.js'
import { OID_ECDSA_WITH_SHA256, p256KeyFromSpki, verifyDerSignature } from './ecdsa.js'
import { DcapError } from './errors.js'

/** A parsed certificate; shared between verifications (parses are memoized), so never mutated. */
export interface Certificate {
  readonly der: Uint8Array
  /** The DER of tbsCertificate, exactly as signed. */
  readonly tbs: Uint8Array
  readonly signatureAlgorithm: string
  readonly signature: Uint8Array
  /** Canonical forms of the subject and issuer names (attribute types, string kinds and values), for exact comparison. */
  readonly subject: string
  readonly issuer: string
  /** Readable subject, e.g. `CN=Intel SGX PCK Platform CA, O=Intel Corporation, …`. */
  readonly subjectName: string
  readonly issuerName: string
  readonly commonName: string
  /** Serial number as lowercase hex without leading zero bytes. */
  readonly serial: string
  /** Validity window, unix seconds (inclusive). */
  readonly notBefore: number
  readonly notAfter: number
  readonly isCa: boolean
  /** The subject's P-256 key, or `undefined` when it has another kind of key. */
  readonly publicKey: KeyObject | undefined
  /** Extension values (the OCTET STRING contents) by OID. */
  readonly extensions: ReadonlyMap<string, Uint8Array>
}

export interface Crl {
  readonly der: Uint8Array
  readonly tbs: Uint8Array
  readonly signatureAlgorithm: string
  readonly signature: Uint8Array
  /** Canonical form of the issuer name, comparable with `Certificate.subject`. */
  readonly issuer: string
  readonly issuerName: string
  readonly thisUpdate: number
  readonly nextUpdate: number | undefined
  /** Revoked serial numbers, normalized like `Certificate.serial`. */
  readonly revoked: ReadonlySet<string>
}

const NAME_LABELS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
}

function nameToString(name: Name): { text: string; commonName: string } {
  const parts: string[] = []
  let commonName = ''
  for (const rdn of name) {
    for (const attribute of rdn) {
      const value = attribute.value.toString()
      if (attribute.type === '2.5.4.3') commonName = value
      parts.push(`${NAME_LABELS[attribute.type] ?? attribute.type}=${value}`)
    }
  }
  return { text: parts.join(', '), commonName }
}

/**
 * A name as an exact, comparable string: every RDN's attributes with their OID, string kind and value.
 * Two DER names are equal exactly when these are (DER has one encoding per value); cheaper than
 * re-encoding the name.
 */
function canonicalName(name: Name): string {
  return JSON.stringify(
    name.map((rdn) =>
      rdn.map((attribute) => {
        const v = attribute.value
        for (const kind of [
          'utf8String',
          'printableString',
          'ia5String',
          'teletexString',
          'bmpString',
          'universalString',
        ] as const) {
          const text = v[kind]
          if (text !== undefined) return [attribute.type, kind, text]
        }
        return [attribute.type, 'any', v.anyValue === undefined ? '' : toHex(new Uint8Array(v.anyValue))]
      }),
    ),
  )
}

function normalizeSerial(serial: ArrayBuffer): string {
  const bytes = new Uint8Array(serial)
  let start = 0
  while (start < bytes.length - 1 && bytes[start] === 0) start++
  return toHex(bytes.subarray(start))
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000)

/**
 * Strictness the ASN.1 schema parser leaves out, so that one certificate or CRL has exactly one
 * encoding: the outer SEQUENCE spans the whole input (no trailing bytes), and the signature BIT STRING,
 * its last element, has no unused bits.
 */
function isStrictlyEncoded(der: Uint8Array, signature: Uint8Array): boolean {
  if (der[0] !== 0x30 || der.length < 2) return false
  const first = der[1] ?? 0
  let length = first
  let header = 2
  if (first & 0x80) {
    const count = first & 0x7f
    if (count === 0 || count > 3) return false
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + (der[2 + i] ?? 0)
    header += count
  }
  if (header + length !== der.length) return false
  const signatureStart = der.length - signature.length
  return der[signatureStart - 1] === 0 && bytesEqual(der.subarray(signatureStart), signature)
}

/**
 * A bounded memo of parse results keyed by the exact DER bytes. ASN.1 parsing in JavaScript costs about
 * a millisecond per certificate, and the same collateral (CRLs, signing chains, PCK intermediates)
 * comes with every quote of a platform family. Only parsing is memoized — signatures, issuers,
 * revocation and validity are checked on every verification — and results never alias caller buffers.
 */
class ParseCache<T> {
  private readonly entries = new Map<string, T>()
  constructor(private readonly capacity: number) {}

  get(der: Uint8Array, parse: (own: Uint8Array) => T): T {
    const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('latin1')
    const hit = this.entries.get(key)
    if (hit !== undefined) {
      this.entries.delete(key) // re-insert: most recently used last
      this.entries.set(key, hit)
      return hit
    }
    const value = parse(der.slice())
    this.entries.set(key, value)
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    return value
  }

  clear(): void {
    this.entries.clear()
  }
}

const certificateCache = new ParseCache<Certificate>(1024)
const crlCache = new ParseCache<Crl>(64)

/** Forgets memoized certificate and CRL parses (benchmarks measure cold verification with it). */
export function clearX509Cache(): void {
  certificateCache.clear()
  crlCache.clear()
}

/** Parses one DER certificate; `label` names it in errors ("PCK leaf certificate"). */
export function parseCertificate(der: Uint8Array, label: string): Certificate {
  return certificateCache.get(der, (own) => parseCertificateUncached(own, label))
}

function parseCertificateUncached(der: Uint8Array, label: string): Certificate {
  let asn: AsnCertificate
  try {
    asn = AsnConvert.parse(der, AsnCertificate)
  } catch (cause) {
    throw new DcapError('CERT_MALFORMED', `${label} is not a valid X.509 certificate`, { cause })
  }
  const tbs = asn.tbsCertificate
  if (asn.tbsCertificateRaw === undefined) {
    throw new DcapError('CERT_MALFORMED', `${label}: cannot locate the signed part of the certificate`)
  }
  if (!isStrictlyEncoded(der, new Uint8Array(asn.signatureValue))) {
    throw new DcapError('CERT_MALFORMED', `${label} is not strictly DER-encoded`, {
      details: 'trailing bytes, or unused bits in the signature',
    })
  }
  try {
    const subject = nameToString(tbs.subject)
    const issuer = nameToString(tbs.issuer)
    const extensions = new Map<string, Uint8Array>()
    let isCa = false
    for (const extension of tbs.extensions ?? []) {
      const value = new Uint8Array(extension.extnValue.buffer)
      extensions.set(extension.extnID, value)
      if (extension.extnID === id_ce_basicConstraints) {
        isCa = AsnConvert.parse(value, BasicConstraints).cA
      }
    }
    return {
      der,
      tbs: new Uint8Array(asn.tbsCertificateRaw),
      signatureAlgorithm: asn.signatureAlgorithm.algorithm,
      signature: new Uint8Array(asn.signatureValue),
      subject: canonicalName(tbs.subject),
      issuer: canonicalName(tbs.issuer),
      subjectName: subject.text,
      issuerName: issuer.text,
      commonName: subject.commonName,
      serial: normalizeSerial(tbs.serialNumber),
      notBefore: seconds(tbs.validity.notBefore.getTime()),
      notAfter: seconds(tbs.validity.notAfter.getTime()),
      isCa,
      publicKey: p256KeyFromSpki(new Uint8Array(AsnConvert.serialize(tbs.subjectPublicKeyInfo))),
      extensions,
    }
  } catch (cause) {
    throw new DcapError('CERT_MALFORMED', `${label} has malformed fields`, { cause })
  }
}

const PEM_BLOCK_RE = /-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/
/** Between and after PEM blocks: line breaks, spaces and the NUL padding Intel's QE appends. */
const PADDING_RE = /^[ \t\r\n\0]*$/

/**
 * Parses a PEM chain (leaf first). Only ASCII whitespace and NUL padding may surround the blocks, and
 * the base64 must be strict: Node's decoder would silently skip stray characters.
 */
export function parsePemChain(pem: string, label: string): Certificate[] {
  const certificates: Certificate[] = []
  let last = 0
  for (const match of pem.matchAll(PEM_BLOCK_RE)) {
    if (!PADDING_RE.test(pem.slice(last, match.index))) {
      throw new DcapError('CERT_MALFORMED', `${label}: unexpected text between PEM certificates`)
    }
    last = match.index + match[0].length
    const body = (match[1] ?? '').replace(/[ \t\r\n]+/g, '')
    if (!BASE64_RE.test(body) || body.length % 4 !== 0) {
      throw new DcapError(
        'CERT_MALFORMED',
        `${label}: certificate ${certificates.length + 1} is not valid base64`,
      )
    }
    const der = new Uint8Array(Buffer.from(body, 'base64'))
    certificates.push(parseCertificate(der, `${label}, certificate ${certificates.length + 1}`))
  }
  if (!PADDING_RE.test(pem.slice(last))) {
    throw new DcapError('CERT_MALFORMED', `${label}: unexpected text after the PEM certificates`)
  }
  if (certificates.length === 0) {
    throw new DcapError('CERT_MALFORMED', `${label} holds no PEM certificate`)
  }
  return certificates
}

/** Parses a trust anchor given as PEM text or DER bytes. */
export function parseRootCertificate(root: string | Uint8Array, label = 'Root CA certificate'): Certificate {
  if (typeof root === 'string') {
    const [certificate, ...rest] = parsePemChain(root, label)
    if (certificate === undefined || rest.length > 0) {
      throw new DcapError('CERT_MALFORMED', `${label} must be exactly one certificate`)
    }
    return certificate
  }
  return parseCertificate(root, label)
}

/** Throws `CERT_EXPIRED` unless `notBefore <= now <= notAfter`. */
export function checkValidity(certificate: Certificate, now: number, label: string): void {
  if (now < certificate.notBefore || now > certificate.notAfter) {
    throw new DcapError(
      'CERT_EXPIRED',
      `${label} is not valid at ${isoTime(now)} (${now < certificate.notBefore ? 'not yet valid' : 'expired'})`,
      {
        details: `${certificate.subjectName} is valid from ${isoTime(certificate.notBefore)} to ${isoTime(certificate.notAfter)}`,
      },
    )
  }
}

/** Throws `CERT_CHAIN_INVALID` unless `subject` is signed by `issuer`'s key, names it, and it is a CA. */
function checkIssuedBy(subject: Certificate, issuer: Certificate, label: string): void {
  if (subject.issuer !== issuer.subject) {
    throw new DcapError(
      'CERT_CHAIN_INVALID',
      `${label} was not issued by ${issuer.commonName || 'the next certificate'}`,
      {
        details: `issuer "${subject.issuerName}" ≠ subject "${issuer.subjectName}"`,
      },
    )
  }
  if (!issuer.isCa) {
    throw new DcapError('CERT_CHAIN_INVALID', `${label} is issued by a certificate that is not a CA`, {
      details: issuer.subjectName,
    })
  }
  if (subject.signatureAlgorithm !== OID_ECDSA_WITH_SHA256) {
    throw new DcapError('CERT_CHAIN_INVALID', `${label} uses an unsupported signature algorithm`, {
      details: `${subject.signatureAlgorithm}; Intel's PKI signs with ecdsa-with-SHA256`,
    })
  }
  if (
    issuer.publicKey === undefined ||
    !verifyDerSignature(issuer.publicKey, subject.tbs, subject.signature)
  ) {
    throw new DcapError('CERT_CHAIN_INVALID', `${label} has an invalid signature`, {
      details: `not signed by ${issuer.subjectName}`,
    })
  }
}

/**
 * Verifies `chain` (leaf first) up to `root`: the chain may end with a copy of the root (byte-equal) or
 * stop just below it. Every certificate, the root included, must be valid at `now`. `names` labels the
 * certificates in errors, leaf first.
 */
export function verifyChain(
  chain: readonly Certificate[],
  root: Certificate,
  now: number,
  names: readonly string[],
): void {
  const links = [...chain]
  const top = links.at(-1)
  if (top !== undefined && top.subject === top.issuer) {
    if (!bytesEqual(top.der, root.der)) {
      throw new DcapError(
        'CERT_CHAIN_INVALID',
        `${names[0] ?? 'Certificate'} chain does not end at the trusted root CA`,
        {
          details: `the chain's root is "${top.subjectName}", a different certificate from the trust anchor`,
        },
      )
    }
    links.pop()
  }
  if (links.length === 0) {
    throw new DcapError('CERT_CHAIN_INVALID', `${names[0] ?? 'Certificate'} chain holds only the root`)
  }
  checkValidity(root, now, 'Intel SGX Root CA certificate')
  for (let i = 0; i < links.length; i++) {
    const certificate = links[i] as Certificate
    const label = names[i] ?? `certificate ${i + 1}`
    checkIssuedBy(certificate, links[i + 1] ?? root, label)
    checkValidity(certificate, now, label)
  }
}

/** Parses one DER CRL. */
export function parseCrl(der: Uint8Array, label: string): Crl {
  return crlCache.get(der, (own) => parseCrlUncached(own, label))
}

function parseCrlUncached(der: Uint8Array, label: string): Crl {
  let asn: CertificateList
  try {
    asn = AsnConvert.parse(der, CertificateList)
  } catch (cause) {
    throw new DcapError('CRL_MALFORMED', `${label} is not a valid X.509 CRL`, { cause })
  }
  if (asn.tbsCertListRaw === undefined) {
    throw new DcapError('CRL_MALFORMED', `${label}: cannot locate the signed part of the CRL`)
  }
  if (!isStrictlyEncoded(der, new Uint8Array(asn.signature))) {
    throw new DcapError('CRL_MALFORMED', `${label} is not strictly DER-encoded`, {
      details: 'trailing bytes, or unused bits in the signature',
    })
  }
  try {
    const tbs = asn.tbsCertList
    return {
      der,
      tbs: new Uint8Array(asn.tbsCertListRaw),
      signatureAlgorithm: asn.signatureAlgorithm.algorithm,
      signature: new Uint8Array(asn.signature),
      issuer: canonicalName(tbs.issuer),
      issuerName: nameToString(tbs.issuer).text,
      thisUpdate: seconds(tbs.thisUpdate.getTime()),
      nextUpdate: tbs.nextUpdate === undefined ? undefined : seconds(tbs.nextUpdate.getTime()),
      revoked: new Set(
        (tbs.revokedCertificates ?? []).map((entry) => normalizeSerial(entry.userCertificate)),
      ),
    }
  } catch (cause) {
    throw new DcapError('CRL_MALFORMED', `${label} has malformed fields`, { cause })
  }
}

/** Verifies that `issuer` signed `crl` and named itself as issuer, and that the CRL is current at `now`. */
export function verifyCrl(crl: Crl, issuer: Certificate, now: number, label: string): void {
  if (crl.issuer !== issuer.subject) {
    throw new DcapError('CRL_ISSUER_MISMATCH', `${label} is not issued by ${issuer.commonName}`, {
      details: `CRL issuer "${crl.issuerName}" ≠ "${issuer.subjectName}"`,
    })
  }
  if (
    crl.signatureAlgorithm !== OID_ECDSA_WITH_SHA256 ||
    issuer.publicKey === undefined ||
    !verifyDerSignature(issuer.publicKey, crl.tbs, crl.signature)
  ) {
    throw new DcapError('CRL_SIGNATURE_INVALID', `${label} has an invalid signature`, {
      details: `not signed by ${issuer.subjectName}`,
    })
  }
  if (crl.nextUpdate === undefined) {
    throw new DcapError('CRL_MALFORMED', `${label} has no nextUpdate`, {
      details: 'without it the CRL never goes stale, so it cannot be trusted to be current',
    })
  }
  if (now < crl.thisUpdate || now > crl.nextUpdate) {
    throw new DcapError(
      'CRL_EXPIRED',
      `${label} is not valid at ${isoTime(now)} (${now < crl.thisUpdate ? 'not yet valid' : 'expired'})`,
      { details: `thisUpdate ${isoTime(crl.thisUpdate)}, nextUpdate ${isoTime(crl.nextUpdate)}` },
    )
  }
}

/** Throws `CERT_REVOKED` if `crl` lists `certificate` (the CRL must be the one of its issuer). */
export function checkNotRevoked(certificate: Certificate, crl: Crl, label: string): void {
  if (certificate.issuer === crl.issuer && crl.revoked.has(certificate.serial)) {
    throw new DcapError('CERT_REVOKED', `${label} is revoked`, {
      details: `serial ${certificate.serial} is listed by ${crl.issuerName}`,
    })
  }
}
