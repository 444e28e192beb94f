import { createHash } from 'node:crypto'

/**
 * DEVELOPMENT ONLY, PUBLICLY KNOWN. Stands in for the KMS master secret until the KMS exists: every
 * worker of a dev network derives the same contract secrets from it, so state is encrypted with the
 * production layout but protects nothing. Workers refuse it on a ledger that is not in dev mode.
 */
export const DEV_MASTER_SECRET: Uint8Array = new Uint8Array(
  createHash('sha256').update('veil/v1/dev-master-secret (public, development only)').digest(),
)
