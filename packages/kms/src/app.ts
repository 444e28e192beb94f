import { type Address, errorMessage, type Hex, type Logger, silentLogger } from '@veil/protocol'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { ApproverStatus } from './approver.js'
import { KmsApiError } from './errors.js'
import type { ProvisionResponse } from './provision.js'
import type { PublisherStatus } from './publisher.js'

/** What `/healthz` shows of the service's life. */
export type KmsPhase = 'starting' | 'waiting-for-signer' | 'ready' | 'stopping'

export interface KmsHealth {
  phase: KmsPhase
  /** Whether the KMS identity is a KMS signer on the registry (null before the first check). */
  signer: boolean | null
  /** The identity's balance in wei (it pays the KMS's gas), null before the first check. */
  balanceWei: string | null
  /** What the operator has to do, when something is missing. */
  warning?: { code: string; message: string; hint: string }
}

/** `GET /v1/info`: the KMS's own attestation, checkable like a worker's (with bytes32(0) as X25519 key). */
export interface KmsInfo {
  version: string
  address: Address
  tee: 'simulated' | 'tdx'
  measurement: Hex
  /** base64url quote over reportDataFromHash(reportData(address, bytes32(0), chainId, registry)). */
  quote: string
  chainId: number
  registry: Address
}

/** `GET /v1/status`: for operators — what the approver and publisher did, and why workers were refused. */
export interface KmsStatus {
  health: KmsHealth
  approver: ApproverStatus | null
  publisher: PublisherStatus | null
}

/** What the API reads from the running service. */
export interface KmsApiSource {
  health(): KmsHealth
  info(): KmsInfo
  status(): KmsStatus
  provision(body: unknown): Promise<ProvisionResponse>
}

/** Largest provisioning request accepted (a quote and its collateral are ~25 KiB). */
export const MAX_PROVISION_BODY_BYTES = 64 * 1024

/**
 * The KMS's HTTP API as a hono app (`fetch(Request) → Response`). Every error is
 * `{ ok: false, error: { code, message } }`.
 */
export function createKmsApp(source: KmsApiSource, logger: Logger = silentLogger): Hono {
  const app = new Hono()

  app.get('/healthz', (c) => {
    const health = source.health()
    const ok = health.phase === 'ready'
    return c.json({ ok, ...health }, ok ? 200 : 503)
  })
  app.get('/v1/info', (c) => c.json(source.info()))
  app.get('/v1/status', (c) => c.json(source.status()))

  app.post(
    '/v1/provision',
    bodyLimit({
      maxSize: MAX_PROVISION_BODY_BYTES,
      onError: () => {
        throw new KmsApiError(
          413,
          'PAYLOAD_TOO_LARGE',
          `provisioning requests are limited to ${MAX_PROVISION_BODY_BYTES} bytes`,
        )
      },
    }),
    async (c) => {
      let body: unknown
      try {
        body = await c.req.json()
      } catch {
        throw new KmsApiError(400, 'BAD_REQUEST', 'the request body is not valid JSON')
      }
      return c.json(await source.provision(body))
    },
  )

  app.notFound((c) =>
    c.json(
      { ok: false, error: { code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` } },
      404,
    ),
  )
  app.onError((error, c) => {
    if (error instanceof KmsApiError) {
      const headers: Record<string, string> = error.status === 503 ? { 'retry-after': '1' } : {}
      return c.json(
        { ok: false, error: { code: error.code, message: error.shortMessage } },
        error.status,
        headers,
      )
    }
    logger.error('a KMS API request failed', { path: c.req.path, error: errorMessage(error) })
    // Never echo internal details: they may carry secrets.
    return c.json({ ok: false, error: { code: 'INTERNAL', message: 'internal error' } }, 500)
  })
  return app
}
