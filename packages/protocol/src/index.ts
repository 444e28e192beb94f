export { VeilError, UsageError, walkCauses, errorMessage, type VeilErrorOptions } from './errors.js'
export { type Logger, silentLogger, type Clock, systemClock, type Startable } from './log.js'
export { type Hex, type Address, isAddress, isHex } from './hex.js'
export {
  type NetworkFile,
  type NetworkWorker,
  type NetworkKms,
  type LedgerAddresses,
  parseNetworkFile,
} from './network.js'
export {
  encodeValue,
  decodeValue,
  bytesToBase64url,
  base64urlToBytes,
  ValueEncodingError,
  MAX_VALUE_DEPTH,
  type VeilValue,
} from './value.js'
