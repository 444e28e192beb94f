import { VeilError } from '@veil/protocol'

/** An HTTP-level refusal: a status, a stable code and a message (docs/protocol.md lists them). */
export class ApiError extends VeilError {
  override name = 'ApiError'
  readonly status: 400 | 404 | 413 | 503
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
