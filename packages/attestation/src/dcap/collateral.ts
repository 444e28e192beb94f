/**
 * DCAP collateral: what a verifier needs besides the quote, fetched from Intel's PCS (or a PCCS cache)
 * for the quote's FMSPC. The JSON layout is the one of Phala's dcap-qvl (`QuoteCollateralV3`), with
 * snake_case keys; certificates are PEM, CRLs hex DER, signatures hex r||s.
 */

import { fromHex } from '../bytes.js'
import { DcapError } from './errors.js'

export interface DcapCollateral {
  /** PEM: the PCK CRL issuer (PCK Platform/Processor CA) and the root. */
  pckCrlIssuerChain: string
  /** DER of the Intel SGX Root CA's CRL. */
  rootCaCrl: Uint8Array
  /** DER of the PCK CRL (issued by the PCK Platform/Processor CA). */
  pckCrl: Uint8Array
  /** PEM: the TCB signing certificate and the root. */
  tcbInfoIssuerChain: string
  /** The exact signed JSON text of the `tcbInfo` object. */
  tcbInfo: string
  /** ECDSA P-256 r||s (64 bytes) over `tcbInfo`. */
  tcbInfoSignature: Uint8Array
  /** PEM: the TCB signing certificate (which also signs QE identities) and the root. */
  qeIdentityIssuerChain: string
  /** The exact signed JSON text of the `enclaveIdentity` object. */
  qeIdentity: string
  /** ECDSA P-256 r||s (64 bytes) over `qeIdentity`. */
  qeIdentitySignature: Uint8Array
}

/** JSON key for each field, as in collateral.json. */
const KEYS = {
  pckCrlIssuerChain: 'pck_crl_issuer_chain',
  rootCaCrl: 'root_ca_crl',
  pckCrl: 'pck_crl',
  tcbInfoIssuerChain: 'tcb_info_issuer_chain',
  tcbInfo: 'tcb_info',
  tcbInfoSignature: 'tcb_info_signature',
  qeIdentityIssuerChain: 'qe_identity_issuer_chain',
  qeIdentity: 'qe_identity',
  qeIdentitySignature: 'qe_identity_signature',
} as const satisfies Record<keyof DcapCollateral, string>

function malformed(details: string, cause?: unknown): DcapError {
  return new DcapError('COLLATERAL_MALFORMED', 'DCAP collateral is malformed', {
    details,
    ...(cause === undefined ? {} : { cause }),
  })
}

/**
 * Reads collateral.json (the parsed value or its text) into typed fields. Checks the shape only:
 * signatures, chains and validity are checked by `verifyQuote`. Throws `DcapError('COLLATERAL_MALFORMED')`.
 *
 * @example
 * const collateral = parseCollateral(readFileSync('collateral.json', 'utf8'))
 */
export function parseCollateral(json: unknown): DcapCollateral {
  let value = json
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json)
    } catch (cause) {
      throw malformed('not valid JSON', cause)
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw malformed('expected a JSON object with pck_crl_issuer_chain, root_ca_crl, pck_crl, tcb_info, …')
  }
  const record = value as Record<string, unknown>
  const text = (key: string): string => {
    const v = record[key]
    if (typeof v !== 'string' || v.length === 0) throw malformed(`${key}: expected a non-empty string`)
    return v
  }
  const hex = (key: string, length?: number): Uint8Array => {
    const bytes = fromHex(text(key).replace(/^0x/, ''))
    if (bytes === undefined) throw malformed(`${key}: expected hex`)
    if (length !== undefined && bytes.length !== length) {
      throw malformed(`${key}: expected ${length} bytes, got ${bytes.length}`)
    }
    return bytes
  }
  return {
    pckCrlIssuerChain: text(KEYS.pckCrlIssuerChain),
    rootCaCrl: hex(KEYS.rootCaCrl),
    pckCrl: hex(KEYS.pckCrl),
    tcbInfoIssuerChain: text(KEYS.tcbInfoIssuerChain),
    tcbInfo: text(KEYS.tcbInfo),
    tcbInfoSignature: hex(KEYS.tcbInfoSignature, 64),
    qeIdentityIssuerChain: text(KEYS.qeIdentityIssuerChain),
    qeIdentity: text(KEYS.qeIdentity),
    qeIdentitySignature: hex(KEYS.qeIdentitySignature, 64),
  }
}

/** The inverse of `parseCollateral`: collateral.json's object (hex without 0x). */
export function collateralToJson(
  collateral: DcapCollateral,
): Record<(typeof KEYS)[keyof typeof KEYS], string> {
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
  return {
    pck_crl_issuer_chain: collateral.pckCrlIssuerChain,
    root_ca_crl: hex(collateral.rootCaCrl),
    pck_crl: hex(collateral.pckCrl),
    tcb_info_issuer_chain: collateral.tcbInfoIssuerChain,
    tcb_info: collateral.tcbInfo,
    tcb_info_signature: hex(collateral.tcbInfoSignature),
    qe_identity_issuer_chain: collateral.qeIdentityIssuerChain,
    qe_identity: collateral.qeIdentity,
    qe_identity_signature: hex(collateral.qeIdentitySignature),
  }
}
