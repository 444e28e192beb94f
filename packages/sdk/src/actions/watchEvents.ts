import { decodeValue, type Hex, type VeilError } from '@veil/protocol'
import type { VeilBaseClient, WebSocketLike } from '../client/baseClient.js'
import { ClientConfigError, SubscriptionError, WorkerUnavailableError } from '../errors.js'
import { sleep } from '../utils/sleep.js'
import { getWorkerPool } from '../workers/getWorkerPool.js'
import { joinUrl } from '../workers/http.js'
import type { RegisteredWorker, WorkerRef, WorkerSelector } from '../workers/types.js'
import { getContractCluster, toContractId } from './getContractInfo.js'

/** One event a contract command emitted (`ctx.emit`), as a worker streams it. */
export interface ContractEventMessage {
  contractId: bigint
  block: bigint
  txHash: Hex
  logIndex: number
  name: string
  data: unknown
  /** The worker that delivered it. */
  worker: WorkerRef
}

export interface WatchEventsParameters {
  contractId: bigint | number | string
  onEvent: (event: ContractEventMessage) => void
  /**
   * Called when no worker could be reached for a few consecutive attempts (the subscription keeps
   * retrying with back-off until unwatched), or when a message is malformed.
   */
  onError?: ((error: VeilError) => void) | undefined
  /** Called whenever the subscription is (re)connected to a worker. */
  onOpen?: ((worker: WorkerRef) => void) | undefined
  /** Only events with these names. */
  names?: readonly string[] | undefined
  /** Subscribe at this worker only (reconnects to it, never to another). */
  worker?: WorkerSelector | undefined
  signal?: AbortSignal | undefined
}

/** Stops the subscription. */
export type WatchEventsReturnType = () => void

type Position = readonly [block: bigint, logIndex: number, ordinal: number]

/** Consecutive failed connection rounds (≈ 250 + 500 + 1000 ms of back-off) before `onError` hears of it. */
const REPORT_AFTER_ROUNDS = 3

/**
 * Subscribes to a contract's events over WebSocket (`/v1/contracts/:id/events`) at one worker of its
 * cluster. When the connection fails or drops, it moves to another worker; events the previous worker
 * already delivered are not delivered twice (every worker streams the same events in the same order).
 *
 * @example
 * const unwatch = watchEvents(client, { contractId: 1n, onEvent: (e) => console.log(e.name, e.data) })
 * // later
 * unwatch()
 */
