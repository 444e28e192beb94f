export {
  type BlockHeader,
  BlockInProgressError,
  BlockSequenceError,
  BlockWriter,
  BlockWriterClosedError,
  ClusterContractSecrets,
  type ContractSecrets,
  type Cursor,
  DEFAULT_UNDO_DEPTH,
  DevContractSecrets,
  type DevContractSecretsOptions,
  InvalidSavepointError,
  RewindTooDeepError,
  Savepoint,
  StateArgumentError,
  StateFormatError,
  StateIntegrityError,
  StateStore,
  StateStoreClosedError,
  StateStoreError,
  type StateStoreOptions,
} from './state/index.js'
export { Worker, type WorkerOptions, RUNTIME_VERSION } from './worker/worker.js'
export { DEV_MASTER_SECRET } from './worker/dev.js'
export { createLogger, type CreateLoggerOptions, type LogFormat, type LogLevel } from './log.js'
export { createWorkerApp, type WorkerInfo, type WorkerHealth, type WorkerPhase } from './api/app.js'
export { ChainFollower, type ChainFollowerOptions, type FollowerStatus } from './follower/follower.js'
export { BlockExecutor } from './follower/executor.js'
export { ViemChainReader, type ChainReader } from './follower/chain.js'
