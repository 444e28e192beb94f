/**
 * A bounded pool of interchangeable sandbox instances. `acquire` hands out an idle instance, creates one
 * while under capacity, or waits (first come, first served). Broken instances are dropped on release
 * and replaced on demand. A pool of capacity 1 is a FIFO lane: that is how commands of one contract run
 * one at a time. Retired instances (whose memory grew large) are replaced the same way.
 */
import { EngineDisposedError } from './errors.js'
import type { SandboxInstance } from './instance.js'

interface Waiter {
  resolve(instance: SandboxInstance): void
  reject(error: unknown): void
}

export class InstancePool {
  private readonly idle: SandboxInstance[] = []
  private readonly waiters: Waiter[] = []
  /** Instances that exist or are being created. */
  private count = 0
  private disposed = false

  constructor(
    private readonly capacity: number,
    private readonly factory: () => Promise<SandboxInstance>,
    initial: readonly SandboxInstance[] = [],
  ) {
    this.idle.push(...initial)
    this.count = initial.length
  }

  /** Instances currently alive or being built. */
  get size(): number {
    return this.count
  }

  acquire(): Promise<SandboxInstance> {
    if (this.disposed) return Promise.reject(new EngineDisposedError())
    const instance = this.idle.pop()
    if (instance) return Promise.resolve(instance)
    if (this.count < this.capacity) return this.build()
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  release(instance: SandboxInstance): void {
    if (instance.broken || instance.retired || this.disposed) {
      this.count--
      if (!this.disposed) this.serveNextWaiter()
      return
    }
    const waiter = this.waiters.shift()
    if (waiter) waiter.resolve(instance)
    else this.idle.push(instance)
  }

  /** Rejects waiters and forgets idle instances (their WebAssembly memory is then garbage). */
  dispose(): void {
    this.disposed = true
    this.count -= this.idle.length
    this.idle.length = 0
    for (const waiter of this.waiters.splice(0)) waiter.reject(new EngineDisposedError())
  }

  /** Builds a replacement for the first waiter; if that fails, the next waiter gets its own attempt. */
  private serveNextWaiter(): void {
    const waiter = this.waiters.shift()
    if (!waiter) return
    this.build().then(waiter.resolve, (error: unknown) => {
      waiter.reject(error)
      this.serveNextWaiter()
    })
  }

  private async build(): Promise<SandboxInstance> {
    this.count++
    try {
      return await this.factory()
    } catch (error) {
      this.count--
      throw error
    }
  }
}
