import type { Address, Hex } from '@veil/protocol'
import type { WorkerCheck, WorkerReport } from './types.js'

/**
 * The default worker check: the worker at the registered endpoint reports the registered identity,
 * X25519 key, measurement and cluster, and the registry allows that measurement. It proves the endpoint
 * serves the registered keys; hardware attestation (verifying the quote) plugs in here later.
 *
 * @example
 * createClient({ network, verifyWorker: async (check) => { defaultVerifyWorker(check); await myQuoteCheck(check.info) } })
 */
export function defaultVerifyWorker({ registered, info }: WorkerCheck): void {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()
  if (!same(info.address, registered.address))
    throw new Error(`the endpoint reports identity ${info.address}, the registry ${registered.address}`)
  if (!same(info.x25519, registered.x25519PublicKey))
    throw new Error(
      `the endpoint reports X25519 key ${info.x25519}, the registry ${registered.x25519PublicKey}`,
    )
  if (!same(info.measurement, registered.measurement))
    throw new Error(
      `the endpoint reports measurement ${info.measurement}, the registry ${registered.measurement}`,
    )
  if (!registered.measurementAllowed)
    throw new Error(`measurement ${registered.measurement} is not allowed by the registry`)
  if (info.cluster !== String(registered.cluster))
    throw new Error(`the endpoint reports cluster ${info.cluster}, the registry ${registered.cluster}`)
  if (registered.status !== 'active') throw new Error(`the registry lists the worker as ${registered.status}`)
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/
const ADDRESS = /^0x[0-9a-fA-F]{40}$/

/** Validates a `/v1/info` answer; throws an Error naming the bad field. */
export function parseWorkerReport(value: unknown): WorkerReport {
  const v = value as Record<string, unknown> | null
  if (typeof v !== 'object' || v === null) throw new Error('/v1/info is not an object')
  if (typeof v.address !== 'string' || !ADDRESS.test(v.address))
    throw new Error('/v1/info "address" is invalid')
  if (typeof v.x25519 !== 'string' || !HEX32.test(v.x25519)) throw new Error('/v1/info "x25519" is invalid')
  if (typeof v.measurement !== 'string' || !HEX32.test(v.measurement))
    throw new Error('/v1/info "measurement" is invalid')
  const chain = (v.chain ?? {}) as Record<string, unknown>
  return {
    ...v,
    version: typeof v.version === 'string' ? v.version : 'unknown',
    address: v.address as Address,
    x25519: v.x25519 as Hex,
    measurement: v.measurement as Hex,
    cluster: typeof v.cluster === 'string' ? v.cluster : null,
    chain: {
      block: typeof chain.block === 'string' ? chain.block : null,
      hash: typeof chain.hash === 'string' ? (chain.hash as Hex) : null,
    },
    stateDigest: typeof v.stateDigest === 'string' ? (v.stateDigest as Hex) : null,
  }
}
