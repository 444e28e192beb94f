import type { CommandMethods, ContractDefinition, QueryMethods } from '@veil/contract'
import { type ContractInfo, getContractInfo, toContractId } from '../actions/getContractInfo.js'
import { type QueryAuth, type QueryResult, query } from '../actions/query.js'
import { type SendCommandParameters, sendCommand } from '../actions/sendCommand.js'
import type { CommandResult } from '../actions/waitForCommandResult.js'
import {
  type WatchEventsParameters,
  type WatchEventsReturnType,
  watchEvents,
} from '../actions/watchEvents.js'
import type { VeilBaseClient } from '../client/baseClient.js'
import { ContractCallError } from '../errors.js'
import type { WorkerSelector } from '../workers/types.js'

export interface GetContractOptions {
  /** Caller proof for this handle's queries (default: anonymous, `ctx.caller` null). */
  auth?: QueryAuth | undefined
  /** Send this handle's queries to one worker only. */
  worker?: WorkerSelector | undefined
}

export type CommandOptions = Omit<SendCommandParameters, 'contractId' | 'method' | 'args'>

export interface QueryOptions {
  auth?: QueryAuth | undefined
  worker?: WorkerSelector | undefined
  allowInvalidSignature?: boolean | undefined
  signal?: AbortSignal | undefined
}

/**
 * A deployed contract, typed from its definition: `command.add(5)` and `query.get()` take the
 * contract's own argument types and resolve with its return types (or throw `ContractCallError`).
 * `send` and `call` return the full outcome (fuel, events, worker, signature) without throwing for
 * contract errors.
 */
export interface VeilContract<D = ContractDefinition> {
  readonly id: bigint
  /** Commands, sealed and ordered by the ledger: resolve with the result once a worker executed them. */
  readonly command: CommandMethods<D>
  /** Queries, answered by one worker, signed: resolve with the result. */
  readonly query: QueryMethods<D>
  send(method: string, args?: readonly unknown[], options?: CommandOptions): Promise<CommandResult>
  call(method: string, args?: readonly unknown[], options?: QueryOptions): Promise<QueryResult>
  /** Subscribes to the contract's events; returns `unwatch`. */
  watchEvents(params: Omit<WatchEventsParameters, 'contractId'>): WatchEventsReturnType
  /** The contract's ledger record. */
  info(): Promise<ContractInfo>
}

/**
 * A typed handle on a deployed contract.
 *
 * @example
 * import type Counter from './counter.js'
 * const counter = getContract<typeof Counter>(client, 1n)
 * const n = await counter.command.add(5) // number
 * const now = await counter.query.get()  // number
 */
export function getContract<D = ContractDefinition>(
  client: VeilBaseClient,
  contractId: bigint | number | string,
  options: GetContractOptions = {},
): VeilContract<D> {
  const id = toContractId(contractId)
  const send = (method: string, args: readonly unknown[] = [], commandOptions: CommandOptions = {}) =>
    sendCommand(client, { ...commandOptions, contractId: id, method, args })
  const call = (method: string, args: readonly unknown[] = [], queryOptions: QueryOptions = {}) =>
    query(client, {
      contractId: id,
      method,
      args,
      auth: queryOptions.auth ?? options.auth,
      worker: queryOptions.worker ?? options.worker,
      allowInvalidSignature: queryOptions.allowInvalidSignature,
      signal: queryOptions.signal,
    })
  const command = methodProxy(async (method, args) => {
    const outcome = await send(method, args)
    if (outcome.ok) return outcome.result
    throw new ContractCallError({
      kind: 'command',
      contractId: id,
      method,
      error: outcome.error,
      fuel: outcome.fuel,
      txHash: outcome.txHash,
    })
  }) as CommandMethods<D>
  const queryMethods = methodProxy(async (method, args) => {
    const outcome = await call(method, args)
    if (outcome.ok) return outcome.result
    throw new ContractCallError({
      kind: 'query',
      contractId: id,
      method,
      error: outcome.error,
      fuel: outcome.fuel,
    })
  }) as QueryMethods<D>
  return {
    id,
    command,
    query: queryMethods,
    send,
    call,
    watchEvents: (params) => watchEvents(client, { ...params, contractId: id }),
    info: () => getContractInfo(client, { contractId: id }),
  }
}

/**
 * An object whose every string property is a method calling `invoke(name, args)`. `then` is absent,
 * so awaiting the object by mistake does not send a command named "then".
 */
function methodProxy(invoke: (method: string, args: unknown[]) => Promise<unknown>): object {
  return new Proxy(
    {},
    {
      get(_target, property) {
        if (typeof property !== 'string' || property === 'then' || property === 'toJSON') return undefined
        return (...args: unknown[]) => invoke(property, args)
      },
    },
  )
}
