import { AbortedError } from '../errors.js'

/** Waits `ms`, or rejects with `AbortedError` as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal, action = 'waiting'): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError(action))
    const onAbort = () => {
      clearTimeout(timer)
      reject(new AbortedError(action))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
