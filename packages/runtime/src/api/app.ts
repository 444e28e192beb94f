import type { Hex } from '@veil/protocol'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { ApiError, errorReply } from './errors.js'
import type { Limiter } from './limiter.js'
import type { WorkerMetrics } from './metrics.js'
import { answerQuery, MAX_REQUEST_BYTES, payloadTooLarge } from './query-route.js'

/** The worker phases a client or operator can observe through `/healthz`. */
export type WorkerPhase = 'starting' | 'registering' | 'following' | 'stopping' | 'failed'

export interface WorkerInfo {
  version: string
  address: Hex
  x25519: Hex
  measurement: Hex | null
  /** The TEE kind and this worker's quote over its key binding (base64url), once started. */
  tee: 'simulated' | 'tdx' | null
  quote: string | null
  cluster: string | null
  chain: { block: string | null; hash: Hex | null }
  stateDigest: Hex | null
}

export interface WorkerHealth {
  phase: WorkerPhase
  /** Blocks between the chain head and the worker's cursor, when following. */
  lagBlocks?: number
  error?: { code: string; message: string }
}

/** What the API reads from the running worker. Optional parts answer 503 NOT_READY until present. */
export interface WorkerApiSource {
  info(): WorkerInfo
  health(): WorkerHealth
  /** The receipts JSON of a transaction (docs/protocol.md), or undefined when unknown. */
  receipts?(txHash: Hex): unknown | undefined
  /** A deployed contract's public description, or undefined when this worker does not run it. */
  contract?(id: string): Promise<unknown | undefined>
  /** Answers a sealed query request body; throws ApiError to refuse it. */
  query?(body: unknown): Promise<unknown>
  metrics?: WorkerMetrics
  /** Bounds concurrent queries. */
  limiter?: Limiter
}

const TX_HASH = /^0x[0-9a-fA-F]{64}$/
const CONTRACT_ID = /^[1-9][0-9]{0,19}$/

/**
 * The worker's HTTP API as a hono app (`fetch(Request) → Response`); `server.ts` adapts it to Node and
 * adds the WebSocket route. Every error is `{ ok: false, error: { code, message } }`.
 */
export function createWorkerApp(source: WorkerApiSource): Hono {
  const app = new Hono()
  const notReady = () =>
    new ApiError(503, 'NOT_READY', 'the worker is not following the chain yet', { retryAfterSeconds: 1 })

  app.get('/healthz', (c) => {
    const health = source.health()
    return c.json({ ok: health.phase === 'following', ...health }, health.phase === 'following' ? 200 : 503)
  })
  app.get('/v1/info', (c) => c.json(source.info()))

  app.get('/v1/receipts/:txHash', (c) => {
    const txHash = c.req.param('txHash')
    if (!TX_HASH.test(txHash))
      throw new ApiError(400, 'BAD_REQUEST', 'the transaction hash must be 0x followed by 64 hex digits')
    if (!source.receipts) throw notReady()
    const receipts = source.receipts(txHash.toLowerCase() as Hex)
    if (receipts === undefined) {
      throw new ApiError(
        404,
        'RECEIPT_NOT_FOUND',
        `no receipt for ${txHash} (not a Veil transaction, or not processed yet)`,
      )
    }
    return c.json(receipts)
  })

  app.get('/v1/contracts/:id', async (c) => {
    const id = c.req.param('id')
    if (!CONTRACT_ID.test(id))
      throw new ApiError(400, 'BAD_REQUEST', 'the contract id must be a positive integer')
    if (!source.contract) throw notReady()
    const contract = await source.contract(id)
    if (contract === undefined)
      throw new ApiError(404, 'UNKNOWN_CONTRACT', `contract ${id} is not deployed to this worker's cluster`)
    return c.json(contract)
  })

  app.post(
    '/v1/query',
    bodyLimit({
      maxSize: MAX_REQUEST_BYTES,
      onError: () => {
        throw payloadTooLarge()
      },
    }),
    // The worker's server answers this route on node:http directly (`createQueryRoute`), alike.
    async (c) => c.json(await answerQuery(source, () => c.req.text())),
  )

  app.get('/metrics', async (c) => {
    if (!source.metrics) throw notReady()
    return c.body(await source.metrics.registry.metrics(), 200, {
      'content-type': source.metrics.registry.contentType,
    })
  })

  app.notFound((c) =>
    c.json(
      { ok: false, error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` } },
      404,
    ),
  )
  app.onError((error, c) => {
    const reply = errorReply(error, source.metrics)
    return c.json(reply.body, reply.status, reply.headers)
  })
  return app
}
