import { type ContractEvent, decodeValue, type Hex, VeilError } from '@veil/protocol'
import type { VeilBaseClient } from '../client/baseClient.js'
import { noteCommandBlock } from '../client/writes.js'
import {
  type AbortedError,
  type ContractErrorInfo,
  ReceiptTimeoutError,
  ResponseIntegrityError,
  WorkerRequestError,
  WorkersUnavailableError,
} from '../errors.js'
import { sleep } from '../utils/sleep.js'
import {
  type CommandOutcomeBody,
  openCommandReceipt,
  parseEvents,
  parseOutcomeBody,
} from '../wire/command.js'
import { getWorkerPool } from '../workers/getWorkerPool.js'
import { requestWorkerJson } from '../workers/http.js'
import type { WorkerRef } from '../workers/types.js'
import type { SubmittedCommand } from './submitCommand.js'

export interface WaitForCommandResultParameters {
  command: SubmittedCommand
  /** Default: the client's `receiptTimeoutMs` (60 s). */
  timeoutMs?: number | undefined
  signal?: AbortSignal | undefined
}

/** What every worker of the cluster recorded for a command. */
export interface CommandResultMeta {
  contractId: bigint
  method: string
  txHash: Hex
  blockNumber: bigint
  logIndex: number
  seq: bigint
  /** Fuel the command used. */
  fuel: number
  /**
   * On a network with billing: what the fuel cost the contract's balance, in VEIL base units (absent
   * when nothing was charged).
   */
  charge?: bigint
  /** Events the command emitted (none when it failed). */
  events: ContractEvent[]
  /** The cluster's state digest right after the command. */
  stateDigest: Hex
  /** The worker that served the receipt. */
  worker: WorkerRef
}

/** A command's outcome: its result, or the contract's error (a failed command changed nothing). */
export type CommandResult<T = unknown> = CommandResultMeta &
  ({ ok: true; result: T } | { ok: false; error: ContractErrorInfo })

export type WaitForCommandResultReturnType = CommandResult
export type WaitForCommandResultErrorType = ReceiptTimeoutError | ResponseIntegrityError | AbortedError

/** A worker that has not executed the command's block yet: ask the next one, then poll again. */
class ReceiptPendingError extends VeilError {
  override name = 'ReceiptPendingError'
  constructor(worker: string) {
    super(`worker ${worker} has no receipt yet`, { code: 'RECEIPT_PENDING' })
  }
}

interface ReceiptEntry {
  logIndex: number
  fuel: number
  charge?: bigint
  stateDigest: Hex
  /** Events served in clear next to a sealed body (tagged JSON), if any. */
  events: unknown
  sealed?: string
  plain?: unknown
}

/**
 * Fetches a submitted command's receipt from a worker of the contract's cluster (`GET
 * /v1/receipts/:txHash`), retrying until a worker has executed its block, and opens it with the
 * command's receipt key. Resolves with the result or the contract's error; throws only when no result
 * could be obtained.
 *
 * @example
 * const result = await waitForCommandResult(client, { command: submitted })
 * if (result.ok) console.log(result.result, result.fuel)
 */
