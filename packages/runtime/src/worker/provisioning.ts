/**
 * The worker's side of provisioning (docs/protocol.md, "Provisioning (KMS)"): ask the KMS for the
 * cluster secret with a quote, open the HPKE box sealed to this worker's X25519 key, check that a KMS
 * signer on the ledger sent it, and keep it sealed under the TEE's key so a restart needs no KMS.
 */
import { join } from 'node:path'
import type { SealedFiles } from '@veil/attestation'
import { hpkeOpen } from '@veil/crypto'
import {
  base64urlToBytes,
  bytesToBase64url,
  errorMessage,
  type Hex,
  type Logger,
  VeilError,
} from '@veil/protocol'
import { concat, keccak256, recoverMessageAddress } from 'viem'
import type { WorkerIdentity } from './identity.js'

export interface ProvisioningOptions {
  kmsUrl: string
  identity: WorkerIdentity
  cluster: bigint
  /** This worker's quote over its key binding (what it registered with, or a fresh one). */
  quote: Uint8Array
  /** Intel collateral for a hardware quote; `null` for simulated quotes. */
  collateral: unknown
  chainId: number
  registry: Hex
  /** Whether `address` is a KMS signer on the ledger. */
  isKmsSigner: (address: Hex) => Promise<boolean>
  /** Where the cluster secret is kept, sealed, between restarts. */
  dataDir: string
  sealed: SealedFiles
  logger: Logger
  signal: AbortSignal
  fetch?: typeof fetch
  /** Per request. Default 10 s. */
  timeoutMs?: number
  /** Between attempts while the KMS is unreachable or not ready. Default 1 s. */
  retryMs?: number
}

/** A refusal by the KMS (its code: `NOT_CLUSTER_MEMBER`, `WORKER_REVOKED`, `QUOTE_INVALID`, …). */
export class ProvisioningError extends VeilError {
  override name = 'ProvisioningError'
}

const SECRET_LABEL = 'veil/v1/seal/worker-cluster-secret'

/** The cluster secret a worker keeps, sealed, in its data dir (`undefined` before its first provisioning). */
export function unsealClusterSecret(
  dataDir: string,
  cluster: bigint,
  sealed: SealedFiles,
): Promise<Uint8Array | undefined> {
  return sealed.read(join(dataDir, `cluster-${cluster}.sealed`), `${SECRET_LABEL}/${cluster}`)
}

/**
 * The cluster secret: unsealed from the data dir when this worker was provisioned before, otherwise
 * from the KMS (retrying while it is unreachable or not ready; a refusal is final).
 */
export async function obtainClusterSecret(options: ProvisioningOptions): Promise<Uint8Array> {
  const path = join(options.dataDir, `cluster-${options.cluster}.sealed`)
  const kept = await unsealClusterSecret(options.dataDir, options.cluster, options.sealed)
  if (kept) {
    if (kept.length !== 32)
      throw new ProvisioningError(`${path} does not hold a cluster secret`, { code: 'SECRET_INVALID' })
    options.logger.info('cluster secret unsealed from the data dir', { cluster: String(options.cluster) })
    return kept
  }
  const started = Date.now()
  const secret = await requestWithRetry(options)
  await options.sealed.write(path, `${SECRET_LABEL}/${options.cluster}`, secret)
  options.logger.info('provisioned by the KMS', {
    cluster: String(options.cluster),
    ms: Date.now() - started,
  })
  return secret
}

async function requestWithRetry(options: ProvisioningOptions): Promise<Uint8Array> {
  let warned = false
  for (;;) {
    try {
      return await requestClusterSecret(options)
    } catch (error) {
      if (error instanceof ProvisioningError || options.signal.aborted) throw error
      if (!warned) {
        options.logger.warn('the KMS is not reachable yet; retrying', {
          url: options.kmsUrl,
          error: errorMessage(error),
        })
        warned = true
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.retryMs ?? 1000)
      options.signal.addEventListener('abort', () => {
        clearTimeout(timer)
        resolve()
      })
    })
    if (options.signal.aborted) throw new VeilError('provisioning was cancelled', { code: 'ABORTED' })
  }
}

/** One provisioning request. Throws `ProvisioningError` for refusals and bad answers, other errors for I/O. */
export async function requestClusterSecret(options: ProvisioningOptions): Promise<Uint8Array> {
  const { identity, cluster } = options
  const doFetch = options.fetch ?? fetch
  const response = await doFetch(new URL('/v1/provision', options.kmsUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      v: 1,
      worker: identity.address,
      cluster: String(cluster),
      quote: bytesToBase64url(options.quote),
      collateral: options.collateral ?? null,
    }),
    signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs ?? 10_000)]),
  })
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined
  if (response.status === 503 || response.status >= 500 || body === undefined) {
    throw new Error(`the KMS answered ${response.status}`) // transient: retried
  }
  if (!response.ok) {
    const error = (body.error ?? {}) as { code?: string; message?: string }
    throw new ProvisioningError(
      `the KMS refused to provision this worker: ${error.message ?? response.status}`,
      {
        code: error.code ?? 'PROVISIONING_REFUSED',
        hint: hintFor(error.code),
      },
    )
  }
  const bad = (why: string) =>
    new ProvisioningError(`the KMS answer does not verify: ${why}`, {
      code: 'PROVISIONING_ANSWER_INVALID',
      hint: 'check that network.json names the network’s real KMS',
    })
  if (
    body.v !== 1 ||
    body.cluster !== String(cluster) ||
    typeof body.enc !== 'string' ||
    typeof body.ct !== 'string'
  )
    throw bad('unexpected fields')
  const enc = base64urlToBytes(body.enc)
  const ct = base64urlToBytes(body.ct)
  const signer = await recoverMessageAddress({
    message: { raw: keccak256(concat([enc, ct])) },
    signature: body.signature as Hex,
  }).catch(() => undefined)
  if (!signer || !(await options.isKmsSigner(signer)))
    throw bad(`signed by ${signer ?? 'nobody'}, not a KMS signer on the ledger`)
  let secret: Uint8Array
  try {
    secret = hpkeOpen({
      recipientPrivateKey: identity.x25519PrivateKey,
      enc,
      ciphertext: ct,
      info: `veil/v1/provision/${options.chainId}/${options.registry.toLowerCase()}/${identity.address.toLowerCase()}/${cluster}`,
      aead: 'aes-128-gcm',
    })
  } catch {
    throw bad('the secret is not sealed to this worker’s key')
  }
  if (secret.length !== 32) throw bad(`a cluster secret has 32 bytes, got ${secret.length}`)
  return secret
}

function hintFor(code: string | undefined): string {
  switch (code) {
    case 'NOT_CLUSTER_MEMBER':
    case 'WORKER_NOT_ACTIVE':
      return 'wait for the registry owner (or the KMS) to approve the worker and add it to the cluster'
    case 'WORKER_REVOKED':
      return 'a revoked identity cannot serve again; start a new worker with an empty data dir'
    case 'MEASUREMENT_NOT_ALLOWED':
      return 'this build is not on the ledger’s allowlist; run an allowed build, or ask the registry owner to allow it'
    case 'SIMULATED_QUOTE_REFUSED':
      return 'this network is in production mode: run the worker in an Intel TDX confidential VM (--tee tdx)'
    default:
      return 'see docs/trust.md for what the KMS checks'
  }
}
