/**
 * The SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1, Intel's "PCK Certificate and
 * CRL Profile"): the platform's FMSPC and PCE-ID select the TCB info, and its TCB (16 component SVNs
 * and PCESVN) is what TCB levels are matched against.
 */

import * as asn1js from 'asn1js'
import { toHex } from '../bytes.js'
import { DcapError } from './errors.js'
import type { Certificate } from './x509.js'

export const OID_SGX_EXTENSIONS = '1.2.840.113741.1.13.1'
const OID_PPID = `${OID_SGX_EXTENSIONS}.1`
const OID_TCB = `${OID_SGX_EXTENSIONS}.2`
const OID_PCE_ID = `${OID_SGX_EXTENSIONS}.3`
const OID_FMSPC = `${OID_SGX_EXTENSIONS}.4`
const OID_SGX_TYPE = `${OID_SGX_EXTENSIONS}.5`

export interface PckTcb {
  /** SGX TCB component SVNs 1–16 (index 0 is component 1). */
  sgxComponents: number[]
  pceSvn: number
  cpuSvn: Uint8Array
}

export interface PckExtensions {
  ppid: Uint8Array
  tcb: PckTcb
  /** Lowercase hex, 2 bytes. */
  pceId: string
  /** Lowercase hex, 6 bytes. */
  fmspc: string
  /** 0 Standard, 1 Scalable, 2 Scalable with integrity. */
  sgxType: number
}

function invalid(details: string): DcapError {
  return new DcapError('PCK_CERT_INVALID', 'PCK certificate has malformed SGX extensions', { details })
}

/** The `(OID, value)` pairs of a SEQUENCE OF SEQUENCE { OID, ANY }, as Intel encodes its extensions. */
function readPairs(node: asn1js.AsnType, where: string): Map<string, asn1js.AsnType> {
  if (!(node instanceof asn1js.Sequence)) throw invalid(`${where} is not a SEQUENCE`)
  const pairs = new Map<string, asn1js.AsnType>()
  for (const item of node.valueBlock.value) {
    const [oid, value, ...rest] = item instanceof asn1js.Sequence ? item.valueBlock.value : []
    if (!(oid instanceof asn1js.ObjectIdentifier) || value === undefined || rest.length > 0) {
      throw invalid(`${where} holds an entry that is not (OID, value)`)
    }
    pairs.set(oid.getValue(), value)
  }
  return pairs
}

function octets(pairs: Map<string, asn1js.AsnType>, oid: string, name: string, length?: number): Uint8Array {
  const value = pairs.get(oid)
  if (!(value instanceof asn1js.OctetString))
    throw invalid(`${name} (${oid}) is missing or not an OCTET STRING`)
  const bytes = new Uint8Array(value.valueBlock.valueHexView)
  if (length !== undefined && bytes.length !== length)
    throw invalid(`${name} has ${bytes.length} bytes, not ${length}`)
  return bytes
}

function integer(pairs: Map<string, asn1js.AsnType>, oid: string, name: string): number {
  const value = pairs.get(oid)
  if (!(value instanceof asn1js.Integer)) throw invalid(`${name} (${oid}) is missing or not an INTEGER`)
  const n = value.valueBlock.valueDec
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffff) throw invalid(`${name} is out of range`)
  return n
}

const memo = new WeakMap<Certificate, PckExtensions>()

/** Reads FMSPC, PCE-ID and the TCB from a PCK certificate; `PCK_CERT_INVALID` when absent or malformed. */
export function parsePckExtensions(certificate: Certificate): PckExtensions {
  let extensions = memo.get(certificate)
  if (extensions === undefined) {
    extensions = parseUncached(certificate)
    memo.set(certificate, extensions)
  }
  return extensions
}

function parseUncached(certificate: Certificate): PckExtensions {
  const raw = certificate.extensions.get(OID_SGX_EXTENSIONS)
  if (raw === undefined) throw invalid(`no SGX extension (${OID_SGX_EXTENSIONS})`)
  const parsed = asn1js.fromBER(raw)
  if (parsed.offset === -1 || parsed.offset !== raw.length)
    throw invalid('the SGX extension is not valid DER')
  const top = readPairs(parsed.result, 'SGX extension')
  const tcbNode = top.get(OID_TCB)
  if (tcbNode === undefined) throw invalid('no TCB (1.2.840.113741.1.13.1.2)')
  const tcb = readPairs(tcbNode, 'TCB')
  const sgxComponents: number[] = []
  for (let i = 1; i <= 16; i++) {
    const svn = integer(tcb, `${OID_TCB}.${i}`, `SGX TCB component ${i}`)
    if (svn > 0xff) throw invalid(`SGX TCB component ${i} is out of range`)
    sgxComponents.push(svn)
  }
  const sgxTypeNode = top.get(OID_SGX_TYPE)
  if (!(sgxTypeNode instanceof asn1js.Enumerated)) throw invalid('SGX type is missing or not ENUMERATED')
  return {
    ppid: octets(top, OID_PPID, 'PPID'),
    tcb: {
      sgxComponents,
      pceSvn: integer(tcb, `${OID_TCB}.17`, 'PCESVN'),
      cpuSvn: octets(tcb, `${OID_TCB}.18`, 'CPUSVN', 16),
    },
    pceId: toHex(octets(top, OID_PCE_ID, 'PCE-ID', 2)),
    fmspc: toHex(octets(top, OID_FMSPC, 'FMSPC', 6)),
    sgxType: sgxTypeNode.valueBlock.valueDec,
  }
}
