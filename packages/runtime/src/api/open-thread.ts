/**
 * `OpenThread`: opens sealed queries on a second thread. Opening a query (an X25519 agreement, the HPKE
 * key schedule and an AEAD open) is the largest cost of an answer after the sandbox, and pure: bytes in,
 * bytes out. On the thread it runs beside the event loop, which keeps everything stateful (nonces,
 * billing, the sandbox, the state store) and signs answers (batched per turn, `answer-signer.ts`).
 *
 * Each request is posted as soon as it is parsed, and answered as soon as it is opened, so the thread
 * opens one request while the event loop runs the sandbox of another. (Batching the opens of a turn
 * instead made the two threads take turns: each waited for the other's whole batch.)
 *
 * If the thread cannot start, or dies, the event loop opens requests itself (`fallback`), the ones in
 * flight included: a query never fails because of the thread.
 */
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Logger } from '@veil/protocol'
import { bundledOnce, runtimeSource } from '../script-bundle.js'
import type { OpenJob, OpenResult, ThreadData } from './open-thread-protocol.js'
import type { OpenedRequest, OpenParams, RequestOpener } from './request-opener.js'

/** The request does not open with the worker's key (tampered, truncated, or sealed to another key). */
export class RequestNotOpenedError extends Error {
  override name = 'RequestNotOpenedError'
  constructor() {
    super('the request does not open with this worker’s key')
  }
}

export interface OpenThreadOptions {
  x25519PrivateKey: Uint8Array
  /** The same work on the event loop (`openOnEventLoop`); throws if the request does not open. */
  fallback(params: OpenParams): OpenedRequest
  logger: Logger
  /** How long the thread may take to start before the event loop is used instead (default 15 s). */
  startTimeoutMs?: number
}

interface Pending {
  params: OpenParams
  resolve(opened: OpenedRequest): void
  reject(error: unknown): void
}

const STOP_GRACE_MS = 2_000

export class OpenThread implements RequestOpener {
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private stopping = false
  private drained: (() => void) | undefined

  private constructor(
    private thread: Worker | undefined,
    private readonly options: OpenThreadOptions,
  ) {
    if (thread) this.attach(thread)
  }

  /**
   * Starts the thread and waits until it serves. Never rejects: a thread that cannot start is logged,
   * and the returned instance opens requests on the event loop.
   */
  static async start(options: OpenThreadOptions): Promise<OpenThread> {
    let thread: Worker | undefined
    try {
      const source = await threadSource()
      const key = new Uint8Array(new ArrayBuffer(options.x25519PrivateKey.length))
      key.set(options.x25519PrivateKey)
      const data: ThreadData & { requireBase: string } = { x25519PrivateKey: key, requireBase: requireBase() }
      // Moved, not copied: no second copy of the key stays behind in this thread's heap.
      thread = new Worker(source, { eval: true, workerData: data, transferList: [key.buffer] })
      thread.unref() // never what keeps a stopped worker's process alive
      await waitReady(thread, options.startTimeoutMs ?? 15_000)
      return new OpenThread(thread, options)
    } catch (error) {
      void thread?.terminate()
      options.logger.warn('queries are opened on the event loop: the opening thread did not start', {
        error: error instanceof Error ? error.message : String(error),
      })
      return new OpenThread(undefined, options)
    }
  }

  /** True while the thread opens requests (false: the event loop does). */
  get threaded(): boolean {
    return this.thread !== undefined
  }

  /** Opens a request sealed to the worker's key; rejects with {@link RequestNotOpenedError} if it does not open. */
  open(params: OpenParams): Promise<OpenedRequest> {
    const thread = this.thread
    if (!thread) {
      try {
        return Promise.resolve(this.openHere(params))
      } catch (error) {
        return Promise.reject(error)
      }
    }
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { params, resolve, reject })
      const job: OpenJob = { id, ...params }
      thread.postMessage(job)
    })
  }

  /** Finishes the opens in flight (within a grace period), then ends the thread. */
  async stop(): Promise<void> {
    this.stopping = true
    const thread = this.thread
    if (!thread) return
    if (this.pending.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, STOP_GRACE_MS)
        this.drained = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
    this.thread = undefined
    this.openPendingHere() // whatever the grace period did not cover
    await thread.terminate()
  }

  private attach(thread: Worker): void {
    thread.on('message', (result: OpenResult) => {
      const entry = this.pending.get(result.id)
      if (!entry) return
      this.pending.delete(result.id)
      if (result.plaintext && result.key) entry.resolve({ plaintext: result.plaintext, key: result.key })
      else entry.reject(new RequestNotOpenedError())
      if (this.pending.size === 0) this.drained?.()
    })
    const lost = (reason: string) => {
      if (this.thread !== thread) return
      this.thread = undefined
      if (!this.stopping)
        this.options.logger.error('the request-opening thread ended; the event loop opens requests now', {
          reason,
        })
      this.openPendingHere()
    }
    thread.on('error', (error) => lost(error.message))
    thread.on('exit', (code) => lost(`exit code ${code}`))
  }

  private openPendingHere(): void {
    const entries = [...this.pending.values()]
    this.pending.clear()
    for (const entry of entries) {
      try {
        entry.resolve(this.openHere(entry.params))
      } catch (error) {
        entry.reject(error)
      }
    }
    this.drained?.()
  }

  private openHere(params: OpenParams): OpenedRequest {
    try {
      return this.options.fallback(params)
    } catch {
      throw new RequestNotOpenedError()
    }
  }
}

function waitReady(thread: Worker, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
    const onMessage = (message: { ready?: unknown }) => {
      if (message?.ready === true) done()
    }
    const onError = (error: Error) => done(error)
    const onExit = (code: number) => done(new Error(`it exited with code ${code}`))
    function done(error?: Error) {
      clearTimeout(timer)
      thread.off('message', onMessage)
      thread.off('error', onError)
      thread.off('exit', onExit)
      if (error) reject(error)
      else resolve()
    }
    thread.on('message', onMessage)
    thread.on('error', onError)
    thread.on('exit', onExit)
  })
}

/** A file URL the bundled thread resolves `@veil/crypto`'s dependencies from (as `import.meta.url`). */
function requireBase(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('@veil/crypto')).href
}

/**
 * The thread's script: its entry and `@veil/crypto` in one CommonJS file (Node runs an `eval` worker as
 * CommonJS, and the sources are TypeScript), so the thread runs the very same code as the event loop.
 */
const threadSource = bundledOnce(() => ({
  entryPoints: [runtimeSource('api/open-thread-main.ts')],
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  legalComments: 'none',
  define: { 'import.meta.url': '__veilRequireBase' },
  banner: { js: "const __veilRequireBase = require('node:worker_threads').workerData.requireBase;" },
}))
