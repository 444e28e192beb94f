import {
  type ContractLogEntry,
  decodeValue,
  encodeValue,
  type Hex,
  LOGS_QUERY_METHOD,
  MAX_LOGS_PER_QUERY,
} from '@veil/protocol'
import type { ContractRecord } from '../follower/contracts.js'
import type { StateStore } from '../state/index.js'

/** The answer body of a query (what the worker seals): a result or an error. */
export type QueryAnswerBody =
  | { ok: true; result: unknown; fuel: number }
  | { ok: false; error: { code: string; message: string; stack?: string }; fuel: number }

/**
 * Answers the `$logs` system query: the contract's log entries on this worker after `after`, for the
 * contract's owner only. `caller` is the address the query's `auth` proved (null without auth).
 */
export function answerLogsQuery(
  store: StateStore,
  record: ContractRecord,
  caller: Hex | null,
  args: unknown[],
): QueryAnswerBody {
  const refuse = (code: string, message: string): QueryAnswerBody => ({
    ok: false,
    error: { code, message },
    fuel: 0,
  })
  if (caller === null)
    return refuse(
      'AUTH_REQUIRED',
      `${LOGS_QUERY_METHOD} needs the owner's signature (auth); logs are for the contract's owner only`,
    )
  if (caller.toLowerCase() !== record.owner.toLowerCase())
    return refuse(
      'NOT_OWNER',
      `only the owner of contract ${record.id} (${record.owner}) may read its logs, not ${caller}`,
    )
  const options = (args[0] ?? {}) as { after?: unknown; limit?: unknown }
  if (args.length > 1 || typeof options !== 'object' || options === null || Array.isArray(options))
    return refuse(
      'BAD_ARGUMENTS',
      `${LOGS_QUERY_METHOD} takes one argument: { after?: bigint, limit?: number }`,
    )
  const after = options.after ?? 0n
  const limit = options.limit ?? MAX_LOGS_PER_QUERY
  if (typeof after !== 'bigint' || after < 0n)
    return refuse('BAD_ARGUMENTS', '`after` must be a bigint sequence number ≥ 0')
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LOGS_PER_QUERY)
    return refuse('BAD_ARGUMENTS', `\`limit\` must be an integer from 1 to ${MAX_LOGS_PER_QUERY}`)
  const entries: ContractLogEntry[] = store
    .readLogs(record.id, { after, limit })
    .map(({ seq, text }) => ({ seq, ...(decodeValue(text) as Omit<ContractLogEntry, 'seq'>) }))
  return { ok: true, result: { entries, last: store.lastLogSeq(record.id) }, fuel: 0 }
}

/** The stored text of a query's log line (`seq` is assigned by the store). */
export function queryLogText(
  line: { level: 'info' | 'warn' | 'error'; message: string },
  method: string,
  block: bigint,
  time: number,
  kind: 'query' | 'job' = 'query',
): string {
  const entry: Omit<ContractLogEntry, 'seq'> = { ...line, kind, method, block, time }
  return encodeValue(entry)
}
