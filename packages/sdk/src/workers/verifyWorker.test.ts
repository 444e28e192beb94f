import { describe, expect, it } from 'vitest'
import type { RegisteredWorker, WorkerReport } from './types.js'
import { defaultVerifyWorker, parseWorkerReport } from './verifyWorker.js'

const registered: RegisteredWorker = {
  address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  url: 'http://127.0.0.1:1',
  status: 'active',
  cluster: 1n,
  x25519PublicKey: `0x${'aa'.repeat(32)}`,
  measurement: `0x${'bb'.repeat(32)}`,
  measurementAllowed: true,
  operator: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
}
const info: WorkerReport = {
  version: '0.1.0',
  address: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
  x25519: `0x${'AA'.repeat(32)}`,
  measurement: `0x${'bb'.repeat(32)}`,
  cluster: '1',
  chain: { block: '5', hash: null },
  stateDigest: null,
}

describe('defaultVerifyWorker', () => {
  it('accepts a worker whose endpoint reports the registered identity, key, measurement and cluster', () => {
    expect(() => defaultVerifyWorker({ registered, info })).not.toThrow()
  })

  it.each([
    ['identity', { info: { ...info, address: '0x0000000000000000000000000000000000000001' } }],
    ['X25519 key', { info: { ...info, x25519: `0x${'cc'.repeat(32)}` } }],
    ['measurement 0x', { info: { ...info, measurement: `0x${'cc'.repeat(32)}` } }],
    ['cluster', { info: { ...info, cluster: '2' } }],
    ['not allowed', { registered: { ...registered, measurementAllowed: false } }],
    ['offline', { registered: { ...registered, status: 'offline' as const } }],
  ])('refuses a mismatch: %s', (reason, change) => {
    expect(() =>
      defaultVerifyWorker({ registered, info, ...change } as Parameters<typeof defaultVerifyWorker>[0]),
    ).toThrow(reason)
  })
})

describe('parseWorkerReport', () => {
  it('keeps extra fields for custom hooks and normalises missing ones', () => {
    const parsed = parseWorkerReport({ ...info, quote: '0x01', chain: undefined, stateDigest: undefined })
    expect(parsed).toMatchObject({ quote: '0x01', chain: { block: null, hash: null }, stateDigest: null })
  })

  it('names the bad field', () => {
    expect(() => parseWorkerReport('x')).toThrow('not an object')
    expect(() => parseWorkerReport({ ...info, address: 1 })).toThrow('"address"')
    expect(() => parseWorkerReport({ ...info, x25519: '0x12' })).toThrow('"x25519"')
    expect(() => parseWorkerReport({ ...info, measurement: null })).toThrow('"measurement"')
  })
})
