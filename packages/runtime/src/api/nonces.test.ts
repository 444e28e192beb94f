import { describe, expect, it } from 'vitest'
import { ApiError } from './errors.js'
import { NonceWindow } from './nonces.js'

const codeOf = (fn: () => void): string | undefined => {
  try {
    fn()
    return undefined
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError)
    return (error as ApiError).code
  }
}

describe('NonceWindow', () => {
  it('refuses a nonce within its window and forgets it after', () => {
    const window = new NonceWindow(1_000)
    window.remember('a', 0)
    expect(codeOf(() => window.remember('a', 500))).toBe('REPLAYED')
    window.remember('b', 1_500) // prunes 'a' (expired at 1,000)
    expect(window.size).toBe(1)
    window.remember('a', 2_600)
  })

  it('is bounded: when full it refuses new nonces with OVERLOADED until old ones expire', () => {
    const window = new NonceWindow(1_000, 3)
    for (const key of ['a', 'b', 'c']) window.remember(key, 0)
    expect(codeOf(() => window.remember('d', 10))).toBe('OVERLOADED')
    expect(window.size).toBe(3)
    // A replay is still a replay, full or not.
    expect(codeOf(() => window.remember('a', 10))).toBe('REPLAYED')
    window.remember('d', 1_001) // the three expired: room again
    expect(window.size).toBe(1)
  })
})
