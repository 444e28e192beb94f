import type { Address, Hex } from '@veil/protocol'

/** Worker status names, indexed by the Registry's `enum WorkerStatus`. */
export const WORKER_STATUSES = ['none', 'pending', 'active', 'offline', 'revoked'] as const
export type WorkerStatus = (typeof WORKER_STATUSES)[number]

/** A worker as the ledger's Registry records it. */
export interface RegisteredWorker {
  /** The worker's identity (signs answers). */
  address: Address
  /** Its registered endpoint URL. */
  url: string
  status: WorkerStatus
  /** 0n when the worker is in no cluster. */
  cluster: bigint
  /** X25519 public key queries are sealed to. */
  x25519PublicKey: Hex
  measurement: Hex
  /** Whether the registry currently allows `measurement`. */
  measurementAllowed: boolean
  operator: Address
  /** keccak256 of the quote the worker registered with (the quote itself is in the registration calldata). */
  quoteHash: Hex
}

/** What a worker says about itself at `GET /v1/info`. */
export interface WorkerReport {
  version: string
  address: Address
  x25519: Hex
  measurement: Hex
  cluster: string | null
  chain: { block: string | null; hash: Hex | null }
  stateDigest: Hex | null
  /** Anything else the worker reports (quote, …), for custom `verifyWorker` hooks. */
  [field: string]: unknown
}

/** What `verifyWorker` receives: the registry's record and the worker's own report. */
export interface WorkerCheck {
  registered: RegisteredWorker
  info: WorkerReport
  /** The network the worker is registered on: its quote must bind this chain and registry. */
  chainId: number
  registry: Address
}

/**
 * The attestation check the SDK runs once per worker before sending it anything. Throw (any error) to
 * refuse the worker; the SDK then uses the others. See `defaultVerifyWorker`.
 */
export type VerifyWorker = (check: WorkerCheck) => void | Promise<void>

/**
 * Which worker to use, instead of spreading requests: an index into the cluster's active workers (in
 * registry order), a worker address, or a registered endpoint URL. A pinned request never fails over.
 */
export type WorkerSelector = number | string

/** The worker that served a request. */
export interface WorkerRef {
  address: Address
  url: string
}
