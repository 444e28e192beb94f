import { describe, expect, it } from 'vitest'
import { VeilError } from './errors.js'
import { parseNetworkFile } from './network.js'

const valid = {
  version: 1,
  chainId: 31337,
  rpcUrl: 'http://127.0.0.1:8545',
  devMode: true,
  deployBlock: 1,
  contracts: {
    registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    contracts: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
    commands: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  },
  kms: null,
  workers: [],
}

describe('parseNetworkFile', () => {
  it('accepts a valid file', () => {
    expect(parseNetworkFile(valid)).toEqual(valid)
  })

  it.each([
    ['version', { ...valid, version: 2 }],
    ['chainId', { ...valid, chainId: -1 }],
    ['rpcUrl', { ...valid, rpcUrl: 'ftp://x' }],
    ['contracts.commands', { ...valid, contracts: { ...valid.contracts, commands: '0x12' } }],
    ['workers[0].address', { ...valid, workers: [{ url: 'http://127.0.0.1:1', address: 'nope' }] }],
    ['kms', { ...valid, kms: { url: 42 } }],
    ['limits.command.fuel', { ...valid, limits: { command: { fuel: -5 } } }],
    ['limits.query.gas', { ...valid, limits: { query: { gas: 5 } } }],
    ['limits.jobs', { ...valid, limits: { jobs: {} } }],
  ])('names the bad field %s', (field, input) => {
    try {
      parseNetworkFile(input, 'net.json')
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(VeilError)
      const e = error as VeilError
      expect(e.code).toBe('NETWORK_FILE_INVALID')
      expect(e.details).toContain(`"${field}"`)
      expect(e.message).toContain('net.json')
      expect(e.hint).toContain('veil dev')
    }
  })

  it('accepts per-network sandbox limits', () => {
    const withLimits = {
      ...valid,
      limits: { command: { fuel: 5_000_000, deadlineMs: 500 }, query: { memoryBytes: 1 << 25 } },
    }
    expect(parseNetworkFile(withLimits)).toEqual(withLimits)
  })

  it('rejects non-objects', () => {
    expect(() => parseNetworkFile('hello')).toThrow(/not a valid Veil network file/)
    expect(() => parseNetworkFile(null)).toThrow(VeilError)
  })
})