export async function waitForCommandResult(
  client: VeilBaseClient,
  params: WaitForCommandResultParameters,
): Promise<WaitForCommandResultReturnType> {
  const { command } = params
  const timeoutMs = params.timeoutMs ?? client.config.receiptTimeoutMs
  const deadline = client.config.clock.now() + timeoutMs
  const pool = getWorkerPool(client, command.cluster)
  const action = `fetching the receipt of ${command.txHash}`
  for (;;) {
    try {
      const { worker, entry } = await pool.run(
        action,
        async (worker) => {
          const json = await requestWorkerJson(worker.url, `/v1/receipts/${command.txHash}`, {
            fetch: client.config.fetch,
            timeoutMs: client.config.requestTimeoutMs,
            signal: params.signal,
          })
          const entry = findEntry(worker.url, json, command)
          if (!entry) throw new ReceiptPendingError(worker.url)
          return { worker: { address: worker.address, url: worker.url }, entry }
        },
        {
          signal: params.signal,
          classify: (error) =>
            error instanceof ReceiptPendingError ||
            (error instanceof WorkerRequestError &&
              (error.code === 'RECEIPT_NOT_FOUND' ||
                error.code === 'NOT_FOUND' ||
                error.code === 'UNKNOWN_CONTRACT'))
              ? 'next'
              : undefined,
        },
      )
      const body = await openEntry(client, worker.url, command, entry)
      const meta: CommandResultMeta = {
        contractId: command.contractId,
        method: command.method,
        txHash: command.txHash,
        blockNumber: command.blockNumber,
        logIndex: command.logIndex,
        seq: command.seq,
        fuel: entry.fuel,
        ...(entry.charge === undefined ? {} : { charge: entry.charge }),
        events: body.events,
        stateDigest: entry.stateDigest,
        worker,
      }
      noteCommandBlock(client, command.contractId, command.blockNumber)
      return body.ok ? { ...meta, ok: true, result: body.result } : { ...meta, ok: false, error: body.error }
    } catch (error) {
      if (!(error instanceof WorkersUnavailableError)) throw error
      if (client.config.clock.now() >= deadline) {
        throw new ReceiptTimeoutError(command.txHash, timeoutMs, { cause: error })
      }
    }
    await sleep(client.config.pollingIntervalMs, params.signal, action)
  }
}

function findEntry(worker: string, json: unknown, command: SubmittedCommand): ReceiptEntry | undefined {
  const receipts = (json as { receipts?: unknown } | null)?.receipts
  if (!Array.isArray(receipts))
    throw new ResponseIntegrityError(worker, 'the receipts answer has no "receipts" list')
  for (const item of receipts) {
    const r = item as Record<string, unknown> | null
    if (typeof r !== 'object' || r === null || r.logIndex !== command.logIndex) continue
    if (typeof r.contract === 'string' && r.contract !== String(command.contractId)) continue
    const stateDigest = typeof r.stateDigest === 'string' ? (r.stateDigest as Hex) : ('0x' as Hex)
    const fuel = typeof r.fuel === 'number' ? r.fuel : 0
    const charge = typeof r.charge === 'string' && /^\d{1,78}$/.test(r.charge) ? BigInt(r.charge) : undefined
    const base = {
      logIndex: command.logIndex,
      fuel,
      ...(charge === undefined ? {} : { charge }),
      stateDigest,
      events: r.events,
    }
    if (typeof r.sealed === 'string') return { ...base, sealed: r.sealed }
    return { ...base, plain: r }
  }
  return undefined
}

async function openEntry(
  client: VeilBaseClient,
  worker: string,
  command: SubmittedCommand,
  entry: ReceiptEntry,
): Promise<CommandOutcomeBody & { events: ContractEvent[] }> {
  try {
    if (entry.sealed !== undefined) {
      const body = await openCommandReceipt({
        hpke: client.config.hpke,
        receiptKey: command.receiptKey,
        txHash: command.txHash,
        logIndex: command.logIndex,
        sealed: entry.sealed,
      })
      // Events are public: served in clear next to the sealed body (an older draft sealed them inside).
      const clear =
        entry.events === undefined ? [] : parseEvents(decodeValue(JSON.stringify(entry.events), 'events'))
      return { ...body, events: body.events ?? clear ?? [] }
    }
    // A plain command's fields are in clear; values keep the canonical encoding's tags.
    const body = parseOutcomeBody(decodeValue(JSON.stringify(entry.plain), 'receipt'))
    return { ...body, events: body.events ?? [] }
  } catch (error) {
    throw new ResponseIntegrityError(
      worker,
      `the receipt of ${command.txHash}:${command.logIndex} does not open: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    )
  }
}
