import { ApiError } from './errors.js'

/** Nonces kept at most: ~3,000 queries/s over a 2-minute window, with room (≈ 100 bytes each). */
export const DEFAULT_MAX_NONCES = 1_000_000

/**
 * The replay window of query nonces: a nonce seen within `windowMs` is refused, older ones are forgotten
 * (their timestamps are stale by then, so the request would be refused anyway). Bounded: when
 * `maxNonces` are remembered, new requests are refused with 503 OVERLOADED until the oldest expire —
 * forgetting a live nonce early would let its request be replayed.
 */
export class NonceWindow {
  readonly #seen = new Map<string, number>()
  #lastPrune = 0

  constructor(
    private readonly windowMs: number,
    private readonly maxNonces = DEFAULT_MAX_NONCES,
  ) {}

  get size(): number {
    return this.#seen.size
  }

  /** Records `key` at `now`; throws `ApiError` REPLAYED for a nonce in the window, OVERLOADED when full. */
  remember(key: string, now: number): void {
    if (this.#seen.has(key))
      throw new ApiError(400, 'REPLAYED', 'this request was answered already (nonce reused)')
    if (now - this.#lastPrune > 1_000 || this.#seen.size >= this.maxNonces) this.#prune(now)
    if (this.#seen.size >= this.maxNonces) {
      throw new ApiError(503, 'OVERLOADED', 'the worker is at its limit of requests in the replay window', {
        retryAfterSeconds: 1,
      })
    }
    this.#seen.set(key, now + this.windowMs)
  }

  #prune(now: number): void {
    this.#lastPrune = now
    // Oldest first: stop at the first nonce still in its window instead of walking all of them. Should the
    // clock step back, a few expired nonces wait for a later prune, which refuses nothing but replays.
    for (const [key, expiry] of this.#seen) {
      if (expiry >= now) break
      this.#seen.delete(key)
    }
  }
}
