import type { Hex } from '@veil/protocol'
import { describe, expect, it } from 'vitest'
import {
  InvalidArgumentError,
  NoWorkersError,
  WorkerRequestError,
  WorkersUnavailableError,
  WorkerUnavailableError,
  WorkerVerificationError,
} from '../errors.js'
import { WorkerPool } from './pool.js'
import type { RegisteredWorker } from './types.js'

function worker(n: number, extra: Partial<RegisteredWorker> = {}): RegisteredWorker {
  return {
    address: `0x${String(n).padStart(40, '0')}` as Hex,
    url: `http://w${n}`,
    status: 'active',
    cluster: 1n,
    x25519PublicKey: `0x${'aa'.repeat(32)}`,
    measurement: `0x${'bb'.repeat(32)}`,
    measurementAllowed: true,
    operator: `0x${'0'.repeat(40)}`,
    quoteHash: `0x${'cc'.repeat(32)}`,
    ...extra,
  }
}

function setup(workers: RegisteredWorker[], options: { refuse?: string[] } = {}) {
  const clock = { t: 0, now: () => clock.t }
  const stats = { discovered: 0, verified: [] as string[] }
  let list = workers
  const pool = new WorkerPool({
    cluster: 1n,
    clock,
    discover: async () => {
      stats.discovered++
      return list
    },
    verify: async (w) => {
      stats.verified.push(w.url)
      if (options.refuse?.includes(w.url)) throw new Error(`${w.url} reports another key`)
    },
  })
  return { pool, clock, stats, setList: (next: RegisteredWorker[]) => (list = next) }
}

const down = (url: string) => new WorkerUnavailableError(url, 'connection refused')

