import { VeilError } from './errors.js'
import { type Address, isAddress } from './hex.js'

/** Addresses of the ledger contracts. Later issues add more (token, staking, ...). */
export interface LedgerAddresses {
  registry: Address
  contracts: Address
  commands: Address
}

export interface NetworkWorker {
  url: string
  address: Address
}

export interface NetworkKms {
  url: string
  address?: Address
}

/**
 * `network.json`: everything a client, worker or CLI needs to find a Veil network. Written by
 * `veil dev` once the network is ready; hand-written for public networks.
 */
export interface NetworkFile {
  /** Format version of this file. */
  version: 1
  chainId: number
  rpcUrl: string
  /** WebSocket JSON-RPC endpoint, when the node offers one. */
  wsUrl?: string
  /** True when the ledger accepts simulated (development) attestation. */
  devMode: boolean
  /** Block in which the ledger was deployed: followers start reading events here. */
  deployBlock: number
  contracts: LedgerAddresses
  kms: NetworkKms | null
  workers: NetworkWorker[]
  /**
   * Sandbox limits every worker of this network applies, per invocation kind; unset fields keep the
   * runtime's defaults. Commands must use the same limits on every worker, so they belong here.
   */
  limits?: { command?: NetworkLimits; query?: NetworkLimits }
  /**
   * EVM JSON-RPC endpoints contracts may use by name (`ctx.evm.call('devnet', …)`), e.g.
   * `{ "devnet": "http://127.0.0.1:8545" }`. Operators trust these like the chain's own RPC.
   */
  rpc?: Record<string, string>
  /** Limits of contracts' outbound HTTP (`ctx.http.fetch`); unset fields keep the defaults. */
  egress?: NetworkEgressLimits
  /** The mining contracts (token, staking pools, rewards), when the network has them (docs/mining.md). */
  mining?: NetworkMining
}

export interface NetworkMining {
  token: `0x${string}`
  pools: `0x${string}`
  rewards: `0x${string}`
  /**
   * The Billing contract. When set, workers read its events in ledger order and charge commands' fuel
   * against contract balances (docs/mining.md, "Billing"); every worker of a network must agree on it.
   */
  billing?: `0x${string}`
}

/** Per-network limits of `ctx.http.fetch` (defaults in docs/interop.md). */
export interface NetworkEgressLimits {
  timeoutMs?: number
  maxResponseBytes?: number
  maxInFlight?: number
  maxPerInvocation?: number
}

const EGRESS_KEYS = ['timeoutMs', 'maxResponseBytes', 'maxInFlight', 'maxPerInvocation'] as const
const RPC_NAME = /^[a-z][a-z0-9_-]{0,31}$/

/** Per-invocation sandbox limits a network may set (see docs/contracts.md for the defaults). */
export interface NetworkLimits {
  memoryBytes?: number
  stackBytes?: number
  fuel?: number
  deadlineMs?: number
  maxResultBytes?: number
}

const LIMIT_KEYS = ['memoryBytes', 'stackBytes', 'fuel', 'deadlineMs', 'maxResultBytes'] as const

const LEDGER_KEYS = ['registry', 'contracts', 'commands'] as const

/**
 * Validates a parsed `network.json`. Throws a `VeilError` (code `NETWORK_FILE_INVALID`) naming the
 * first field that is wrong; `source` names the file in the message.
 */
