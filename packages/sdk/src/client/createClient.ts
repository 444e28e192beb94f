import type { ContractDefinition } from '@veil/contract'
import {
  type CreateSessionParameters,
  type CreateSessionReturnType,
  createSession,
} from '../actions/createSession.js'
import {
  type DeployContractParameters,
  type DeployContractReturnType,
  deployContract,
} from '../actions/deployContract.js'
import { type ContractInfo, getContractInfo } from '../actions/getContractInfo.js'
import { type GetLogsParameters, type GetLogsReturnType, getLogs } from '../actions/getLogs.js'
import { type GetWorkerHealthReturnType, getWorkerHealth } from '../actions/getWorkerHealth.js'
import { type GetWorkerInfoReturnType, getWorkerInfo } from '../actions/getWorkerInfo.js'
import { type GetWorkersParameters, type GetWorkersReturnType, getWorkers } from '../actions/getWorkers.js'
import {
  type ListContractsParameters,
  type ListContractsReturnType,
  listContracts,
} from '../actions/listContracts.js'
import { type QueryParameters, type QueryReturnType, query } from '../actions/query.js'
import {
  type SendCommandParameters,
  type SendCommandReturnType,
  sendCommand,
} from '../actions/sendCommand.js'
import { type SetSecretsParameters, type SetSecretsReturnType, setSecrets } from '../actions/setSecrets.js'
import {
  type SubmitCommandParameters,
  type SubmitCommandReturnType,
  submitCommand,
} from '../actions/submitCommand.js'
import {
  type WaitForCommandResultParameters,
  type WaitForCommandResultReturnType,
  waitForCommandResult,
} from '../actions/waitForCommandResult.js'
import {
  type WaitForContractKeyParameters,
  type WaitForContractKeyReturnType,
  waitForContractKey,
} from '../actions/waitForContractKey.js'
import {
  type WatchEventsParameters,
  type WatchEventsReturnType,
  watchEvents,
} from '../actions/watchEvents.js'
import { type GetContractOptions, getContract, type VeilContract } from '../contract/getContract.js'
import { type CreateClientParameters, createBaseClient, type VeilBaseClient } from './baseClient.js'

/** The actions of `createClient`, bound to the client. Each is also exported as a free function. */
export interface VeilActions {
  /** Uploads (if needed) and deploys a contract bundle. See `deployContract`. */
  deploy(
    code: string | Uint8Array,
    options?: Omit<DeployContractParameters, 'code'>,
  ): Promise<DeployContractReturnType>
  /** A typed handle on a deployed contract. See `getContract`. */
  contract<D = ContractDefinition>(
    id: bigint | number | string,
    options?: GetContractOptions,
  ): VeilContract<D>
  sendCommand(params: SendCommandParameters): Promise<SendCommandReturnType>
  submitCommand(params: SubmitCommandParameters): Promise<SubmitCommandReturnType>
  waitForCommandResult(params: WaitForCommandResultParameters): Promise<WaitForCommandResultReturnType>
  query(params: QueryParameters): Promise<QueryReturnType>
  watchEvents(params: WatchEventsParameters): WatchEventsReturnType
  /** What the contract logged, read from one worker (owner only). See `getLogs`. */
  getLogs(params: GetLogsParameters): Promise<GetLogsReturnType>
  /** Sets or deletes the contract's secrets (owner only). See `setSecrets`. */
  setSecrets(params: SetSecretsParameters): Promise<SetSecretsReturnType>
  getContractInfo(id: bigint | number | string): Promise<ContractInfo>
  listContracts(params?: ListContractsParameters): Promise<ListContractsReturnType>
  waitForContractKey(params: WaitForContractKeyParameters): Promise<WaitForContractKeyReturnType>
  getWorkers(params?: GetWorkersParameters): Promise<GetWorkersReturnType>
  getWorkerInfo(url: string): Promise<GetWorkerInfoReturnType>
  getWorkerHealth(url: string): Promise<GetWorkerHealthReturnType>
  createSession(params?: CreateSessionParameters): Promise<CreateSessionReturnType>
}

/** A Veil client: chain access, the account, worker discovery, and the actions. */
export type VeilClient = VeilBaseClient & VeilActions

export type { CreateClientParameters }

/**
 * Creates a Veil client for a network. With an `account` it can deploy and send commands; without one
 * it is read-only (queries, events, listings).
 *
 * @example
 * import { createClient } from '@veil/sdk'
 * import type Counter from './src/counter.js'
 *
 * const client = createClient({ network, account: process.env.VEIL_PRIVATE_KEY })
 * const { contractId } = await client.deploy(bundle, { init: { start: 1 } })
 * const counter = client.contract<typeof Counter>(contractId)
 * await counter.command.add(5) // 6, sealed to the contract, ordered by the ledger
 * await counter.query.get()    // 6, sealed to one worker, signed by it
 */
export function createClient(params: CreateClientParameters): VeilClient {
  const base = createBaseClient(params)
  const actions: VeilActions = {
    deploy: (code, options = {}) => deployContract(base, { ...options, code }),
    contract: <D>(id: bigint | number | string, options?: GetContractOptions) =>
      getContract<D>(base, id, options),
    sendCommand: (p) => sendCommand(base, p),
    submitCommand: (p) => submitCommand(base, p),
    waitForCommandResult: (p) => waitForCommandResult(base, p),
    query: (p) => query(base, p),
    watchEvents: (p) => watchEvents(base, p),
    getLogs: (p) => getLogs(base, p),
    setSecrets: (p) => setSecrets(base, p),
    getContractInfo: (contractId) => getContractInfo(base, { contractId }),
    listContracts: (p) => listContracts(base, p),
    waitForContractKey: (p) => waitForContractKey(base, p),
    getWorkers: (p) => getWorkers(base, p),
    getWorkerInfo: (url) => getWorkerInfo(base, { url }),
    getWorkerHealth: (url) => getWorkerHealth(base, { url }),
    createSession: (p) => createSession(base, p),
  }
  return Object.assign(base, actions)
}
