export {
  type CommandCall,
  type CommandReceipt,
  type ContractEvent,
  type DecodedPayload,
  decodeCommandPayload,
  decodeInitPayload,
  encodeCommandPayload,
  encodeInitPayload,
  MAX_METHOD_NAME,
  PayloadError,
  PayloadFormat,
} from './command.js'
export { errorMessage, UsageError, VeilError, type VeilErrorOptions, walkCauses } from './errors.js'
export { type Address, type Hex, isAddress, isHex } from './hex.js'
export { type Clock, type Logger, type Startable, silentLogger, systemClock } from './log.js'
export { type ContractLogEntry, LOGS_QUERY_METHOD, MAX_LOGS_PER_QUERY } from './logs.js'
export {
  type LedgerAddresses,
  type NetworkEgressLimits,
  type NetworkFile,
  type NetworkKms,
  type NetworkLimits,
  type NetworkMining,
  type NetworkWorker,
  parseNetworkFile,
} from './network.js'
export { quoteKind, quoteReportData } from './quote.js'
export { createTextLogger, type LogLevel } from './text-logger.js'
export {
  base64urlToBytes,
  bytesToBase64url,
  decodeValue,
  encodeValue,
  MAX_VALUE_DEPTH,
  ValueEncodingError,
  type VeilValue,
} from './value.js'
export { VEIL_VERSION } from './version.js'