export function parseNetworkFile(value: unknown, source = 'network.json'): NetworkFile {
  const fail = (field: string, expected: string): never => {
    throw new VeilError(`${source} is not a valid Veil network file`, {
      code: 'NETWORK_FILE_INVALID',
      details: `field "${field}" must be ${expected}`,
      hint: 'regenerate it with `veil dev` (or `veil dev --reset` to start from scratch), or fix the field by hand',
    })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('(root)', 'an object')
  const v = value as Record<string, unknown>
  if (v.version !== 1) fail('version', '1')
  if (!Number.isSafeInteger(v.chainId) || (v.chainId as number) <= 0) fail('chainId', 'a positive integer')
  if (!isUrl(v.rpcUrl, ['http:', 'https:'])) fail('rpcUrl', 'an http(s) URL')
  if (v.wsUrl !== undefined && !isUrl(v.wsUrl, ['ws:', 'wss:'])) fail('wsUrl', 'a ws(s) URL')
  if (typeof v.devMode !== 'boolean') fail('devMode', 'true or false')
  if (!Number.isSafeInteger(v.deployBlock) || (v.deployBlock as number) < 0)
    fail('deployBlock', 'a block number')
  const contracts = v.contracts as Record<string, unknown> | undefined
  if (typeof contracts !== 'object' || contracts === null) fail('contracts', 'an object of addresses')
  for (const key of LEDGER_KEYS) {
    if (!isAddress(contracts?.[key])) fail(`contracts.${key}`, 'a 0x-prefixed 20-byte address')
  }
  if (v.kms !== null) {
    const kms = v.kms as Record<string, unknown> | undefined
    if (typeof kms !== 'object' || !isUrl(kms?.url, ['http:', 'https:'])) fail('kms', 'null or { url }')
  }
  if (v.limits !== undefined) {
    const limits = v.limits as Record<string, unknown> | null
    if (typeof limits !== 'object' || limits === null) fail('limits', 'an object { command?, query? }')
    for (const kind of Object.keys(limits ?? {})) {
      if (kind !== 'command' && kind !== 'query')
        fail(`limits.${kind}`, 'absent: only "command" and "query" exist')
      const set = (limits as Record<string, unknown>)[kind] as Record<string, unknown> | null
      if (typeof set !== 'object' || set === null) fail(`limits.${kind}`, 'an object')
      for (const [key, value] of Object.entries(set ?? {})) {
        if (!(LIMIT_KEYS as readonly string[]).includes(key))
          fail(`limits.${kind}.${key}`, `one of ${LIMIT_KEYS.join(', ')}`)
        if (!Number.isSafeInteger(value) || (value as number) <= 0)
          fail(`limits.${kind}.${key}`, 'a positive integer')
      }
    }
  }
  if (v.rpc !== undefined) {
    const rpc = v.rpc as Record<string, unknown> | null
    if (typeof rpc !== 'object' || rpc === null || Array.isArray(rpc)) fail('rpc', 'an object { name: url }')
    for (const [name, url] of Object.entries(rpc ?? {})) {
      if (!RPC_NAME.test(name)) fail(`rpc.${name}`, 'a lowercase name (letters, digits, - and _)')
      if (!isUrl(url, ['http:', 'https:'])) fail(`rpc.${name}`, 'an http(s) URL')
    }
  }
  if (v.mining !== undefined) {
    const mining = v.mining as Record<string, unknown> | null
    if (typeof mining !== 'object' || mining === null) fail('mining', 'an object { token, pools, rewards }')
    for (const key of ['token', 'pools', 'rewards']) {
      if (!isAddress((mining as Record<string, unknown>)[key]))
        fail(`mining.${key}`, 'a 0x-prefixed 20-byte address')
    }
    const billing = (mining as Record<string, unknown>).billing
    if (billing !== undefined && !isAddress(billing)) fail('mining.billing', 'a 0x-prefixed 20-byte address')
  }
  if (v.egress !== undefined) {
    const egress = v.egress as Record<string, unknown> | null
    if (typeof egress !== 'object' || egress === null)
      fail('egress', `an object of ${EGRESS_KEYS.join(', ')}`)
    for (const [key, value] of Object.entries(egress ?? {})) {
      if (!(EGRESS_KEYS as readonly string[]).includes(key))
        fail(`egress.${key}`, `one of ${EGRESS_KEYS.join(', ')}`)
      if (!Number.isSafeInteger(value) || (value as number) <= 0) fail(`egress.${key}`, 'a positive integer')
    }
  }
  if (!Array.isArray(v.workers)) fail('workers', 'an array')
  ;(v.workers as unknown[]).forEach((worker, i) => {
    const w = worker as Record<string, unknown> | null
    if (!isUrl(w?.url, ['http:', 'https:'])) fail(`workers[${i}].url`, 'an http(s) URL')
    if (!isAddress(w?.address)) fail(`workers[${i}].address`, 'a 0x-prefixed 20-byte address')
  })
  return value as NetworkFile
}

function isUrl(value: unknown, protocols: string[]): boolean {
  if (typeof value !== 'string') return false
  try {
    return protocols.includes(new URL(value).protocol)
  } catch {
    return false
  }
}
