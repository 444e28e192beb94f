/**
 * The request-opening thread's own code: bundled by `open-thread.ts` into one CommonJS script and run in
 * a `worker_threads` Worker. It opens queries sealed to the worker's X25519 key (HPKE base mode) and
 * exports the answer's key, one message in and one message out per request.
 *
 * It imports only `@veil/crypto`, the same code the event loop runs when the thread is not there, so
 * both give identical bytes.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { setupBaseR } from '@veil/crypto'
import type { OpenJob, OpenResult, ThreadData } from './open-thread-protocol.js'

const port = parentPort
if (!port) throw new Error('the request-opening thread must run in a worker thread')
const data = workerData as ThreadData
const privateKey = Uint8Array.from(data.x25519PrivateKey)
data.x25519PrivateKey.fill(0) // the only copy left is this thread's own

// The info of a contract's queries is the same array for every request (see hpke-node's context cache).
const infos = new Map<string, Uint8Array>()

function open(job: OpenJob): OpenResult {
  try {
    let info = infos.get(job.infoKey)
    if (info === undefined) {
      info = new TextEncoder().encode(job.infoKey)
      if (infos.size >= 256) infos.clear()
      infos.set(job.infoKey, info)
    }
    const context = setupBaseR({ recipientPrivateKey: privateKey, enc: job.enc, info, aead: job.aead })
    const plaintext = context.open(job.ct)
    return { id: job.id, plaintext, key: context.export(job.keyLabel, job.keyLength) }
  } catch {
    // Tampered, truncated, or sealed to another key: the reason is not the caller's to learn.
    return { id: job.id }
  }
}

port.on('message', (job: OpenJob) => {
  port.postMessage(open(job))
})
port.postMessage({ ready: true })
