/**
 * A synthetic DCAP PKI for tests: its own root CA, PCK CA and PCK leaf (with SGX extensions), TCB
 * signing certificate, CRLs and signed TCB info / QE identity, plus quotes re-assembled from a real
 * quote's header, body and QE report and signed with keys it controls. With `rootCa` set to its root,
 * `verifyQuote` checks these exactly like Intel's; this reaches what real data cannot: a debug quote
 * with a valid signature, revoked certificates, Revoked / OutOfDate levels.
 */

import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  CertificateList,
  Extension,
  Extensions,
  id_ce_basicConstraints,
  Name,
  RelativeDistinguishedName,
  RevokedCertificate,
  SubjectPublicKeyInfo,
  TBSCertificate,
  TBSCertList,
  Time,
  Validity,
  Version,
} from '@peculiar/asn1-x509'
import * as asn1js from 'asn1js'
import type { DcapCollateral } from './collateral.js'
import { OID_ECDSA_WITH_SHA256 } from './ecdsa.js'
import { OID_SGX_EXTENSIONS } from './pck-extensions.js'
import { ENCLAVE_REPORT_LENGTH, type ParsedQuote, parseQuote } from './quote.js'

export interface TestKey {
  privateKey: KeyObject
  spki: Uint8Array
}

export function newKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { privateKey, spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })) }
}

const ecdsa = () => new AlgorithmIdentifier({ algorithm: OID_ECDSA_WITH_SHA256 })

function name(commonName: string): Name {
  return new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: '2.5.4.3', value: new AttributeValue({ utf8String: commonName }) }),
    ]),
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type: '2.5.4.10', value: new AttributeValue({ utf8String: 'Veil Test' }) }),
    ]),
  ])
}

export interface CertSpec {
  subject: string
  key: TestKey
  /** The issuer's name and key; omitted for a self-signed certificate. */
  issuer?: { subject: string; key: TestKey }
  serial: number
  notBefore?: Date
  notAfter?: Date
  ca?: boolean
  extensions?: Extension[]
}

export function makeCertificate(spec: CertSpec): Uint8Array {
  const issuer = spec.issuer ?? { subject: spec.subject, key: spec.key }
  const extensions = [...(spec.extensions ?? [])]
  if (spec.ca) {
    extensions.push(
      new Extension({
        extnID: id_ce_basicConstraints,
        critical: true,
        extnValue: new OctetString(AsnConvert.serialize(new BasicConstraints({ cA: true }))),
      }),
    )
  }
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array([0x01, spec.serial & 0xff, (spec.serial >> 8) & 0xff]).buffer,
    signature: ecdsa(),
    issuer: name(issuer.subject),
    validity: new Validity({
      notBefore: spec.notBefore ?? new Date('2020-01-01T00:00:00Z'),
      notAfter: spec.notAfter ?? new Date('2040-01-01T00:00:00Z'),
    }),
    subject: name(spec.subject),
    subjectPublicKeyInfo: AsnConvert.parse(spec.key.spki, SubjectPublicKeyInfo),
    ...(extensions.length === 0 ? {} : { extensions: new Extensions(extensions) }),
  })
  const signature = sign('sha256', new Uint8Array(AsnConvert.serialize(tbs)), {
    key: issuer.key.privateKey,
    dsaEncoding: 'der',
  })
  const certificate = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: ecdsa(),
    signatureValue: new Uint8Array(signature).buffer,
  })
  return new Uint8Array(AsnConvert.serialize(certificate))
}

/** The serial `makeCertificate` encodes for `serial`, as `Certificate.serial` reads it. */
export const serialHex = (serial: number) =>
  Buffer.from([0x01, serial & 0xff, (serial >> 8) & 0xff]).toString('hex')

