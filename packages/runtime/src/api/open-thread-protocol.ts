/** Messages between the event loop and the request-opening thread (`open-thread.ts`, `open-thread-main.ts`). */
import type { OpenParams } from './request-opener.js'

/** What the thread starts with (its `workerData`); the key array is a moved copy, zeroed once imported. */
export interface ThreadData {
  x25519PrivateKey: Uint8Array
}

/** Open an HPKE request sealed to the worker's key, and export one secret from its context. */
export interface OpenJob extends OpenParams {
  id: number
}

/** `plaintext` and `key` when the request opened; neither when it did not. */
export interface OpenResult {
  id: number
  plaintext?: Uint8Array
  key?: Uint8Array
}
