import type { Hex } from '@veil/protocol'
import { Hono } from 'hono'

/** The worker phases a client or operator can observe through `/healthz`. */
export type WorkerPhase = 'starting' | 'registering' | 'following' | 'stopping' | 'failed'

export interface WorkerInfo {
  version: string
  address: Hex
  x25519: Hex
  measurement: Hex
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

/** What the API reads from the running worker. */
export interface WorkerApiSource {
  info(): WorkerInfo
  health(): WorkerHealth
}

/**
 * The worker's HTTP API as a hono app (`fetch(Request) → Response`); `server.ts` adapts it to Node.
 * Later issues add /v1/query, /v1/receipts, /v1/contracts and /metrics here.
 */
export function createWorkerApp(source: WorkerApiSource): Hono {
  const app = new Hono()
  app.get('/healthz', (c) => {
    const health = source.health()
    return c.json({ ok: health.phase === 'following', ...health }, health.phase === 'following' ? 200 : 503)
  })
  app.get('/v1/info', (c) => c.json(source.info()))
  app.notFound((c) =>
    c.json(
      { ok: false, error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` } },
      404,
    ),
  )
  app.onError((error, c) =>
    c.json({ ok: false, error: { code: 'INTERNAL', message: 'internal error' } }, 500, {
      'x-veil-error': error.name,
    }),
  )
  return app
}
