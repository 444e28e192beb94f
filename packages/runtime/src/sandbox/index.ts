/** The contract sandbox: QuickJS in WebAssembly, snapshot-restored per invocation, metered, bounded. */
export { ContractEngine, type ContractMethods, InvalidRequestError } from './engine.js'
export {
  ContractError,
  type ContractErrorInfo,
  EngineDisposedError,
  HostCallbackError,
  InvalidArgumentsError,
  InvalidBundleError,
  InvalidResultError,
  NotAllowedError,
  OutOfFuelError,
  OutOfMemoryError,
  reportedError,
  SandboxCrashError,
  SandboxError,
  StackOverflowError,
  TimeoutError,
  UnknownMethodError,
} from './errors.js'
export {
  DEFAULT_COMMAND_LIMITS,
  DEFAULT_LOAD_LIMITS,
  DEFAULT_QUERY_LIMITS,
  FUEL_COSTS,
  InvalidLimitsError,
  MAX_ARGS_BYTES,
  MAX_EVENT_DATA_BYTES,
  MAX_EVENT_NAME_BYTES,
  MAX_KEY_PATH_CHARS,
  MAX_LOG_MESSAGE_CHARS,
  MAX_RANDOM_BYTES,
  MAX_SIGN_MESSAGE_BYTES,
  MAX_STORAGE_KEY_BYTES,
  MAX_STORAGE_VALUE_BYTES,
  type SandboxLimits,
} from './limits.js'
export type { RandomSource } from './random.js'
export type {
  ContractEngineOptions,
  ContractKeyHost,
  InvocationEnv,
  InvocationHost,
  InvokeOutcome,
  InvokeRequest,
  StorageHost,
} from './types.js'