describe('WorkerPool', () => {
  it('spreads requests round-robin and verifies each worker once', async () => {
    const { pool, stats } = setup([worker(1), worker(2), worker(3)])
    const served: string[] = []
    for (let i = 0; i < 6; i++) served.push(await pool.run('q', async (w) => w.url))
    expect(served).toEqual(['http://w1', 'http://w2', 'http://w3', 'http://w1', 'http://w2', 'http://w3'])
    expect(stats.verified.sort()).toEqual(['http://w1', 'http://w2', 'http://w3'])
    expect(stats.discovered).toBe(1)
  })

  it('uses only active workers with an endpoint', async () => {
    const { pool } = setup([worker(1, { status: 'pending' }), worker(2, { url: '' }), worker(3)])
    expect((await pool.workers()).map((w) => w.url)).toEqual(['http://w3'])
  })

  it('fails over to the next worker, and tries a failed one again only last until its back-off ends', async () => {
    const { pool, clock } = setup([worker(1), worker(2)])
    const dead = new Set(['http://w1'])
    const op = async (w: RegisteredWorker) => {
      if (dead.has(w.url)) throw down(w.url)
      return w.url
    }
    expect(await pool.run('q', op)).toBe('http://w2') // w1 first, fails over
    const attempts: string[] = []
    for (let i = 0; i < 3; i++) {
      await pool.run('q', async (w) => {
        attempts.push(w.url)
        return op(w)
      })
    }
    expect(attempts).toEqual(['http://w2', 'http://w2', 'http://w2']) // w1 is backing off
    expect(pool.isHealthy(worker(1))).toBe(false)
    clock.t += 1_000
    dead.clear()
    const after: string[] = []
    for (let i = 0; i < 2; i++) after.push(await pool.run('q', async (w) => w.url))
    expect(after.sort()).toEqual(['http://w1', 'http://w2'])
  })

  it('doubles the back-off of a worker that keeps failing', async () => {
    const { pool, clock } = setup([worker(1), worker(2)])
    const w1 = worker(1)
    pool.markDown(w1)
    clock.t = 999
    expect(pool.isHealthy(w1)).toBe(false)
    clock.t = 1_000
    expect(pool.isHealthy(w1)).toBe(true)
    pool.markDown(w1)
    clock.t = 2_999
    expect(pool.isHealthy(w1)).toBe(false)
    pool.markUp(w1)
    expect(pool.isHealthy(w1)).toBe(true)
  })

  it('throws WorkersUnavailableError with every attempt once all workers failed, after re-reading the ledger', async () => {
    const { pool, stats } = setup([worker(1), worker(2)])
    const error = await pool
      .run('query get', async (w) => Promise.reject(down(w.url)))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkersUnavailableError)
    const unavailable = error as WorkersUnavailableError
    expect(unavailable.attempts).toHaveLength(2)
    expect(unavailable.message).toContain('query get: no worker answered')
    expect(stats.discovered).toBe(2) // the list was read again in case a worker moved
  })

  it('finds a worker that moved endpoint when everything else failed', async () => {
    const { pool, setList } = setup([worker(1)])
    await pool.workers()
    setList([worker(1, { url: 'http://w1-new' })])
    expect(
      await pool.run('q', async (w) => (w.url === 'http://w1' ? Promise.reject(down(w.url)) : w.url)),
    ).toBe('http://w1-new')
  })

  it('skips a worker that fails verification and reports it if nothing else works', async () => {
    const { pool } = setup([worker(1), worker(2)], { refuse: ['http://w1'] })
    for (let i = 0; i < 3; i++) expect(await pool.run('q', async (w) => w.url)).toBe('http://w2')
    const { pool: lonely } = setup([worker(1)], { refuse: ['http://w1'] })
    const error = await lonely.run('q', async (w) => w.url).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkersUnavailableError)
    expect((error as WorkersUnavailableError).attempts[0]).toBeInstanceOf(WorkerVerificationError)
    expect((error as WorkersUnavailableError).attempts[0]?.details).toContain('reports another key')
  })

  it('passes other errors straight through without trying another worker', async () => {
    const { pool } = setup([worker(1), worker(2)])
    const refusal = new WorkerRequestError('http://w1', 400, { code: 'REPLAYED', message: 'again' })
    let calls = 0
    await expect(
      pool.run('q', async () => {
        calls++
        throw refusal
      }),
    ).rejects.toBe(refusal)
    expect(calls).toBe(1)
  })

  it('lets the caller move on without marking the worker down (classify: next)', async () => {
    const { pool } = setup([worker(1), worker(2)])
    const notYet = new WorkerRequestError('x', 404, { code: 'RECEIPT_NOT_FOUND', message: 'not yet' })
    const result = await pool.run(
      'receipt',
      async (w) => {
        if (w.url === 'http://w1') throw notYet
        return w.url
      },
      { classify: (e) => (e === notYet ? 'next' : undefined) },
    )
    expect(result).toBe('http://w2')
    expect(pool.isHealthy(worker(1))).toBe(true)
  })

  it('pins a worker by index, address or URL and never fails over from it', async () => {
    const { pool } = setup([worker(1), worker(2)])
    expect(await pool.run('q', async (w) => w.url, { pin: 1 })).toBe('http://w2')
    expect(
      await pool.run('q', async (w) => w.url, { pin: worker(1).address.toUpperCase().replace('0X', '0x') }),
    ).toBe('http://w1')
    expect(await pool.run('q', async (w) => w.url, { pin: 'http://w2/' })).toBe('http://w2')
    await expect(pool.run('q', async (w) => Promise.reject(down(w.url)), { pin: 0 })).rejects.toBeInstanceOf(
      WorkerUnavailableError,
    )
    await expect(pool.select(2)).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(pool.select('http://elsewhere')).rejects.toBeInstanceOf(InvalidArgumentError)
  })

  it('throws NoWorkersError for a cluster without active workers', async () => {
    const { pool } = setup([worker(1, { status: 'revoked' })])
    await expect(pool.run('q', async () => 1)).rejects.toBeInstanceOf(NoWorkersError)
  })
})
