import type { VeilBaseClient } from '../client/baseClient.js'
import { ResponseIntegrityError } from '../errors.js'
import { requestWorkerJson } from '../workers/http.js'
import type { WorkerReport } from '../workers/types.js'
import { parseWorkerReport } from '../workers/verifyWorker.js'

export interface GetWorkerInfoParameters {
  /** The worker's endpoint URL. */
  url: string
  signal?: AbortSignal | undefined
}

export type GetWorkerInfoReturnType = WorkerReport

/**
 * Fetches a worker's `GET /v1/info`: identity, X25519 key, measurement, cluster, chain cursor, state
 * digest. Nothing is verified here; `defaultVerifyWorker` compares it with the registry.
 *
 * @example
 * const info = await getWorkerInfo(client, { url: 'http://127.0.0.1:8600' })
 */
export async function getWorkerInfo(
  client: VeilBaseClient,
  params: GetWorkerInfoParameters,
): Promise<GetWorkerInfoReturnType> {
  const json = await requestWorkerJson(params.url, '/v1/info', {
    fetch: client.config.fetch,
    timeoutMs: client.config.requestTimeoutMs,
    signal: params.signal,
  })
  try {
    return parseWorkerReport(json)
  } catch (error) {
    throw new ResponseIntegrityError(params.url, error instanceof Error ? error.message : String(error))
  }
}
