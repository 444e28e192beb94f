/**
 * DEVELOPMENT ONLY, PUBLICLY KNOWN: the stand-in for the KMS master secret on dev networks (see
 * `@veil/crypto`). Workers refuse it on a ledger that is not in dev mode.
 */
export { DEV_MASTER_SECRET } from '@veil/crypto'
