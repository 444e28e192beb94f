import {
  AbortedError,
  ResponseIntegrityError,
  WorkerRequestError,
  WorkerUnavailableError,
} from '../errors.js'

/** The `fetch` the SDK uses (the global one by default; tests and proxies inject their own). */
export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>

export interface WorkerHttpOptions {
  fetch: FetchFn
  /** Per-request timeout. */
  timeoutMs: number
  signal?: AbortSignal | undefined
}

/**
 * One JSON request to a worker, with the failure classes the SDK acts on:
 * - `WorkerUnavailableError`: no connection, a timeout, a 5xx (incl. `503 NOT_READY`/`OVERLOADED`):
 *   the worker may be fine later, another worker may answer now;
 * - `WorkerRequestError`: a 4xx with the protocol's `{ ok: false, error: { code, message } }`;
 * - `ResponseIntegrityError`: a 2xx that is not JSON.
 */
export async function requestWorkerJson(
  baseUrl: string,
  path: string,
  options: WorkerHttpOptions & { method?: 'GET' | 'POST'; body?: unknown },
): Promise<unknown> {
  const url = joinUrl(baseUrl, path)
  if (options.signal?.aborted) throw new AbortedError(`request to ${url}`)
  const controller = typeof AbortController === 'function' ? new AbortController() : undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  const onAbort = () => controller?.abort()
  options.signal?.addEventListener('abort', onAbort, { once: true })
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller?.abort()
      reject(new WorkerUnavailableError(baseUrl, `no answer within ${options.timeoutMs} ms`))
    }, options.timeoutMs)
  })
  try {
    const exchange = async () => {
      let response: Response
      try {
        response = await options.fetch(url, {
          method: options.method ?? 'GET',
          headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
          ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
          ...(controller ? { signal: controller.signal } : {}),
        })
      } catch (error) {
        if (options.signal?.aborted) throw new AbortedError(`request to ${url}`)
        throw new WorkerUnavailableError(baseUrl, describeFetchError(error), { cause: error })
      }
      let text: string
      try {
        text = await response.text()
      } catch (error) {
        throw new WorkerUnavailableError(baseUrl, 'the connection broke while reading the answer', {
          status: response.status,
          cause: error,
        })
      }
      const json = parseJson(text)
      if (response.status >= 500) {
        const error = protocolError(json)
        throw new WorkerUnavailableError(
          baseUrl,
          error ? `${error.code}: ${error.message}` : `HTTP ${response.status}`,
          { status: response.status },
        )
      }
      if (response.status >= 400) {
        const error = protocolError(json) ?? { code: `HTTP_${response.status}`, message: text.slice(0, 200) }
        throw new WorkerRequestError(baseUrl, response.status, error)
      }
      if (json === undefined) throw new ResponseIntegrityError(baseUrl, `${path} did not return JSON`)
      return json
    }
    return await Promise.race([exchange(), timedOut])
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}

/** `base` + `path` with exactly one slash between them (registered endpoints may end in `/`). */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

function protocolError(json: unknown): { code: string; message: string } | undefined {
  const error = (json as { error?: unknown } | undefined)?.error as Record<string, unknown> | undefined
  if (typeof error !== 'object' || error === null || typeof error.code !== 'string') return undefined
  return { code: error.code, message: typeof error.message === 'string' ? error.message : error.code }
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause
  if (cause && typeof cause.code === 'string') return `connection failed (${cause.code})`
  return error instanceof Error ? error.message : String(error)
}
