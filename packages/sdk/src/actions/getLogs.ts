import { type ContractLogEntry, LOGS_QUERY_METHOD, MAX_LOGS_PER_QUERY } from '@veil/protocol'
import type { VeilBaseClient } from '../client/baseClient.js'
import { ContractCallError, InvalidArgumentError, ResponseIntegrityError } from '../errors.js'
import type { WorkerRef, WorkerSelector } from '../workers/types.js'
import { type QueryAuth, query } from './query.js'

export interface GetLogsParameters {
  contractId: bigint | number | string
  /** Entries after this sequence number (default 0: from the oldest kept). */
  after?: bigint | number | undefined
  /** At most this many entries (1–1000, default 1000). */
  limit?: number | undefined
  /**
   * The worker to read. Each worker keeps its own log (every worker logs commands, only the answering
   * worker logs a query), so a cursor (`after`) is meaningful on one worker only: pin it when following.
   */
  worker?: WorkerSelector | undefined
  /** How the owner proves itself: the wallet (default) or a session certified by it. */
  auth?: QueryAuth | undefined
  signal?: AbortSignal | undefined
}

export interface GetLogsReturnType {
  entries: ContractLogEntry[]
  /** The newest sequence number on this worker; pass it as `after` to read only newer entries. */
  last: bigint
  /** The worker that answered (and signed the answer). */
  worker: WorkerRef
  /** The worker's last committed block when it answered. */
  block: bigint
}

/**
 * Reads what a contract wrote with `ctx.log` / `console.*`, from one worker. Only the contract's owner may:
 * the request is signed by the owner's wallet (or session), and the entries come back sealed to it and
 * signed by the worker like any query answer.
 *
 * @example
 * let after = 0n
 * const { entries, last } = await getLogs(client, { contractId: 1n, worker: 0, after })
 * for (const e of entries) console.log(e.level, e.message)
 * after = last
 */
export async function getLogs(client: VeilBaseClient, params: GetLogsParameters): Promise<GetLogsReturnType> {
  const after = params.after === undefined ? 0n : BigInt(params.after)
  if (after < 0n) throw new InvalidArgumentError('`after` must be a log sequence number ≥ 0')
  const limit = params.limit ?? MAX_LOGS_PER_QUERY
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LOGS_PER_QUERY)
    throw new InvalidArgumentError(`\`limit\` must be an integer from 1 to ${MAX_LOGS_PER_QUERY}`)
  const answer = await query(client, {
    contractId: params.contractId,
    method: LOGS_QUERY_METHOD,
    args: [{ after, limit }],
    auth: params.auth ?? 'wallet',
    worker: params.worker,
    signal: params.signal,
  })
  // NOT_OWNER when the signer is not the contract's owner.
  if (!answer.ok)
    throw new ContractCallError({
      kind: 'query',
      contractId: answer.contractId,
      method: LOGS_QUERY_METHOD,
      error: answer.error,
      fuel: answer.fuel,
    })
  const result = answer.result as { entries?: unknown; last?: unknown }
  if (!Array.isArray(result?.entries) || typeof result.last !== 'bigint')
    throw new ResponseIntegrityError(answer.worker.url, 'the $logs answer is not { entries, last }')
  return {
    entries: result.entries as ContractLogEntry[],
    last: result.last,
    worker: answer.worker,
    block: answer.block,
  }
}
