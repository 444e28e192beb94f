import { describe, expect, it } from 'vitest'
import {
  AbortedError,
  ResponseIntegrityError,
  WorkerRequestError,
  WorkerUnavailableError,
} from '../errors.js'
import { type FetchFn, joinUrl, requestWorkerJson } from './http.js'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

const call = (fetch: FetchFn, timeoutMs = 1_000, signal?: AbortSignal) =>
  requestWorkerJson('http://w', '/v1/x', { fetch, timeoutMs, signal })

describe('requestWorkerJson', () => {
  it('returns the JSON of a 2xx and sends JSON bodies', async () => {
    let seen: RequestInit | undefined
    const result = await requestWorkerJson('http://w/', '/v1/query', {
      method: 'POST',
      body: { a: 1 },
      timeoutMs: 1_000,
      fetch: async (url, init) => {
        expect(url).toBe('http://w/v1/query')
        seen = init
        return json(200, { ok: true })
      },
    })
    expect(result).toEqual({ ok: true })
    expect(seen?.method).toBe('POST')
    expect(seen?.body).toBe('{"a":1}')
  })

  it('turns a 4xx protocol error into WorkerRequestError with the worker’s code', async () => {
    const error = await call(async () =>
      json(400, { ok: false, error: { code: 'REPLAYED', message: 'again' } }),
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerRequestError)
    expect(error).toMatchObject({ code: 'REPLAYED', status: 400, worker: 'http://w' })
    const plain = await call(async () => new Response('nope', { status: 418 })).catch((e: unknown) => e)
    expect(plain).toMatchObject({ code: 'HTTP_418' })
  })

  it('treats connection failures, 5xx and timeouts as WorkerUnavailableError (fail over)', async () => {
    const refused = await call(async () => {
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })
    }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(WorkerUnavailableError)
    expect((refused as Error).message).toContain('ECONNREFUSED')

    const busy = await call(async () =>
      json(503, { ok: false, error: { code: 'OVERLOADED', message: 'busy' } }),
    ).catch((e: unknown) => e)
    expect(busy).toBeInstanceOf(WorkerUnavailableError)
    expect(busy).toMatchObject({ status: 503 })
    expect((busy as Error).message).toContain('OVERLOADED')

    const slow = await call(() => new Promise<Response>(() => {}), 20).catch((e: unknown) => e)
    expect(slow).toBeInstanceOf(WorkerUnavailableError)
    expect((slow as Error).message).toContain('no answer within 20 ms')
  })

  it('aborts the fetch on timeout', async () => {
    let aborted = false
    await call(
      (_url, init) =>
        new Promise<Response>((_, reject) => {
          init?.signal?.addEventListener('abort', () => {
            aborted = true
            reject(new Error('aborted'))
          })
        }),
      10,
    ).catch(() => undefined)
    expect(aborted).toBe(true)
  })

  it('refuses a 2xx that is not JSON with ResponseIntegrityError', async () => {
    await expect(call(async () => new Response('<html>', { status: 200 }))).rejects.toBeInstanceOf(
      ResponseIntegrityError,
    )
  })

  it('stops with AbortedError when the caller aborts', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(call(async () => json(200, {}), 1_000, controller.signal)).rejects.toBeInstanceOf(
      AbortedError,
    )
  })

  it('joins endpoint and path with one slash', () => {
    expect(joinUrl('http://a:1/', '/v1/info')).toBe('http://a:1/v1/info')
    expect(joinUrl('http://a:1/base', 'v1/info')).toBe('http://a:1/base/v1/info')
  })
})
