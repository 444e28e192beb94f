import { VeilError } from '@veil/protocol'

/**
 * Why a DCAP quote was rejected. Stable, machine-readable; `*_EXPIRED` also covers "not yet valid" (the
 * checked time lies outside the validity window on either side).
 */
export type DcapErrorCode =
  /** The quote bytes are truncated or inconsistent (a length field points past the end, …). */
  | 'QUOTE_MALFORMED'
  /** A well-formed quote of a kind this verifier does not handle (version, key type, TEE, cert data type). */
  | 'QUOTE_UNSUPPORTED'
  /** `collateral.json` does not have the expected layout. */
  | 'COLLATERAL_MALFORMED'
  | 'CERT_MALFORMED'
  /** A certificate chain does not lead to the trusted Intel SGX Root CA (issuer, signature, CA flag). */
  | 'CERT_CHAIN_INVALID'
  | 'CERT_EXPIRED'
  | 'CERT_REVOKED'
  /** The PCK leaf certificate lacks what a PCK certificate must carry (CN, SGX extensions). */
  | 'PCK_CERT_INVALID'
  | 'CRL_MALFORMED'
  | 'CRL_SIGNATURE_INVALID'
  | 'CRL_ISSUER_MISMATCH'
  | 'CRL_EXPIRED'
  | 'TCB_INFO_MALFORMED'
  | 'TCB_INFO_SIGNATURE_INVALID'
  | 'TCB_INFO_EXPIRED'
  /** TCB info is for another TEE, FMSPC or PCE-ID than the quote's platform. */
  | 'TCB_INFO_MISMATCH'
  | 'QE_IDENTITY_MALFORMED'
  | 'QE_IDENTITY_SIGNATURE_INVALID'
  | 'QE_IDENTITY_EXPIRED'
  /** The quoting enclave is not Intel's QE (MRSIGNER, ISVPRODID, MISCSELECT, ATTRIBUTES) or the wrong kind. */
  | 'QE_IDENTITY_MISMATCH'
  | 'QE_REPORT_SIGNATURE_INVALID'
  /** The QE report does not bind the attestation key (sha256(key || auth data) ≠ report data). */
  | 'QE_REPORT_DATA_MISMATCH'
  | 'QUOTE_SIGNATURE_INVALID'
  /** MRSIGNERSEAM / SEAMATTRIBUTES do not match the TDX module identity of the TCB info. */
  | 'TDX_MODULE_MISMATCH'
  /** No TCB level of the TCB info (platform, TDX module or QE) is reached: "No matching TCB level found". */
  | 'TCB_LEVEL_NOT_FOUND'
  /** The platform, TDX module or QE TCB level is Revoked. */
  | 'TCB_REVOKED'
  /** A debug enclave / debug TD, refused unless `allowDebug`. */
  | 'DEBUG_NOT_ALLOWED'
  /** A bug in the verifier, never a verdict on the quote; reported rather than thrown (fail closed). */
  | 'INTERNAL_ERROR'

/** A DCAP quote or its collateral failed a check. `code` says which one. */
export class DcapError extends VeilError {
  override name = 'DcapError'
  declare readonly code: DcapErrorCode

  constructor(
    code: DcapErrorCode,
    shortMessage: string,
    options: { details?: string; cause?: unknown } = {},
  ) {
    super(shortMessage, { ...options, code })
  }
}
