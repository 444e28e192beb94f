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

const mining = {
  token: '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9',
  pools: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9',
  rewards: '0x5FC8d32690cc91D4c39d9d3abcBD16989F875707',
}

describe('parseNetworkFile', () => {
  it('accepts a valid file', () => {
    expect(parseNetworkFile(valid)).toEqual(valid)
  })

  it('accepts mining contracts with or without Billing (networks from before billing)', () => {
    const billing = '0x0165878A594ca255338adfa4d48449f69242Eb8F'
    expect(parseNetworkFile({ ...valid, mining }).mining).toEqual(mining)
    expect(parseNetworkFile({ ...valid, mining: { ...mining, billing } }).mining?.billing).toBe(billing)
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
    ['mining.rewards', { ...valid, mining: { ...mining, rewards: 'x' } }],
    ['mining.billing', { ...valid, mining: { ...mining, billing: '0x1234' } }],
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
