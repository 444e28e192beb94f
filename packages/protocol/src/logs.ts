import type { Hex } from './hex.js'

/**
 * One line a contract wrote with `ctx.log` / `console.*`, as a worker keeps it for the contract's owner
 * and serves it through the `$logs` system query (docs/protocol.md).
 */
export interface ContractLogEntry {
  /** The worker's sequence number for this contract's log: 1, 2, 3… (entries of one worker). */
  seq: bigint
  level: 'info' | 'warn' | 'error'
  message: string
  /**
   * What wrote it: the deploy-time init, a ledger-ordered command (a job's apply included), a query
   * answered by this worker, or a job's run() on this worker.
   */
  kind: 'init' | 'command' | 'query' | 'job'
  /** The method, except for sealed commands (their method is confidential to the sender). */
  method?: string
  /** The block the invocation ran at (for a query: the worker's last committed block). */
  block: bigint
  /** Milliseconds since the epoch: the block's timestamp for init and commands, the worker's clock for queries. */
  time: number
  /** The transaction of an init or command. */
  txHash?: Hex
}

/** The reserved query method that reads a contract's logs (owner only). */
export const LOGS_QUERY_METHOD = '$logs'
/** Most entries one `$logs` query returns. */
export const MAX_LOGS_PER_QUERY = 1000
