import type { IncomingMessage, ServerResponse } from 'node:http'
import type { WorkerApiSource } from './app.js'
import { ApiError, errorReply } from './errors.js'
import type { NodeRoute } from './server.js'

/** Largest request body accepted (a sealed query carries its arguments). */
export const MAX_REQUEST_BYTES = 1024 * 1024

const QUERY_PATH = '/v1/query'
// Like `Request.text()`: UTF-8, a leading BOM dropped, malformed bytes replaced (JSON.parse then refuses).
const utf8 = new TextDecoder()

/** The refusal of a body over {@link MAX_REQUEST_BYTES}. */
export function payloadTooLarge(): ApiError {
  return new ApiError(413, 'PAYLOAD_TOO_LARGE', `request bodies are limited to ${MAX_REQUEST_BYTES} bytes`)
}

/**
 * `POST /v1/query` once the body is within the limit: what the hono route and the Node route both run,
 * so they answer alike. Throws `ApiError` to refuse (503 before the worker can answer, 400 for a body that
 * is not JSON, 503 OVERLOADED from the limiter, and whatever the query service refuses).
 */
export async function answerQuery(
  source: WorkerApiSource,
  readBody: () => Promise<string>,
): Promise<unknown> {
  const query = source.query
  if (!query)
    throw new ApiError(503, 'NOT_READY', 'the worker is not following the chain yet', {
      retryAfterSeconds: 1,
    })
  let body: unknown
  try {
    body = JSON.parse(await readBody())
  } catch {
    throw new ApiError(400, 'BAD_REQUEST', 'the request body is not valid JSON')
  }
  const run = () => query(body)
  return source.limiter ? source.limiter.run(run) : run()
}

/**
 * `POST /v1/query` straight on node:http, ahead of the hono app: the same checks, statuses, codes and JSON
 * bodies (`answerQuery`, `errorReply`), without adapting each request to a fetch `Request` and the answer
 * back from a `Response`, which cost more than a third of the worker's time per query. Every other request
 * (other paths and methods) goes on to the hono app.
 */
export function createQueryRoute(source: WorkerApiSource): NodeRoute {
  return (req, res) => {
    const url = req.url ?? ''
    if (req.method !== 'POST' || !(url === QUERY_PATH || url.startsWith(`${QUERY_PATH}?`))) return false
    void serveQuery(source, req, res)
    return true
  }
}

async function serveQuery(source: WorkerApiSource, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let status = 200
  let headers: Record<string, string> = {}
  let body: unknown
  try {
    const text = await readBody(req)
    body = await answerQuery(source, async () => text)
  } catch (error) {
    if (error instanceof BodyReadError) {
      res.destroy() // the client went away mid-body: nobody to answer
      return
    }
    const reply = errorReply(error, source.metrics)
    ;({ status, headers, body } = reply)
  }
  const json = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
    ...headers,
  })
  res.end(json)
  // A refused body may still be arriving: read what is left, within bounds, before the connection serves
  // another request.
  if (!req.complete) res.once('finish', () => drainRefusedBody(req))
}

const DRAIN_TIMEOUT_MS = 500
const MAX_DRAIN_BYTES = 64 * 1024 * 1024

/**
 * Discards the rest of a refused body, then lets the connection go on; closes it instead if the rest is
 * larger than `MAX_DRAIN_BYTES` or takes longer than `DRAIN_TIMEOUT_MS` (what `@hono/node-server` does).
 */
function drainRefusedBody(req: IncomingMessage): void {
  let bytes = 0
  const done = () => {
    clearTimeout(timer)
    req.off('data', onData)
    req.off('end', done)
    req.off('error', done)
  }
  const close = () => {
    done()
    req.socket.destroySoon()
  }
  const onData = (chunk: Buffer) => {
    bytes += chunk.length
    if (bytes > MAX_DRAIN_BYTES) close()
  }
  const timer = setTimeout(close, DRAIN_TIMEOUT_MS)
  req.on('data', onData)
  req.on('end', done)
  req.on('error', done)
  req.resume()
}

class BodyReadError extends Error {}

/**
 * Reads the body as text within the limit, as hono's `bodyLimit` does: a declared `content-length` over the
 * limit (without `transfer-encoding`) is refused before reading; otherwise the bytes are counted as they
 * arrive, and reading stops at the first byte over the limit.
 */
function readBody(req: IncomingMessage): Promise<string> {
  const declared = req.headers['content-length']
  if (declared !== undefined && req.headers['transfer-encoding'] === undefined) {
    if (Number.parseInt(declared, 10) > MAX_REQUEST_BYTES) return Promise.reject(payloadTooLarge())
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_REQUEST_BYTES) {
        req.off('data', onData)
        req.off('end', onEnd)
        reject(payloadTooLarge())
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => resolve(utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)))
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', (error) => reject(new BodyReadError(error.message)))
    req.on('close', () => {
      if (!req.complete) reject(new BodyReadError('the request closed before its body ended'))
    })
  })
}
