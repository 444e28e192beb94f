export { DEV_MASTER_SECRET } from '@veil/crypto'
export { createWorkerApp, type WorkerHealth, type WorkerInfo, type WorkerPhase } from './api/app.js'
export {
  DEFAULT_EGRESS_LIMITS,
  Egress,
  EgressError,
  type EgressLimits,
  parseAllowEntry,
  refusedAddressReason,
} from './egress/index.js'
export { type ChainReader, ViemChainReader } from './follower/chain.js'
export { BlockExecutor } from './follower/executor.js'
export { ChainFollower, type ChainFollowerOptions, type FollowerStatus } from './follower/follower.js'
export { type JobOutcome, signJobOutcome } from './follower/job-outcome.js'
export { pendingJobs, readSecrets, systemId } from './follower/system-state.js'
export { type CreateLoggerOptions, createLogger, type LogFormat, type LogLevel } from './log.js'
export { EvmEndpoints, EvmRequestError, parseRpcEndpoint } from './offchain/evm.js'
export {
  ContractEngine,
  type ContractEngineOptions,
  ContractError,
  type ContractKeyHost,
  type ContractMethods,
  DEFAULT_COMMAND_LIMITS,
  DEFAULT_LOAD_LIMITS,
  DEFAULT_QUERY_LIMITS,
  EngineDisposedError,
  FUEL_COSTS,
  HostCallbackError,
  InvalidArgumentsError,
  InvalidBundleError,
  InvalidLimitsError,
  InvalidRequestError,
  InvalidResultError,
  type InvocationEnv,
  type InvocationHost,
  type InvokeOutcome,
  type InvokeRequest,
  NotAllowedError,
  OutOfFuelError,
  OutOfMemoryError,
  type RandomSource,
  SandboxCrashError,
  SandboxError,
  type SandboxLimits,
  StackOverflowError,
  type StorageHost,
  TimeoutError,
  UnknownMethodError,
} from './sandbox/index.js'
export {
  type BlockHeader,
  BlockInProgressError,
  BlockSequenceError,
  BlockWriter,
  BlockWriterClosedError,
  ClusterContractSecrets,
  ContractKeyring,
  type ContractSecrets,
  type Cursor,
  contractKeyHost,
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
export { JobRunner, runnerOrder } from './worker/job-runner.js'
export { RUNTIME_VERSION, Worker, type WorkerOptions } from './worker/worker.js'
