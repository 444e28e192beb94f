export { type VeilComponent, veilCodeMeasurement } from './code-measurement.js'
export {
  checkReportData,
  REPORT_DATA_LENGTH,
  reportDataFromHash,
  TeeError,
  type TeeErrorCode,
  type TeeKind,
  type TeeProvider,
} from './provider.js'
export { SealedFiles, sealBytes, unsealBytes } from './sealing.js'
export {
  createSimulatedQuote,
  createSimulatedTee,
  DEV_ATTESTATION_PRIVATE_KEY,
  DEV_ATTESTATION_PUBLIC_KEY,
  defaultPlatformSecretFile,
  isSimulatedQuote,
  SIMULATED_QUOTE_LENGTH,
  type SimulatedQuote,
  type SimulatedTeeOptions,
  verifySimulatedQuote,
} from './simulated.js'
export { createTdxTee, type TdxTeeOptions } from './tdx-tee.js'
export {
  AttestationError,
  type AttestationErrorCode,
  quoteMeasurement,
  registryMeasurement,
  verifyWorkerQuote,
  type WorkerQuoteCheck,
  type WorkerQuoteResult,
} from './worker-quote.js'
