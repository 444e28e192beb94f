/**
 * Opening a sealed query: what the query service asks for, and how the event loop does it. The worker's
 * `OpenThread` does the same on a second thread and falls back to {@link openOnEventLoop}.
 */
import type { QueryAead, QueryCrypto } from './query.js'

/** An HPKE request sealed to the worker's key, and the secret to export from its context. */
export interface OpenParams {
  enc: Uint8Array
  ct: Uint8Array
  /** The HPKE info, as text. */
  infoKey: string
  aead: QueryAead
  keyLabel: string
  keyLength: number
}

/** An opened request: its plaintext and the secret exported for its answer. */
export interface OpenedRequest {
  plaintext: Uint8Array
  key: Uint8Array
}

/** Opens requests; rejects if a request does not open (tampered, truncated, sealed to another key). */
export interface RequestOpener {
  open(params: OpenParams): Promise<OpenedRequest>
}

/** Infos kept per opener: one per contract queried; past this, the cache starts over. */
const MAX_INFOS = 256

/**
 * Opens requests on the calling thread with `crypto`; throws if a request does not open. Each info is
 * encoded once and the same array reused, which is also what keeps HPKE's per-info key-schedule cache
 * (hpke-node.ts) hitting.
 */
export function openOnEventLoop(
  crypto: Pick<QueryCrypto, 'openRequest'>,
  privateKey: Uint8Array,
): (params: OpenParams) => OpenedRequest {
  const infos = new Map<string, Uint8Array>()
  return (params) => {
    let info = infos.get(params.infoKey)
    if (info === undefined) {
      if (infos.size >= MAX_INFOS) infos.clear()
      info = new TextEncoder().encode(params.infoKey)
      infos.set(params.infoKey, info)
    }
    const context = crypto.openRequest({
      privateKey,
      enc: params.enc,
      ct: params.ct,
      info,
      aead: params.aead,
    })
    return { plaintext: context.plaintext, key: context.exportSecret(params.keyLabel, params.keyLength) }
  }
}

/** {@link openOnEventLoop} behind the asynchronous {@link RequestOpener} interface. */
export function eventLoopOpener(
  crypto: Pick<QueryCrypto, 'openRequest'>,
  privateKey: Uint8Array,
): RequestOpener {
  const open = openOnEventLoop(crypto, privateKey)
  return {
    open: (params) => {
      try {
        return Promise.resolve(open(params))
      } catch (error) {
        return Promise.reject(error)
      }
    },
  }
}
