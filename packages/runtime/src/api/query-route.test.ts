import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWorkerApp, type WorkerApiSource } from './app.js'
import { ApiError } from './errors.js'
import { Limiter } from './limiter.js'
import type { WorkerMetrics } from './metrics.js'
import { createQueryRoute, MAX_REQUEST_BYTES } from './query-route.js'
import { type HttpServer, startHttpServer } from './server.js'

interface Reply {
  status: number
  contentType: string | undefined
  retryAfter: string | undefined
  body: unknown
}

/**
 * Sends a raw request on a connection of its own (a refused body may leave its connection closing);
 * `chunks` without `contentLength` go out chunked.
 */
function send(
  url: string,
  options: { method?: string; path?: string; chunks?: (string | Buffer)[]; contentLength?: number },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        agent: false,
        method: options.method ?? 'POST',
        path: options.path ?? '/v1/query',
        headers: {
          'content-type': 'application/json',
          ...(options.contentLength === undefined ? {} : { 'content-length': options.contentLength }),
        },
      },
      (res) => {
        const parts: Buffer[] = []
        res.on('data', (chunk: Buffer) => parts.push(chunk))
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8')
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'],
            retryAfter: res.headers['retry-after'],
            body: JSON.parse(text),
          })
        })
      },
    )
    req.on('error', reject)
    for (const chunk of options.chunks ?? []) req.write(chunk)
    req.end()
  })
}

/** The same source behind the Node route and behind the hono app alone: every answer must match. */
function sources() {
  const errors: string[] = []
  const metrics = { errors: { inc: ({ code }: { code: string }) => errors.push(code) } }
  const base = {
    info: () => {
      throw new Error('unused')
    },
    health: () => ({ phase: 'following' as const, lagBlocks: 0 }),
    metrics: metrics as unknown as WorkerMetrics,
  }
  const query = async (body: unknown) => {
    const b = body as { do?: string }
    if (b.do === 'replay') throw new ApiError(400, 'REPLAYED', 'this request was answered already')
    if (b.do === 'crash') throw new Error('secret detail')
    return { v: 1, echo: body }
  }
  return {
    errors,
    answering: { ...base, query } satisfies WorkerApiSource,
    starting: { ...base } satisfies WorkerApiSource,
    overloaded: { ...base, query, limiter: new Limiter(0, 0) } satisfies WorkerApiSource,
  }
}

describe('POST /v1/query on node:http', () => {
  const servers: HttpServer[] = []
  let routeHits = 0
  /** Each case's source, served by [route + hono, hono alone]. */
  const pairs = new Map<string, [string, string]>()
  const counted = { route: [] as string[], hono: [] as string[] }

  beforeAll(async () => {
    const route = sources()
    const hono = sources()
    counted.route = route.errors
    counted.hono = hono.errors
    for (const name of ['answering', 'starting', 'overloaded'] as const) {
      const fast = createQueryRoute(route[name])
      const withRoute = await startHttpServer(createWorkerApp(route[name]), {
        host: '127.0.0.1',
        port: 0,
        routes: [
          (req, res) => {
            const taken = fast(req, res)
            if (taken) routeHits++
            return taken
          },
        ],
      })
      const alone = await startHttpServer(createWorkerApp(hono[name]), { host: '127.0.0.1', port: 0 })
      servers.push(withRoute, alone)
      pairs.set(name, [withRoute.url, alone.url])
    }
  })
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()))
  })

  const big = 'x'.repeat(MAX_REQUEST_BYTES + 1)
  it.each<[string, string, Parameters<typeof send>[1], number, string | undefined, boolean]>([
    ['an answer', 'answering', { chunks: ['{"v":1,"n":[1,2]}'] }, 200, undefined, true],
    ['a body behind a BOM', 'answering', { chunks: ['\uFEFF{"v":1}'] }, 200, undefined, true],
    [
      'the path with a query string',
      'answering',
      { path: '/v1/query?x=1', chunks: ['{}'] },
      200,
      undefined,
      true,
    ],
    ['a body that is not JSON', 'answering', { chunks: ['{nope'] }, 400, 'BAD_REQUEST', true],
    ['an empty body', 'answering', { contentLength: 0 }, 400, 'BAD_REQUEST', true],
    ['a declared length over the limit', 'answering', { chunks: [big] }, 413, 'PAYLOAD_TOO_LARGE', true],
    [
      'a chunked body over the limit',
      'answering',
      { chunks: [big.slice(0, 600_000), big.slice(600_000)] },
      413,
      'PAYLOAD_TOO_LARGE',
      true,
    ],
    ['a refusal of the query service', 'answering', { chunks: ['{"do":"replay"}'] }, 400, 'REPLAYED', true],
    ['an internal failure', 'answering', { chunks: ['{"do":"crash"}'] }, 500, 'INTERNAL', true],
    ['a worker not following yet', 'starting', { chunks: ['{}'] }, 503, 'NOT_READY', true],
    ['a full limiter', 'overloaded', { chunks: ['{}'] }, 503, 'OVERLOADED', true],
    ['another method', 'answering', { method: 'GET' }, 404, 'NOT_FOUND', false],
  ])('answers %s as the hono app does', async (_, name, options, status, code, routed) => {
    const [withRoute, alone] = pairs.get(name) ?? ['', '']
    const sized =
      options.chunks && !(options.chunks.length > 1)
        ? { ...options, contentLength: Buffer.byteLength(options.chunks.join('')) }
        : options
    const hitsBefore = routeHits
    const fast = await send(withRoute, sized)
    const reference = await send(alone, sized)
    expect(routeHits - hitsBefore).toBe(routed ? 1 : 0)
    expect(fast).toEqual(reference)
    expect(fast.status).toBe(status)
    expect(fast.contentType).toMatch(/^application\/json/)
    if (code) expect(fast.body).toMatchObject({ ok: false, error: { code } })
    if (status === 503) expect(fast.retryAfter).toBe('1')
    if (status === 500) expect(JSON.stringify(fast.body)).not.toContain('secret detail')
  })

  it('counts the same error codes either way', () => {
    expect(counted.route.length).toBeGreaterThan(0)
    expect(counted.route).toEqual(counted.hono)
  })
})