export function makeCrl(spec: {
  issuer: { subject: string; key: TestKey }
  thisUpdate: Date
  nextUpdate: Date
  revokedSerials?: number[]
}): Uint8Array {
  const revoked = (spec.revokedSerials ?? []).map(
    (serial) =>
      new RevokedCertificate({
        userCertificate: new Uint8Array([0x01, serial & 0xff, (serial >> 8) & 0xff]).buffer,
        revocationDate: new Time(spec.thisUpdate),
      }),
  )
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: ecdsa(),
    issuer: name(spec.issuer.subject),
    thisUpdate: new Time(spec.thisUpdate),
    nextUpdate: new Time(spec.nextUpdate),
    ...(revoked.length === 0 ? {} : { revokedCertificates: revoked }),
  })
  const signature = sign('sha256', new Uint8Array(AsnConvert.serialize(tbs)), {
    key: spec.issuer.key.privateKey,
    dsaEncoding: 'der',
  })
  const crl = new CertificateList({
    tbsCertList: tbs,
    signatureAlgorithm: ecdsa(),
    signature: new Uint8Array(signature).buffer,
  })
  return new Uint8Array(AsnConvert.serialize(crl))
}

/** The SGX extension of a PCK certificate (PPID, TCB, PCE-ID, FMSPC, SGX type). */
export function sgxExtension(spec: {
  fmspc: string
  pceId: string
  sgxComponents: number[]
  pceSvn: number
}): Extension {
  const pair = (oid: string, value: asn1js.AsnType) =>
    new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), value] })
  const octets = (hex: string) =>
    new asn1js.OctetString({ valueHex: new Uint8Array(Buffer.from(hex, 'hex')).buffer })
  const tcb = new asn1js.Sequence({
    value: [
      ...spec.sgxComponents.map((svn, i) =>
        pair(`${OID_SGX_EXTENSIONS}.2.${i + 1}`, new asn1js.Integer({ value: svn })),
      ),
      pair(`${OID_SGX_EXTENSIONS}.2.17`, new asn1js.Integer({ value: spec.pceSvn })),
      pair(`${OID_SGX_EXTENSIONS}.2.18`, octets('00'.repeat(16))),
    ],
  })
  const value = new asn1js.Sequence({
    value: [
      pair(`${OID_SGX_EXTENSIONS}.1`, octets('11'.repeat(16))),
      pair(`${OID_SGX_EXTENSIONS}.2`, tcb),
      pair(`${OID_SGX_EXTENSIONS}.3`, octets(spec.pceId)),
      pair(`${OID_SGX_EXTENSIONS}.4`, octets(spec.fmspc)),
      pair(`${OID_SGX_EXTENSIONS}.5`, new asn1js.Enumerated({ value: 0 })),
    ],
  })
  return new Extension({
    extnID: OID_SGX_EXTENSIONS,
    critical: false,
    extnValue: new OctetString(value.toBER()),
  })
}

