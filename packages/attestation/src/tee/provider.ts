import { VeilError } from '@veil/protocol'

/** Which TEE produced a quote or holds a sealing key. `simulated` is development only. */
export type TeeKind = 'simulated' | 'tdx'

/**
 * What a worker or the KMS needs from the TEE it runs in: quotes over 64 bytes of report data, and a
 * key to seal its secrets to disk that only this TEE, on this machine, can re-derive.
 */
export interface TeeProvider {
  readonly kind: TeeKind
  /** A quote whose report data is `reportData` (exactly 64 bytes). */
  getQuote(reportData: Uint8Array): Promise<Uint8Array>
  /** A 32-byte sealing key for `label` (e.g. `veil/v1/seal/worker`), stable across restarts. */
  sealingKey(label: string): Promise<Uint8Array>
}

export type TeeErrorCode =
  /** A sealed file does not open with this TEE's key: another machine, another TEE, or altered. */
  | 'SEAL_KEY_MISMATCH'
  /** A sealed file is not in the sealed format at all. */
  | 'SEALED_FILE_INVALID'
  /** The TEE cannot provide a sealing key (e.g. TDX without a configured key source). */
  | 'SEALING_UNAVAILABLE'
  /** A simulated TEE where only real hardware is acceptable. */
  | 'SIMULATED_TEE_REFUSED'
  | 'REPORT_DATA_INVALID'

export class TeeError extends VeilError {
  override name = 'TeeError'
  declare readonly code: TeeErrorCode

  constructor(
    code: TeeErrorCode,
    shortMessage: string,
    options: { details?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(shortMessage, { ...options, code })
  }
}

/** Report data is 64 bytes: Veil puts its 32-byte binding hash first and zeros after (docs/trust.md). */
export const REPORT_DATA_LENGTH = 64

/** Expands a 32-byte binding hash to the 64 bytes of report data (hash ‖ 32 zero bytes). */
export function reportDataFromHash(hash: Uint8Array): Uint8Array {
  if (hash.length !== 32)
    throw new TeeError('REPORT_DATA_INVALID', `a report-data hash has 32 bytes, got ${hash.length}`)
  const out = new Uint8Array(REPORT_DATA_LENGTH)
  out.set(hash)
  return out
}

export function checkReportData(reportData: Uint8Array): void {
  if (!(reportData instanceof Uint8Array) || reportData.length !== REPORT_DATA_LENGTH)
    throw new TeeError(
      'REPORT_DATA_INVALID',
      `report data must be ${REPORT_DATA_LENGTH} bytes, got ${reportData instanceof Uint8Array ? reportData.length : typeof reportData}`,
    )
}
