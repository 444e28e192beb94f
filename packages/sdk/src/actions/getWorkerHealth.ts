import type { VeilBaseClient } from '../client/baseClient.js'
import { joinUrl } from '../workers/http.js'

export interface GetWorkerHealthParameters {
  url: string
  signal?: AbortSignal | undefined
}

/** A worker's `/healthz`, or why it could not be read. */
export interface WorkerHealth {
  reachable: boolean
  /** `following` when healthy; `starting`, `registering`, `failed`, … otherwise. */
  phase: string | null
  lagBlocks: number | null
  error: { code: string; message: string } | null
}

export type GetWorkerHealthReturnType = WorkerHealth

/**
 * Reads a worker's health (`GET /healthz`). Never throws for an unhealthy or unreachable worker: that
 * is the answer.
 *
 * @example
 * const health = await getWorkerHealth(client, { url: worker.url })
 * if (health.phase !== 'following') console.warn(worker.url, health.error?.message)
 */
export async function getWorkerHealth(
  client: VeilBaseClient,
  params: GetWorkerHealthParameters,
): Promise<GetWorkerHealthReturnType> {
  const unreachable = (message: string, code = 'WORKER_UNAVAILABLE'): WorkerHealth => ({
    reachable: false,
    phase: null,
    lagBlocks: null,
    error: { code, message },
  })
  let response: Response
  const timeoutMs = client.config.requestTimeoutMs
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    response = await Promise.race([
      client.config.fetch(joinUrl(params.url, '/healthz'), params.signal ? { signal: params.signal } : {}),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
      }),
    ])
  } catch (error) {
    return unreachable(error instanceof Error ? error.message : String(error))
  } finally {
    clearTimeout(timer)
  }
  let body: Record<string, unknown>
  try {
    body = (await response.json()) as Record<string, unknown>
  } catch {
    return unreachable(`HTTP ${response.status} without a JSON body`, 'RESPONSE_INVALID')
  }
  const error = body.error as { code?: unknown; message?: unknown } | undefined
  return {
    reachable: true,
    phase: typeof body.phase === 'string' ? body.phase : null,
    lagBlocks: typeof body.lagBlocks === 'number' ? body.lagBlocks : null,
    error:
      error && typeof error.code === 'string'
        ? { code: error.code, message: typeof error.message === 'string' ? error.message : error.code }
        : null,
  }
}
