/**
 * `POST /v1/provision` (docs/protocol.md, "Provisioning (KMS)"): a worker that is active and in a
 * cluster asks for its cluster secret. The KMS reads the ledger at request time (a revoked or removed
 * worker is refused at once), verifies the quote against the worker's registered keys and measurement,
 * and answers the cluster secret HPKE-sealed to the worker's registered X25519 key, with an EIP-191
 * signature by the KMS identity over keccak256(enc ‖ ct).
 *
 * Security invariant: the secret is sealed to the key on the ledger, never to a key from the request,
 * so only the TEE whose quote bound that key at registration can open it.
 */
import { AttestationError, type DcapCollateral, DcapError, parseCollateral } from '@veil/attestation'
import { deriveClusterSecret, hpkeSeal, keccak256, signPersonalMessage } from '@veil/crypto'
import { WorkerStatus } from '@veil/ledger'
import {
  type Address,
  base64urlToBytes,
  bytesToBase64url,
  type Clock,
  errorMessage,
  type Hex,
  isAddress,
  type Logger,
} from '@veil/protocol'
import { getAddress, hexToBytes } from 'viem'
import { type QuotePolicy, verifyRegisteredWorker } from './attestation.js'
import { KmsApiError } from './errors.js'
import type { RegistryReader } from './registry-reader.js'

/** The request body of `POST /v1/provision`. */
export interface ProvisionRequest {
  v: 1
  /** The worker's identity address. */
  worker: Address
  /** Decimal cluster id, e.g. `"1"`. */
  cluster: string
  /** The worker's quote, base64url (no padding). */
  quote: string
  /** Intel collateral (collateral.json object) for hardware quotes; `null` for simulated ones. */
  collateral: Record<string, unknown> | null
}

/** The answer of `POST /v1/provision`. */
export interface ProvisionResponse {
  v: 1
  cluster: string
  /** The KMS identity that signed `signature`; the worker checks it is a KMS signer on the ledger. */
  kms: Address
  /** HPKE encapsulated key, base64url. */
  enc: string
  /** HPKE ciphertext of the 32-byte cluster secret, base64url. */
  ct: string
  /** EIP-191 personal_sign of keccak256(enc ‖ ct) (the 32 bytes), `0x` r ‖ s ‖ v. */
  signature: Hex
}

/** A request that passed the shape checks. */
export interface ParsedProvisionRequest {
  worker: Address
  cluster: bigint
  quote: Uint8Array
  collateral: DcapCollateral | undefined
}

/** The HPKE suite of provisioning answers. */
export const PROVISION_AEAD = 'aes-128-gcm'

/** Largest quote accepted, as on the registry (`MAX_QUOTE_BYTES`). */
export const MAX_QUOTE_BYTES = 16 * 1024

const MAX_UINT64 = 2n ** 64n - 1n
const CLUSTER_ID = /^[1-9][0-9]{0,19}$/

/**
 * HPKE `info` of a provisioning answer: `veil/v1/provision/<chainId>/<registry>/<worker>/<cluster>`
 * (addresses lowercase), so an answer opens only for this worker, cluster, chain and registry.
 */
export function provisionInfo(chainId: number, registry: Address, worker: Address, cluster: bigint): string {
  return `veil/v1/provision/${chainId}/${registry.toLowerCase()}/${worker.toLowerCase()}/${cluster}`
}

/** The 32 bytes the KMS signs (EIP-191) for an answer: keccak256(enc ‖ ct). */
export function provisionDigest(enc: Uint8Array, ct: Uint8Array): Uint8Array {
  const both = new Uint8Array(enc.length + ct.length)
  both.set(enc)
  both.set(ct, enc.length)
  return keccak256(both)
}

const badRequest = (message: string, details?: string) =>
  new KmsApiError(400, 'BAD_REQUEST', message, details === undefined ? {} : { details })

/** Checks the request's shape; throws `KmsApiError` 400 `BAD_REQUEST` naming the wrong field. */
export function parseProvisionRequest(body: unknown): ParsedProvisionRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('the request body must be a JSON object { v, worker, cluster, quote, collateral }')
  const request = body as Record<string, unknown>
  if (request.v !== 1) throw badRequest('"v" must be 1')
  if (!isAddress(request.worker)) throw badRequest('"worker" must be a 0x-prefixed 20-byte address')
  if (typeof request.cluster !== 'string' || !CLUSTER_ID.test(request.cluster))
    throw badRequest('"cluster" must be a decimal cluster id without leading zeros, e.g. "1"')
  const cluster = BigInt(request.cluster)
  if (cluster > MAX_UINT64) throw badRequest('"cluster" is larger than a uint64')
  if (typeof request.quote !== 'string' || request.quote.length === 0)
    throw badRequest('"quote" must be the base64url quote')
  let quote: Uint8Array
  try {
    quote = base64urlToBytes(request.quote)
  } catch (error) {
    throw badRequest('"quote" is not valid base64url (no padding)', errorMessage(error))
  }
  if (quote.length === 0 || quote.length > MAX_QUOTE_BYTES)
    throw badRequest(`"quote" must hold 1 to ${MAX_QUOTE_BYTES} bytes, got ${quote.length}`)
  let collateral: DcapCollateral | undefined
  if (request.collateral !== null && request.collateral !== undefined) {
    if (typeof request.collateral !== 'object' || Array.isArray(request.collateral))
      throw badRequest('"collateral" must be a collateral.json object or null')
    try {
      collateral = parseCollateral(request.collateral)
    } catch (error) {
      if (!(error instanceof DcapError)) throw error
      throw badRequest('"collateral" is malformed', error.details ?? error.shortMessage)
    }
  }
  return { worker: getAddress(request.worker), cluster, quote, collateral }
}

