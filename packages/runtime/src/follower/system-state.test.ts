import { describe, expect, it } from 'vitest'
import { openJobOutcome, signJobOutcome } from './job-outcome.js'
import {
  applySecretsChange,
  hasJobs,
  JobBook,
  MAX_PENDING_JOBS,
  MAX_SECRETS,
  parseSecretsChange,
  pendingJobs,
  readSecrets,
  SystemRequestError,
  systemId,
  takeJob,
} from './system-state.js'

/** A contract state in a Map, keyed `id/key` (what a block writer does, minus sealing). */
function memoryState() {
  const map = new Map<string, string>()
  return {
    map,
    get: (id: string, key: string) => map.get(`${id}/${key}`),
    set: (id: string, key: string, value: string) => {
      map.set(`${id}/${key}`, value)
    },
    delete: (id: string, key: string) => map.delete(`${id}/${key}`),
  }
}

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
    return undefined
  } catch (error) {
    expect(error).toBeInstanceOf(SystemRequestError)
    return (error as SystemRequestError).code
  }
}

describe('secrets', () => {
  it('sets, replaces and deletes under the system id, never in the contract’s own namespace', () => {
    const state = memoryState()
    expect(applySecretsChange(state, '7', parseSecretsChange({ set: { B: '2', A: '1' } }))).toEqual({
      set: ['A', 'B'],
      deleted: [],
    })
    expect(readSecrets(state, '7')).toEqual({ A: '1', B: '2' })
    expect([...state.map.keys()]).toEqual([`${systemId('7')}/secrets`])
    expect(
      applySecretsChange(state, '7', parseSecretsChange({ set: { A: 'x' }, delete: ['B', 'Z'] })),
    ).toEqual({
      set: ['A'],
      deleted: ['B'],
    })
    expect(readSecrets(state, '7')).toEqual({ A: 'x' })
    applySecretsChange(state, '7', parseSecretsChange({ delete: ['A'] }))
    expect(state.map.size).toBe(0)
  })

  it('refuses bad requests with a clear message', () => {
    for (const bad of [null, [], 'x', { set: [] }, { delete: 'A' }, {}, { set: {} }]) {
      expect(codeOf(() => parseSecretsChange(bad))).toBe('BAD_ARGUMENTS')
    }
    expect(() => parseSecretsChange({ set: { '1BAD': 'x' } })).toThrow(/invalid/)
    expect(() => parseSecretsChange({ set: { A: 5 } })).toThrow(/must be a string/)
    expect(() => parseSecretsChange({ set: { A: 'x'.repeat(4097) } })).toThrow(/longer than 4096/)
    const state = memoryState()
    const many = Object.fromEntries(Array.from({ length: MAX_SECRETS + 1 }, (_, i) => [`S${i}`, 'v']))
    expect(codeOf(() => applySecretsChange(state, '1', parseSecretsChange({ set: many })))).toBe(
      'TOO_MANY_SECRETS',
    )
  })
})

describe('jobs and timers', () => {
  const T0 = 1_700_000_000_000

  it('queues jobs with deterministic ids and takes each exactly once', () => {
    const state = memoryState()
    let changes = 0
    const book = new JobBook(state, '3', ['price'], T0, () => changes++)
    expect(book.enqueue('price', '{"pair":"ETH"}')).toBe('j1')
    expect(book.enqueue('price', 'null')).toBe('j2')
    expect(changes).toBe(2)
    expect(pendingJobs(state, '3').map((job) => job.id)).toEqual(['j1', 'j2'])
    expect(takeJob(state, '3', 'j1', T0)).toMatchObject({
      id: 'j1',
      name: 'price',
      argsText: '{"pair":"ETH"}',
    })
    expect(codeOf(() => takeJob(state, '3', 'j1', T0))).toBe('JOB_NOT_PENDING')
    expect(codeOf(() => takeJob(state, '3', 'j9', T0))).toBe('JOB_NOT_PENDING')
    expect(hasJobs(state, '3')).toBe(true)
    takeJob(state, '3', 'j2', T0)
    expect(hasJobs(state, '3')).toBe(false)
  })

  it('refuses unknown jobs, too many jobs, and bad intervals', () => {
    const state = memoryState()
    const book = new JobBook(state, '3', ['price'], T0, () => {})
    expect(codeOf(() => book.enqueue('nope', 'null'))).toBe('UNKNOWN_JOB')
    for (let i = 0; i < MAX_PENDING_JOBS; i++) book.enqueue('price', 'null')
    expect(codeOf(() => book.enqueue('price', 'null'))).toBe('TOO_MANY_JOBS')
    for (const seconds of [0, 4, 1.5, Number.NaN, 10 ** 9]) {
      expect(codeOf(() => book.every(seconds, 'price', 'null'))).toBe('BAD_INTERVAL')
    }
  })

  it('fires timer occurrences in order, not early, skipping missed ones, until cancelled', () => {
    const state = memoryState()
    const book = new JobBook(state, '3', ['price'], T0, () => {})
    const id = book.every(60, 'price', 'null')
    expect(id).toBe('t1')
    expect(pendingJobs(state, '3')).toEqual([
      { id: 't1.1', name: 'price', argsText: 'null', dueAt: T0 + 60_000 },
    ])
    // More than the allowed earliness (a tenth of the interval, at most 5 s) before it is due: refused.
    expect(codeOf(() => takeJob(state, '3', 't1.1', T0 + 50_000))).toBe('JOB_NOT_PENDING')
    takeJob(state, '3', 't1.1', T0 + 56_000)
    expect(codeOf(() => takeJob(state, '3', 't1.1', T0 + 60_000))).toBe('JOB_NOT_PENDING') // once
    expect(codeOf(() => takeJob(state, '3', 't1.3', T0 + 180_000))).toBe('JOB_NOT_PENDING') // not the next
    // Occurrence 2 lands late, at 5.5 intervals: 3, 4 and 5 are skipped.
    takeJob(state, '3', 't1.2', T0 + 330_000)
    expect(pendingJobs(state, '3')[0]?.id).toBe('t1.6')
    expect(book.cancel('t1')).toBe(true)
    expect(book.cancel('t1')).toBe(false)
    expect(pendingJobs(state, '3')).toEqual([])
  })
})

describe('job outcomes', () => {
  const secret = new Uint8Array(32).fill(9)

  it('opens what a worker of the cluster signed', () => {
    const submission = signJobOutcome(secret, 'j1', { ok: true, value: { price: 1 } })
    expect(openJobOutcome(secret, submission)).toEqual({
      id: 'j1',
      outcome: { ok: true, value: { price: 1 } },
    })
  })

  it('refuses forged, altered and malformed outcomes', () => {
    const submission = signJobOutcome(secret, 'j1', { ok: true, value: 1 })
    expect(codeOf(() => openJobOutcome(new Uint8Array(32).fill(8), submission))).toBe('NOT_A_WORKER')
    expect(codeOf(() => openJobOutcome(secret, { ...submission, id: 'j2' }))).toBe('NOT_A_WORKER')
    const altered = signJobOutcome(secret, 'j1', { ok: true, value: 2 }).outcome
    expect(codeOf(() => openJobOutcome(secret, { ...submission, outcome: altered }))).toBe('NOT_A_WORKER')
    for (const bad of [null, 'x', {}, { ...submission, mac: '0x1234' }, { ...submission, id: 5 }]) {
      expect(codeOf(() => openJobOutcome(secret, bad))).toBe('BAD_ARGUMENTS')
    }
  })
})
