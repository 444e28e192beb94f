import { createSimulatedQuote, reportDataFromHash } from '@veil/attestation'
import { reportData } from '@veil/ledger'
import { bytesToBase64url } from '@veil/protocol'
import { hexToBytes, keccak256 } from 'viem'
import { describe, expect, it } from 'vitest'
import type { RegisteredWorker, WorkerCheck, WorkerReport } from './types.js'
import { defaultVerifyWorker, parseWorkerReport } from './verifyWorker.js'

const chainId = 31337
const registry = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const x25519 = `0x${'aa'.repeat(32)}` as const
const measurement = `0x${'bb'.repeat(32)}` as const
const quoteFor = (binding: `0x${string}`) =>
  createSimulatedQuote(hexToBytes(measurement), reportDataFromHash(hexToBytes(binding)))
const quote = quoteFor(reportData(address, x25519, chainId, registry))

const registered: RegisteredWorker = {
  address,
  url: 'http://127.0.0.1:1',
  status: 'active',
  cluster: 1n,
  x25519PublicKey: x25519,
  measurement,
  measurementAllowed: true,
  operator: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
  quoteHash: keccak256(quote),
}
const info: WorkerReport = {
  version: '0.1.0',
  address: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
  x25519: `0x${'AA'.repeat(32)}`,
  measurement,
  cluster: '1',
  chain: { block: '5', hash: null },
  stateDigest: null,
  quote: bytesToBase64url(quote),
}
const check: WorkerCheck = { registered, info, chainId, registry }

describe('defaultVerifyWorker', () => {
  it('accepts a worker serving its registered keys and the quote that binds them to this network', () => {
    expect(() => defaultVerifyWorker(check)).not.toThrow()
  })

  const otherNetworkQuote = quoteFor(reportData(address, x25519, chainId + 1, registry))
  const otherKeyQuote = quoteFor(reportData(address, `0x${'ab'.repeat(32)}`, chainId, registry))
  it.each([
    ['identity', { info: { ...info, address: '0x0000000000000000000000000000000000000001' } }],
    ['X25519 key', { info: { ...info, x25519: `0x${'cc'.repeat(32)}` } }],
    ['measurement 0x', { info: { ...info, measurement: `0x${'cc'.repeat(32)}` } }],
    ['cluster', { info: { ...info, cluster: '2' } }],
    ['not allowed', { registered: { ...registered, measurementAllowed: false } }],
    ['offline', { registered: { ...registered, status: 'offline' as const } }],
    ['no attestation quote', { info: { ...info, quote: undefined } }],
    [
      'another quote than the one it registered',
      { info: { ...info, quote: bytesToBase64url(otherKeyQuote) } },
    ],
    [
      'does not bind the registered identity',
      {
        info: { ...info, quote: bytesToBase64url(otherKeyQuote) },
        registered: { ...registered, quoteHash: keccak256(otherKeyQuote) },
      },
    ],
    [
      'does not bind',
      {
        info: { ...info, quote: bytesToBase64url(otherNetworkQuote) },
        registered: { ...registered, quoteHash: keccak256(otherNetworkQuote) },
      },
    ],
    [
      'not a quote Veil knows',
      {
        info: { ...info, quote: 'AAAA' },
        registered: { ...registered, quoteHash: keccak256(new Uint8Array(3)) },
      },
    ],
  ])('refuses: %s', (reason, change) => {
    expect(() => defaultVerifyWorker({ ...check, ...change } as WorkerCheck)).toThrow(reason)
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