export function toPem(...ders: Uint8Array[]): string {
  return ders
    .map((der) => {
      const lines =
        Buffer.from(der)
          .toString('base64')
          .match(/.{1,64}/g) ?? []
      return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`
    })
    .join('')
}

/** JSON text and its raw r||s signature, as Intel signs TCB info and QE identities. */
export function signJson(value: unknown, key: TestKey): { text: string; signature: Uint8Array } {
  const text = JSON.stringify(value)
  return {
    text,
    signature: new Uint8Array(
      sign('sha256', Buffer.from(text), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }),
    ),
  }
}

const u16 = (n: number) => Buffer.from([n & 0xff, (n >> 8) & 0xff])
const u32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n)
  return b
}

/**
 * A quote with `template`'s header and QE report, the given signed region (header + body, possibly
 * changed), a fresh attestation key, the QE report re-bound to it and signed by `pckKey`, and `pem` as
 * certification data (type `certType`, 5 by default).
 */
export function assembleQuote(spec: {
  template: ParsedQuote
  signedData: Uint8Array
  pckKey: TestKey
  pem: string
  certType?: number
}): Uint8Array {
  const { template } = spec
  const attestation = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = attestation.publicKey.export({ format: 'jwk' })
  const attestationKey = Buffer.concat([
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ])
  const authData = Buffer.from(template.qeAuthData)
  const qeReport = Buffer.from(template.qeReport.raw)
  createHash('sha256').update(attestationKey).update(authData).digest().copy(qeReport, 320)
  qeReport.fill(0, 352, ENCLAVE_REPORT_LENGTH)
  const qeReportSignature = sign('sha256', qeReport, {
    key: spec.pckKey.privateKey,
    dsaEncoding: 'ieee-p1363',
  })
  const pem = Buffer.concat([Buffer.from(spec.pem, 'latin1'), Buffer.from([0])])
  const certification = Buffer.concat([u16(spec.certType ?? 5), u32(pem.length), pem])
  const qeSection = Buffer.concat([
    qeReport,
    qeReportSignature,
    u16(authData.length),
    authData,
    certification,
  ])
  const signature = sign('sha256', spec.signedData, {
    key: attestation.privateKey,
    dsaEncoding: 'ieee-p1363',
  })
  const tail = template.version === 3 ? qeSection : Buffer.concat([u16(6), u32(qeSection.length), qeSection])
  const signatureData = Buffer.concat([signature, attestationKey, tail])
  return new Uint8Array(Buffer.concat([spec.signedData, u32(signatureData.length), signatureData]))
}

export interface TestWorld {
  now: number
  rootPem: string
  collateral: DcapCollateral
  quote: Uint8Array
  /** The parsed template the quote was built from. */
  template: ParsedQuote
  /** Rebuilds the quote with a changed signed region (header + body). */
  requote(change: (signedData: Uint8Array) => void, options?: { certType?: number; pem?: string }): Uint8Array
  keys: { root: TestKey; pckCa: TestKey; pck: TestKey; tcb: TestKey }
  names: { root: string; pckCa: string; pck: string; tcb: string }
  serials: { pckCa: number; pck: number; tcb: number }
  /** Re-signs TCB info / QE identity after changing their JSON. */
  withTcbInfo(change: (tcbInfo: Record<string, unknown>) => void): DcapCollateral
  withQeIdentity(change: (identity: Record<string, unknown>) => void): DcapCollateral
  /** Re-issues the CRLs, e.g. with revoked serials. */
  withCrls(spec: {
    rootRevoked?: number[]
    pckRevoked?: number[]
    pckCrlIssuer?: 'pckCa' | 'root'
  }): DcapCollateral
  /** A PEM chain with a differently built leaf / intermediate. */
  chainPem(spec: { pckSubject?: string; pckExtensions?: Extension[]; pckCaIsCa?: boolean }): string
}

/**
 * A world around a real quote and its collateral: the same header, body, QE report, TCB info levels and
 * QE identity, but every signature by test keys. The PCK leaf's TCB is `pckTcb` (default: the first,
 * best level of the TCB info), its FMSPC and PCE-ID those of the TCB info.
 */
export function createTestWorld(
  real: { quote: Uint8Array; collateral: DcapCollateral; now: number },
  pckTcb?: {
    sgxComponents: number[]
    pceSvn: number
  },
): TestWorld {
  const now = real.now
  const template = parseQuote(real.quote)
  const tcbInfo = JSON.parse(real.collateral.tcbInfo) as Record<string, unknown>
  const qeIdentity = JSON.parse(real.collateral.qeIdentity) as Record<string, unknown>
  const levels = tcbInfo.tcbLevels as Array<{ tcb: Record<string, unknown> }>
  const best = levels[0]?.tcb ?? {}
  const bestComponents = Array.isArray(best.sgxtcbcomponents)
    ? (best.sgxtcbcomponents as Array<{ svn: number }>).map((c) => c.svn)
    : Array.from({ length: 16 }, (_, i) => Number(best[`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`]))
  const tcb = pckTcb ?? { sgxComponents: bestComponents, pceSvn: Number(best.pcesvn) }

  const keys = { root: newKey(), pckCa: newKey(), pck: newKey(), tcb: newKey() }
  const names = {
    root: 'Test SGX Root CA',
    pckCa: 'Test SGX PCK Platform CA',
    pck: 'Test SGX PCK Certificate',
    tcb: 'Test SGX TCB Signing',
  }
  const serials = { pckCa: 2, pck: 3, tcb: 4 }
  const root = makeCertificate({ subject: names.root, key: keys.root, serial: 1, ca: true })
  const tcbCert = makeCertificate({
    subject: names.tcb,
    key: keys.tcb,
    issuer: { subject: names.root, key: keys.root },
    serial: serials.tcb,
  })
  const chainPem: TestWorld['chainPem'] = (spec) => {
    const pckCa = makeCertificate({
      subject: names.pckCa,
      key: keys.pckCa,
      issuer: { subject: names.root, key: keys.root },
      serial: serials.pckCa,
      ca: spec.pckCaIsCa ?? true,
    })
    const pck = makeCertificate({
      subject: spec.pckSubject ?? names.pck,
      key: keys.pck,
      issuer: { subject: names.pckCa, key: keys.pckCa },
      serial: serials.pck,
      extensions: spec.pckExtensions ?? [
        sgxExtension({ fmspc: String(tcbInfo.fmspc), pceId: String(tcbInfo.pceId), ...tcb }),
      ],
    })
    return toPem(pck, pckCa, root)
  }
  const pckCaPem = toPem(
    makeCertificate({
      subject: names.pckCa,
      key: keys.pckCa,
      issuer: { subject: names.root, key: keys.root },
      serial: serials.pckCa,
      ca: true,
    }),
    root,
  )
  const day = 86_400_000
  const crls: TestWorld['withCrls'] = (spec) => {
    const thisUpdate = new Date(now * 1000 - day)
    const nextUpdate = new Date(now * 1000 + 30 * day)
    const pckCrlIssuer =
      spec.pckCrlIssuer === 'root'
        ? { subject: names.root, key: keys.root }
        : { subject: names.pckCa, key: keys.pckCa }
    return {
      ...collateral,
      rootCaCrl: makeCrl({
        issuer: { subject: names.root, key: keys.root },
        thisUpdate,
        nextUpdate,
        revokedSerials: spec.rootRevoked ?? [],
      }),
      pckCrl: makeCrl({
        issuer: pckCrlIssuer,
        thisUpdate,
        nextUpdate,
        revokedSerials: spec.pckRevoked ?? [],
      }),
    }
  }
  const window = {
    issueDate: new Date(now * 1000 - day).toISOString().replace('.000Z', 'Z'),
    nextUpdate: new Date(now * 1000 + 30 * day).toISOString().replace('.000Z', 'Z'),
  }
  const signedTcbInfo = (value: Record<string, unknown>) => {
    const { text, signature } = signJson({ ...value }, keys.tcb)
    return { tcbInfo: text, tcbInfoSignature: signature }
  }
  const signedQeIdentity = (value: Record<string, unknown>) => {
    const { text, signature } = signJson({ ...value }, keys.tcb)
    return { qeIdentity: text, qeIdentitySignature: signature }
  }
  const baseTcbInfo = { ...tcbInfo, ...window }
  const baseQeIdentity = { ...qeIdentity, ...window }
  const tcbPem = toPem(tcbCert, root)
  let collateral: DcapCollateral = {
    pckCrlIssuerChain: pckCaPem,
    rootCaCrl: new Uint8Array(),
    pckCrl: new Uint8Array(),
    tcbInfoIssuerChain: tcbPem,
    qeIdentityIssuerChain: tcbPem,
    ...signedTcbInfo(baseTcbInfo),
    ...signedQeIdentity(baseQeIdentity),
  }
  collateral = crls({})
  const defaultPem = chainPem({})
  const requote: TestWorld['requote'] = (change, options = {}) => {
    const signedData = template.signedData.slice()
    change(signedData)
    return assembleQuote({
      template,
      signedData,
      pckKey: keys.pck,
      pem: options.pem ?? defaultPem,
      ...(options.certType === undefined ? {} : { certType: options.certType }),
    })
  }
  return {
    now,
    rootPem: toPem(root),
    collateral,
    quote: requote(() => {}),
    template,
    requote,
    keys,
    names,
    serials,
    withTcbInfo: (change) => {
      const value = structuredClone(baseTcbInfo)
      change(value)
      return { ...collateral, ...signedTcbInfo(value) }
    },
    withQeIdentity: (change) => {
      const value = structuredClone(baseQeIdentity)
      change(value)
      return { ...collateral, ...signedQeIdentity(value) }
    },
    withCrls: crls,
    chainPem,
  }
}
