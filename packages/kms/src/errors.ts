import type { AttestationErrorCode } from '@veil/attestation'
import { VeilError, type VeilErrorOptions } from '@veil/protocol'

export type KmsErrorCode =
  /** Another KMS process (or this one) holds the data dir. */
  | 'DATA_DIR_IN_USE'
  /** The data dir holds a KMS identity but no master secret: refusing to silently create a new master. */
  | 'KMS_DATA_INCOMPLETE'
  /** A sealed secret has the wrong length or shape after unsealing. */
  | 'KMS_SECRET_INVALID'
  /** An option passed to the KMS is invalid. */
  | 'KMS_OPTIONS_INVALID'
  /** The ledger's RPC endpoint does not answer. */
  | 'LEDGER_UNREACHABLE'
  /** The RPC endpoint is another chain than the one configured. */
  | 'CHAIN_MISMATCH'
  /** The configured registry address holds no contract. */
  | 'LEDGER_NOT_FOUND'
  /** The TEE's quote does not carry the measurement the KMS was configured with. */
  | 'MEASUREMENT_MISMATCH'
  | 'NOT_STARTED'
  | 'STOPPED'

/** A failure of the KMS service itself (opening its data dir, starting, its configuration). */
export class KmsError extends VeilError {
  override name = 'KmsError'
  declare readonly code: KmsErrorCode

  constructor(code: KmsErrorCode, shortMessage: string, options: Omit<VeilErrorOptions, 'code'> = {}) {
    super(shortMessage, { ...options, code })
  }
}

/** Codes of a refused provisioning request (docs/protocol.md, "Provisioning (KMS)"). */
export type ProvisionRefusalCode =
  | AttestationErrorCode
  | 'WORKER_NOT_REGISTERED'
  | 'WORKER_NOT_ACTIVE'
  | 'WORKER_REVOKED'
  | 'NOT_CLUSTER_MEMBER'

/** Codes the KMS's HTTP API answers with (`{ ok: false, error: { code, message } }`). */
export type KmsApiErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_READY'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_FOUND'
  | ProvisionRefusalCode

/** An HTTP-level refusal of the KMS API: a status, a stable code and a message safe to show the caller. */
export class KmsApiError extends VeilError {
  override name = 'KmsApiError'
  declare readonly code: KmsApiErrorCode
  readonly status: 400 | 403 | 404 | 413 | 503

  constructor(
    status: KmsApiError['status'],
    code: KmsApiError['code'],
    shortMessage: string,
    options: Omit<VeilErrorOptions, 'code'> = {},
  ) {
    super(shortMessage, { ...options, code })
    this.status = status
  }
}
