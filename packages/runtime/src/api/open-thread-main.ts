/**
 * The request-opening thread's own code: bundled by `open-thread.ts` into one CommonJS script and run in
 * a `worker_threads` Worker. It opens queries sealed to the worker's X25519 key (HPKE base mode) and
 * exports the answer's key, one message in and one message out per request.
 *
 * It runs `openOnEventLoop` with `openSealedRequest`: the very code the event loop runs when the thread
 * is not there, so both give identical bytes.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { openSealedRequest } from './crypto.js'
import type { OpenJob, OpenResult, ThreadData } from './open-thread-protocol.js'
import { openOnEventLoop } from './request-opener.js'

const port = parentPort
if (!port) throw new Error('the request-opening thread must run in a worker thread')
const data = workerData as ThreadData
const privateKey = Uint8Array.from(data.x25519PrivateKey)
data.x25519PrivateKey.fill(0) // the only copy left is this thread's own

// The very function the event loop opens with when the thread is not there.
const openHere = openOnEventLoop({ openRequest: openSealedRequest }, privateKey)

function open(job: OpenJob): OpenResult {
  try {
    return { id: job.id, ...openHere(job) }
  } catch {
    // Tampered, truncated, or sealed to another key: the reason is not the caller's to learn.
    return { id: job.id }
  }
}

port.on('message', (job: OpenJob) => {
  port.postMessage(open(job))
})
port.postMessage({ ready: true })
