import { describe, expect, it } from 'vitest'
import { ApiError } from './errors.js'
import { Limiter } from './limiter.js'

describe('Limiter', () => {
  it('runs up to the concurrency, queues up to the limit, refuses beyond with 503 and Retry-After', async () => {
    const limiter = new Limiter(2, 1)
    const gates: (() => void)[] = []
    const task = () => new Promise<number>((resolve) => gates.push(() => resolve(1)))
    const running = [limiter.run(task), limiter.run(task)]
    const queued = limiter.run(task)
    expect(limiter.load).toEqual({ running: 2, waiting: 1 })
    const refused = await limiter.run(task).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(ApiError)
    expect(refused).toMatchObject({ status: 503, code: 'OVERLOADED', retryAfterSeconds: 1 })
    while (gates.length) gates.shift()?.()
    await Promise.all(running)
    await new Promise((r) => setTimeout(r, 0))
    while (gates.length) gates.shift()?.()
    expect(await queued).toBe(1)
    expect(limiter.load).toEqual({ running: 0, waiting: 0 })
  })

  it('frees its slot when a task fails', async () => {
    const limiter = new Limiter(1, 0)
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(await limiter.run(() => Promise.resolve(7))).toBe(7)
  })
})
