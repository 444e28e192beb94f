export {
  BlockInProgressError,
  BlockSequenceError,
  BlockWriterClosedError,
  InvalidSavepointError,
  RewindTooDeepError,
  StateArgumentError,
  StateFormatError,
  StateIntegrityError,
  StateStoreClosedError,
  StateStoreError,
} from './errors.js'
export { ContractKeyring, contractKeyHost } from './keyring.js'
export type { Cursor } from './layout.js'
export { DEFAULT_LOG_RETENTION, type LogAppend, type LogRecord, MAX_LOG_READ } from './logs.js'
export {
  ClusterContractSecrets,
  type ContractSecrets,
  DevContractSecrets,
  type DevContractSecretsOptions,
} from './secrets.js'
export { DEFAULT_UNDO_DEPTH, StateStore, type StateStoreOptions } from './store.js'
export { type BlockHeader, BlockWriter, Savepoint } from './writer.js'
