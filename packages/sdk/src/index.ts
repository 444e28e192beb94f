/**
 * @veil/sdk — the Veil client for browsers, web workers and any runtime with `fetch`, WebCrypto and
 * `WebSocket`. Node gets the same API from the package's Node entry (which adds `ws`).
 */
export {
  type CreateSessionParameters,
  type CreateSessionReturnType,
  createSession,
  type QuerySession,
} from './actions/createSession.js'
export {
  type DeployContractErrorType,
  type DeployContractParameters,
  type DeployContractReturnType,
  deployContract,
} from './actions/deployContract.js'
export {
  type ContractInfo,
  type GetContractInfoErrorType,
  type GetContractInfoParameters,
  type GetContractInfoReturnType,
  getContractInfo,
} from './actions/getContractInfo.js'
export { type GetLogsParameters, type GetLogsReturnType, getLogs } from './actions/getLogs.js'
export {
  type GetWorkerHealthParameters,
  type GetWorkerHealthReturnType,
  getWorkerHealth,
  type WorkerHealth,
} from './actions/getWorkerHealth.js'
export {
  type GetWorkerInfoParameters,
  type GetWorkerInfoReturnType,
  getWorkerInfo,
} from './actions/getWorkerInfo.js'
export { type GetWorkersParameters, type GetWorkersReturnType, getWorkers } from './actions/getWorkers.js'
export {
  type ListContractsParameters,
  type ListContractsReturnType,
  listContracts,
} from './actions/listContracts.js'
export {
  type QueryAuth,
  type QueryErrorType,
  type QueryParameters,
  type QueryResult,
  type QueryResultMeta,
  type QueryReturnType,
  query,
} from './actions/query.js'
export {
  type SendCommandErrorType,
  type SendCommandParameters,
  type SendCommandReturnType,
  sendCommand,
} from './actions/sendCommand.js'
export {
  type SetSecretsErrorType,
  type SetSecretsParameters,
  type SetSecretsReturnType,
  setSecrets,
} from './actions/setSecrets.js'
export {
  type SubmitCommandErrorType,
  type SubmitCommandParameters,
  type SubmitCommandReturnType,
  type SubmittedCommand,
  submitCommand,
} from './actions/submitCommand.js'
export {
  type CommandResult,
  type CommandResultMeta,
  type WaitForCommandResultErrorType,
  type WaitForCommandResultParameters,
  type WaitForCommandResultReturnType,
  waitForCommandResult,
} from './actions/waitForCommandResult.js'
export {
  type WaitForContractKeyErrorType,
  type WaitForContractKeyParameters,
  type WaitForContractKeyReturnType,
  waitForContractKey,
} from './actions/waitForContractKey.js'
export {
  type ContractEventMessage,
  type WatchEventsParameters,
  type WatchEventsReturnType,
  watchEvents,
} from './actions/watchEvents.js'
export type {
  ClientConfig,
  CreateClientParameters,
  VeilBaseClient,
  WebSocketConstructor,
  WebSocketLike,
} from './client/baseClient.js'
export { createClient, type VeilActions, type VeilClient } from './client/createClient.js'
export {
  type CommandOptions,
  type GetContractOptions,
  getContract,
  type QueryOptions,
  type VeilContract,
} from './contract/getContract.js'
export {
  AbortedError,
  AccountRequiredError,
  AnswerSignatureError,
  ClientConfigError,
  ContractCallError,
  type ContractErrorInfo,
  ContractKeyTimeoutError,
  ContractNotFoundError,
  InvalidArgumentError,
  NoWorkersError,
  ReceiptTimeoutError,
  ResponseIntegrityError,
  SubscriptionError,
  WorkerRequestError,
  WorkersUnavailableError,
  WorkerUnavailableError,
  WorkerVerificationError,
} from './errors.js'
export { LedgerError } from './ledger/abis.js'
export type { FetchFn } from './workers/http.js'
export type {
  RegisteredWorker,
  VerifyWorker,
  WorkerCheck,
  WorkerRef,
  WorkerReport,
  WorkerSelector,
  WorkerStatus,
} from './workers/types.js'
export { defaultVerifyWorker } from './workers/verifyWorker.js'
