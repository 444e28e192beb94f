import { ApiError } from './errors.js'

/**
 * Bounds work: at most `concurrency` tasks run, at most `queue` wait; beyond that a request is refused at
 * once with 503 and Retry-After, instead of piling up until everything times out.
 */
export class Limiter {
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    private readonly concurrency: number,
    private readonly queue: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queue) {
        throw new ApiError(
          503,
          'OVERLOADED',
          'the worker is at capacity; retry shortly or use another worker',
          {
            retryAfterSeconds: 1,
          },
        )
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    } else {
      this.running++
    }
    try {
      return await task()
    } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.running--
    }
  }

  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length }
  }
}