export interface ProvisionerOptions {
  registry: RegistryReader
  chainId: number
  registryAddress: Address
  /** The KMS master secret (32 bytes). */
  masterSecret: Uint8Array
  /** The KMS identity's secp256k1 key, which signs answers. */
  identityKey: Uint8Array
  /** The KMS identity's address (`kms` in answers). */
  address: Address
  policy: QuotePolicy
  clock: Clock
  logger: Logger
}

/** Answers provisioning requests (the logic of `POST /v1/provision`, without HTTP). */
export class Provisioner {
  private readonly log: Logger
  private closed = false

  constructor(private readonly options: ProvisionerOptions) {
    this.log = options.logger
  }

  /**
   * Checks everything docs/protocol.md lists and returns the sealed cluster secret; throws
   * `KmsApiError` (400 malformed, 403 refused with its code, 503 ledger unreachable).
   */
  async provision(body: unknown): Promise<ProvisionResponse> {
    if (this.closed) throw new KmsApiError(503, 'NOT_READY', 'the KMS is stopping')
    const request = parseProvisionRequest(body)
    try {
      const response = await this.answer(request)
      this.log.info('provisioned a cluster secret', {
        worker: request.worker,
        cluster: String(request.cluster),
      })
      return response
    } catch (error) {
      if (error instanceof KmsApiError && error.status === 403)
        this.log.warn('refused to provision a worker', {
          worker: request.worker,
          cluster: String(request.cluster),
          code: error.code,
          reason: error.shortMessage,
        })
      throw error
    }
  }

  private async answer(request: ParsedProvisionRequest): Promise<ProvisionResponse> {
    const { options } = this
    const { worker, cluster } = request
    const [record, devMode] = await this.readLedger(() =>
      Promise.all([options.registry.getWorker(worker), options.registry.devMode()]),
    )
    if (record.status === WorkerStatus.None)
      throw refusal('WORKER_NOT_REGISTERED', `worker ${worker} is not registered on the ledger`)
    if (record.status === WorkerStatus.Revoked)
      throw refusal('WORKER_REVOKED', `worker ${worker} has been revoked`)
    if (record.status !== WorkerStatus.Active)
      throw refusal(
        'WORKER_NOT_ACTIVE',
        `worker ${worker} is not active (status ${statusName(record.status)}); a KMS approves it first`,
      )
    if (record.cluster !== cluster)
      throw refusal(
        'NOT_CLUSTER_MEMBER',
        record.cluster === 0n
          ? `worker ${worker} is in no cluster`
          : `worker ${worker} is a member of cluster ${record.cluster}, not ${cluster}`,
      )
    // Ask the ledger about the registered measurement while the quote is being checked: the quote's
    // measurement must equal it anyway, so that is the answer the check will want.
    const registeredAllowed = this.readLedger(() => options.registry.measurementAllowed(record.measurement))
    registeredAllowed.catch(() => {}) // awaited below, or not needed when the quote fails first
    const isMeasurementAllowed = (m: Hex) =>
      m.toLowerCase() === record.measurement.toLowerCase()
        ? registeredAllowed
        : this.readLedger(() => options.registry.measurementAllowed(m))
    try {
      await verifyRegisteredWorker({
        worker: {
          address: worker,
          x25519PublicKey: record.x25519PublicKey,
          measurement: record.measurement,
        },
        quote: request.quote,
        collateral: request.collateral,
        chainId: options.chainId,
        registry: options.registryAddress,
        devMode,
        isMeasurementAllowed,
        now: Math.floor(options.clock.now() / 1000),
        policy: options.policy,
      })
    } catch (error) {
      if (error instanceof AttestationError) throw refusal(error.code, error.shortMessage)
      throw error
    }
    return this.seal(worker, cluster, hexToBytes(record.x25519PublicKey))
  }

  /** Refuses every request from now on; call before the master secret is wiped. */
  close(): void {
    this.closed = true
  }

  private seal(worker: Address, cluster: bigint, recipientPublicKey: Uint8Array): ProvisionResponse {
    const { options } = this
    // Synchronous from this check to the seal: a request that was mid-flight at shutdown never derives
    // from a wiped master secret.
    if (this.closed) throw new KmsApiError(503, 'NOT_READY', 'the KMS is stopping')
    const clusterSecret = deriveClusterSecret(options.masterSecret, String(cluster))
    try {
      const { enc, ciphertext } = hpkeSeal({
        recipientPublicKey,
        info: provisionInfo(options.chainId, options.registryAddress, worker, cluster),
        aead: PROVISION_AEAD,
        plaintext: clusterSecret,
      })
      return {
        v: 1,
        cluster: String(cluster),
        kms: options.address,
        enc: bytesToBase64url(enc),
        ct: bytesToBase64url(ciphertext),
        signature: signPersonalMessage(options.identityKey, provisionDigest(enc, ciphertext)),
      }
    } finally {
      clusterSecret.fill(0)
    }
  }

  private async readLedger<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read()
    } catch (error) {
      this.log.warn('reading the ledger for a provisioning request failed', { error: errorMessage(error) })
      throw new KmsApiError(503, 'NOT_READY', 'the KMS cannot read the ledger right now; retry shortly')
    }
  }
}

function refusal(code: KmsApiError['code'], message: string): KmsApiError {
  return new KmsApiError(403, code, message)
}

function statusName(status: number): string {
  const entry = Object.entries(WorkerStatus).find(([, value]) => value === status)
  return entry ? entry[0].toLowerCase() : String(status)
}
