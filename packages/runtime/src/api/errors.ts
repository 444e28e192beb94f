import { VeilError } from '@veil/protocol'
import type { WorkerMetrics } from './metrics.js'

/** An HTTP-level refusal: a status, a stable code and a message (docs/protocol.md lists them). */
export class ApiError extends VeilError {
  override name = 'ApiError'
  readonly status: 400 | 402 | 404 | 413 | 503
  readonly retryAfterSeconds: number | undefined

  constructor(
    status: ApiError['status'],
    code: string,
    message: string,
    options: { retryAfterSeconds?: number } = {},
  ) {
    super(message, { code })
    this.status = status
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

/** What an error answers over HTTP: a status, headers and `{ ok: false, error: { code, message } }`. */
export interface ErrorReply {
  status: ApiError['status'] | 500
  headers: Record<string, string>
  body: { ok: false; error: { code: string; message: string } }
}

/**
 * The reply to an error, counted in `veil_errors_total` by code: an `ApiError` says what it is (with
 * `Retry-After` when it has one), anything else is a 500 that never echoes internal details (they may
 * carry state). The hono app and the Node query route both answer through this.
 */
export function errorReply(error: unknown, metrics?: Pick<WorkerMetrics, 'errors'>): ErrorReply {
  if (error instanceof ApiError) {
    metrics?.errors.inc({ code: error.code })
    return {
      status: error.status,
      headers:
        error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) },
      body: { ok: false, error: { code: error.code, message: error.shortMessage } },
    }
  }
  metrics?.errors.inc({ code: 'INTERNAL' })
  return {
    status: 500,
    headers: {},
    body: { ok: false, error: { code: 'INTERNAL', message: 'internal error' } },
  }
}
