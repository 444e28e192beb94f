/**
 * `@veil/attestation`: TEE quote providers and verifiers. Intel DCAP verification of SGX (quote v3) and
 * TDX (quote v4/v5) quotes against Intel's collateral, Veil's acceptance policy, and the TDX quote
 * provider of a TD (Linux configfs-tsm).
 */

export { collateralToJson, type DcapCollateral, parseCollateral } from './dcap/collateral.js'
export { DcapError, type DcapErrorCode } from './dcap/errors.js'
export { INTEL_SGX_ROOT_CA_PEM } from './dcap/intel-root-ca.js'
export type { PckExtensions, PckTcb } from './dcap/pck-extensions.js'
export type { QeIdentity } from './dcap/qe-identity.js'
export {
  assertNotDebug,
  type ByteRange,
  type EnclaveReport,
  isDebug,
  type ParsedQuote,
  parseQuote,
  type QuoteHeader,
  type TdReport,
  type Tee,
} from './dcap/quote.js'
export {
  isTcbStatus,
  mergeAdvisoryIds,
  mergeTcbStatus,
  TCB_STATUSES,
  type TcbStatus,
  tcbStatusRank,
} from './dcap/status.js'
export type { TcbInfo, TcbLevel } from './dcap/tcb-info.js'
export {
  type CollateralInfo,
  type InvalidQuoteVerdict,
  type Measurement,
  type QuoteVerdict,
  type SgxMeasurement,
  type StatusParts,
  type TdxMeasurement,
  type ValidQuoteVerdict,
  type VerifyQuoteOptions,
  verifyQuote,
} from './dcap/verify.js'
export { clearX509Cache } from './dcap/x509.js'
export {
  type AttestationPolicy,
  AttestationPolicyError,
  checkPolicy,
  type PolicyErrorCode,
  type PolicyResult,
} from './policy.js'
export {
  createTdxProvider,
  nodeTsmFs,
  TDX_REPORT_DATA_LENGTH,
  TdxProviderError,
  type TdxProviderErrorCode,
  type TdxProviderOptions,
  type TdxQuoteProvider,
  TSM_REPORT_ROOT,
  type TsmFs,
} from './tdx.js'
export * from './tee/index.js'
