/**
 * A job's outcome as the runner submits it through the ledger (`$job`, sealed to the contract's key), and
 * its authentication: an HMAC under a key derived from the contract secret (`veil/v1/jobs`), which only
 * the cluster's workers hold. Every worker checks it the same way, so the check is deterministic and
 * needs no view of the registry; a stranger who seals a `$job` to the contract's public key cannot forge it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { deriveSecret } from '@veil/crypto'
import { decodeValue, encodeValue, type VeilValue as Value } from '@veil/protocol'
import { SystemRequestError } from './system-state.js'

export const JOB_OUTCOME_METHOD = '$job'
export const SECRETS_METHOD = '$secrets'
const JOBS_LABEL = 'veil/v1/jobs'

/** What a job's run() produced: its value, or its error (code and message). */
export type JobOutcome = { ok: true; value: Value } | { ok: false; error: { code: string; message: string } }

/** The argument of a `$job` command. */
export interface JobOutcomeSubmission {
  id: string
  /** `encodeValue` text of the outcome. */
  outcome: string
  /** 0x hex HMAC-SHA256 of (id, outcome) under the contract's jobs key. */
  mac: string
}

function mac(contractSecret: Uint8Array, id: string, outcomeText: string): Buffer {
  const key = deriveSecret(contractSecret, JOBS_LABEL)
  const out = createHmac('sha256', key)
    .update(encodeValue([id, outcomeText]))
    .digest()
  key.fill(0)
  return out
}

export function signJobOutcome(
  contractSecret: Uint8Array,
  id: string,
  outcome: JobOutcome,
): JobOutcomeSubmission {
  const outcomeText = encodeValue(outcome as unknown as Value)
  return { id, outcome: outcomeText, mac: `0x${mac(contractSecret, id, outcomeText).toString('hex')}` }
}

/** Validates and authenticates a `$job` argument. Throws `SystemRequestError`. */
export function openJobOutcome(
  contractSecret: Uint8Array,
  value: unknown,
): { id: string; outcome: JobOutcome } {
  const submission = value as Partial<JobOutcomeSubmission> | null
  if (
    submission === null ||
    typeof submission !== 'object' ||
    typeof submission.id !== 'string' ||
    typeof submission.outcome !== 'string' ||
    typeof submission.mac !== 'string' ||
    !/^0x[0-9a-f]{64}$/.test(submission.mac)
  ) {
    throw new SystemRequestError('BAD_ARGUMENTS', '$job expects { id, outcome, mac }')
  }
  const expected = mac(contractSecret, submission.id, submission.outcome)
  if (!timingSafeEqual(expected, Buffer.from(submission.mac.slice(2), 'hex'))) {
    throw new SystemRequestError(
      'NOT_A_WORKER',
      'the job outcome is not authenticated by a worker of the cluster',
    )
  }
  const outcome = decodeValue(submission.outcome) as unknown as JobOutcome
  const ok = (outcome as { ok?: unknown })?.ok
  if (ok !== true && ok !== false)
    throw new SystemRequestError('BAD_ARGUMENTS', 'a job outcome has ok: true | false')
  return { id: submission.id, outcome }
}
