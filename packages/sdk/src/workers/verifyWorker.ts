import { type Address, base64urlToBytes, type Hex, quoteReportData } from '@veil/protocol'
import { bytesToHex, keccak256 } from 'viem'
import { reportData } from '../ledger/abis.js'
import type { WorkerCheck, WorkerReport } from './types.js'

/**
 * The default worker check, run once per worker before anything is sealed to it:
 * - the registry lists it as active, in the cluster, with a measurement the registry allows (a KMS
 *   approved it only after verifying its quote: hardware, measurement and key binding);
 * - the endpoint reports that identity, X25519 key, measurement and cluster;
 * - the quote it serves is the one it registered with (keccak256 = the registered quote hash), and that
 *   quote's report data binds exactly this identity and X25519 key to this chain and registry, so the
 *   keys a client seals to are the attested ones.
 * It does not re-verify Intel's signatures in the client (the KMS did, on the ledger's behalf); a hook
 * can add that with `@veil/attestation` in Node.
 *
 * @example
 * createClient({ network, verifyWorker: async (check) => { defaultVerifyWorker(check); await myQuoteCheck(check.info) } })
 */
export function defaultVerifyWorker({ registered, info, chainId, registry }: WorkerCheck): void {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()
  if (registered.status !== 'active') throw new Error(`the registry lists the worker as ${registered.status}`)
  if (!registered.measurementAllowed)
    throw new Error(`measurement ${registered.measurement} is not allowed by the registry`)
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
  if (info.cluster !== String(registered.cluster))
    throw new Error(`the endpoint reports cluster ${info.cluster}, the registry ${registered.cluster}`)
  if (typeof info.quote !== 'string' || info.quote.length === 0)
    throw new Error('the endpoint serves no attestation quote')
  let quote: Uint8Array
  try {
    quote = base64urlToBytes(info.quote)
  } catch {
    throw new Error('the endpoint’s quote is not base64url')
  }
  if (!same(keccak256(quote), registered.quoteHash))
    throw new Error('the endpoint serves another quote than the one it registered with')
  const data = quoteReportData(quote)
  if (!data) throw new Error('the endpoint’s quote is not a quote Veil knows (simulated, SGX or TDX)')
  const expected = reportData(registered.address, registered.x25519PublicKey, chainId, registry)
  if (!same(bytesToHex(data), `${expected}${'00'.repeat(32)}`))
    throw new Error('the quote does not bind the registered identity and X25519 key to this network')
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