export function watchEvents(client: VeilBaseClient, params: WatchEventsParameters): WatchEventsReturnType {
  const WebSocketImpl = client.config.WebSocket
  if (!WebSocketImpl) {
    throw new ClientConfigError('no WebSocket implementation for event subscriptions', {
      hint: 'use the Node entry of @veil/sdk (it uses `ws`), or pass `WebSocket` to createClient',
    })
  }
  const contractId = toContractId(params.contractId)
  const stop = new AbortController()
  let socket: WebSocketLike | undefined
  let delivered: Position | undefined
  const onAbort = () => unwatch()
  params.signal?.addEventListener('abort', onAbort, { once: true })

  const unwatch = () => {
    if (stop.signal.aborted) return
    stop.abort()
    params.signal?.removeEventListener('abort', onAbort)
    socket?.close(1000, 'unsubscribed')
  }

  /** Opens a socket at `worker`; resolves once open with a promise that settles when it closes. */
  const open = (worker: RegisteredWorker) =>
    new Promise<Promise<void>>((resolve, reject) => {
      // Resuming (after a failover or a dropped connection): ask for what was published from the block of
      // the last event delivered; what was already delivered is dropped below, by position.
      const resume = delivered ? `?fromBlock=${delivered[0]}` : ''
      const url = joinUrl(worker.url.replace(/^http/, 'ws'), `/v1/contracts/${contractId}/events${resume}`)
      const ws = new WebSocketImpl(url)
      socket = ws
      const ref: WorkerRef = { address: worker.address, url: worker.url }
      let opened = false
      let last: { block: bigint; logIndex: number; ordinal: number } | undefined
      let closed: () => void = () => {}
      const done = new Promise<void>((r) => {
        closed = r
      })
      const timer = setTimeout(() => {
        ws.close()
        reject(
          new WorkerUnavailableError(
            worker.url,
            `WebSocket not open within ${client.config.requestTimeoutMs} ms`,
          ),
        )
      }, client.config.requestTimeoutMs)
      ws.addEventListener('open', () => {
        opened = true
        clearTimeout(timer)
        params.onOpen?.(ref)
        resolve(done)
      })
      const fail = (event: { message?: unknown }) => {
        clearTimeout(timer)
        if (!opened) {
          // Browsers say nothing about why; `ws` puts the reason (e.g. "Unexpected server response: 404") here.
          const why = typeof event.message === 'string' ? event.message : ''
          const status = /server response: (\d{3})/.exec(why)?.[1]
          reject(
            new WorkerUnavailableError(
              worker.url,
              `the event stream could not be opened${why ? ` (${why})` : ''}`,
              {
                ...(status ? { status: Number(status) } : {}),
              },
            ),
          )
        }
        closed()
      }
      ws.addEventListener('error', fail)
      ws.addEventListener('close', fail)
      ws.addEventListener('message', (event) => {
        if (stop.signal.aborted) return
        let message: ContractEventMessage
        try {
          message = parseEventMessage(event.data, contractId, ref)
        } catch (error) {
          params.onError?.(
            new SubscriptionError(`worker ${worker.url} sent a malformed event`, {
              details: error instanceof Error ? error.message : String(error),
            }),
          )
          return
        }
        const ordinal =
          last && last.block === message.block && last.logIndex === message.logIndex ? last.ordinal + 1 : 0
        last = { block: message.block, logIndex: message.logIndex, ordinal }
        const position: Position = [message.block, message.logIndex, ordinal]
        // After a failover the next worker may replay what the previous one delivered.
        if (delivered && compare(position, delivered) <= 0) return
        delivered = position
        if (params.names && !params.names.includes(message.name)) return
        params.onEvent(message)
      })
    })

  const run = async () => {
    let backoff = 250
    let failedRounds = 0
    while (!stop.signal.aborted) {
      try {
        const cluster = await getContractCluster(client, contractId)
        const pool = getWorkerPool(client, cluster)
        let current: RegisteredWorker | undefined
        const closed = await pool.run(
          `subscribing to contract ${contractId}`,
          async (worker) => {
            current = worker
            return open(worker)
          },
          {
            pin: params.worker,
            signal: stop.signal,
            // 404: the worker has not executed the deployment yet (the contract exists: the ledger says so).
            classify: (error) =>
              error instanceof WorkerUnavailableError && error.status === 404 ? 'next' : undefined,
          },
        )
        backoff = 250
        failedRounds = 0
        await closed
        // The stream ended without unwatch(): the worker went away. Prefer another one next.
        if (!stop.signal.aborted && current) pool.markDown(current)
      } catch (error) {
        if (stop.signal.aborted) return
        // A round can fail for a moment (workers catching up with a fresh deployment, a restart); only
        // persistent failure is worth reporting.
        if (++failedRounds >= REPORT_AFTER_ROUNDS) {
          params.onError?.(
            error instanceof SubscriptionError
              ? error
              : new SubscriptionError(`the events of contract ${contractId} are unreachable; retrying`, {
                  details: error instanceof Error ? error.message : String(error),
                  cause: error,
                }),
          )
        }
        await sleep(backoff, stop.signal).catch(() => undefined)
        backoff = Math.min(backoff * 2, 5_000)
      }
    }
  }
  void run()
  return unwatch
}

function parseEventMessage(data: unknown, contractId: bigint, worker: WorkerRef): ContractEventMessage {
  const text = typeof data === 'string' ? data : new TextDecoder().decode(data as Uint8Array)
  const m = decodeValue(text, 'event') as Record<string, unknown> | null
  if (typeof m !== 'object' || m === null) throw new Error('the event is not an object')
  const block = toBigInt(m.block)
  if (block === undefined) throw new Error('event "block" is not a number')
  if (typeof m.txHash !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(m.txHash))
    throw new Error('event "txHash" is invalid')
  if (typeof m.logIndex !== 'number') throw new Error('event "logIndex" is not a number')
  if (typeof m.name !== 'string') throw new Error('event "name" is not a string')
  if (m.contract !== undefined && String(m.contract) !== String(contractId))
    throw new Error('event of another contract')
  return {
    contractId,
    block,
    txHash: m.txHash as Hex,
    logIndex: m.logIndex,
    name: m.name,
    data: m.data ?? null,
    worker,
  }
}

function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value)
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value)
  return undefined
}

function compare(a: Position, b: Position): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1
  if (a[1] !== b[1]) return a[1] - b[1]
  return a[2] - b[2]
}
