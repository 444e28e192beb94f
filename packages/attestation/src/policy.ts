/**
 * Veil's acceptance policy on top of a DCAP verdict: is this an allowed program, on a platform whose TCB
 * status we accept, attested with collateral that is recent enough?
 *
 * Allowed measurements are compared against MRENCLAVE for SGX and MRTD for TDX. MRTD covers the TD's
 * initial memory (the firmware); what the firmware loads afterwards (kernel, command line, initrd, the
 * Veil runtime) is measured into RTMR0–3, which this policy does not check — a deployment that boots a
 * generic firmware must bind the RTMRs separately (e.g. through an event log replayed against them).
 */

import { VeilError } from '@veil/protocol'
import { type TcbStatus, tcbStatusRank } from './dcap/status.js'
import type { QuoteVerdict } from './dcap/verify.js'

export type PolicyErrorCode =
  /** The quote did not verify at all; `cause` carries the verifier's error. */
  | 'POLICY_QUOTE_INVALID'
  | 'POLICY_MEASUREMENT_NOT_ALLOWED'
  | 'POLICY_TCB_STATUS'
  | 'POLICY_COLLATERAL_TOO_OLD'

export class AttestationPolicyError extends VeilError {
  override name = 'AttestationPolicyError'
  declare readonly code: PolicyErrorCode

  constructor(
    code: PolicyErrorCode,
    shortMessage: string,
    options: { details?: string; hint?: string } = {},
  ) {
    super(shortMessage, { ...options, code })
  }
}

export interface AttestationPolicy {
  /** Allowed MRENCLAVE (SGX) or MRTD (TDX) values, hex, with or without 0x, any case. */
  allowedMeasurements: readonly string[]
  /**
   * The worst TCB status still accepted, in the order UpToDate < SWHardeningNeeded <
   * ConfigurationNeeded < ConfigurationAndSWHardeningNeeded < OutOfDate < OutOfDateConfigurationNeeded.
   * Default `SWHardeningNeeded`: up to date, with only software mitigations pending.
   */
  minStatus?: TcbStatus
  /** Maximum age of the TCB info used, `now − tcbInfo.issueDate`, in seconds. Unlimited by default. */
  maxCollateralAgeSeconds?: number
  /** Unix seconds. */
  now: number
}

export type PolicyResult =
  | { ok: true; measurement: string; status: TcbStatus }
  | { ok: false; error: AttestationPolicyError }

const normalize = (hex: string) => hex.toLowerCase().replace(/^0x/, '')

/**
 * Applies `policy` to a verdict of `verifyQuote`.
 *
 * @example
 * const result = checkPolicy(verifyQuote(quote, collateral, { now }), { allowedMeasurements: [mrTd], now })
 * if (!result.ok) throw result.error
 */
export function checkPolicy(verdict: QuoteVerdict, policy: AttestationPolicy): PolicyResult {
  const fail = (
    code: PolicyErrorCode,
    message: string,
    options: { details?: string; hint?: string } = {},
  ) => ({
    ok: false as const,
    error: new AttestationPolicyError(code, message, options),
  })
  if (!verdict.valid) {
    return fail('POLICY_QUOTE_INVALID', 'Quote did not verify', {
      details: `${verdict.error.code}: ${verdict.error.message}`,
    })
  }
  const measurement =
    'mrEnclave' in verdict.measurement ? verdict.measurement.mrEnclave : verdict.measurement.mrTd
  const allowed = new Set(policy.allowedMeasurements.map(normalize))
  if (!allowed.has(measurement)) {
    return fail(
      'POLICY_MEASUREMENT_NOT_ALLOWED',
      `${verdict.tee === 'SGX' ? 'MRENCLAVE' : 'MRTD'} is not allowed`,
      {
        details: measurement,
        hint: 'Add the measurement to the allowlist if this build is trusted.',
      },
    )
  }
  const minStatus = policy.minStatus ?? 'SWHardeningNeeded'
  if (tcbStatusRank(verdict.status) > tcbStatusRank(minStatus)) {
    return fail('POLICY_TCB_STATUS', `TCB status ${verdict.status} is not accepted`, {
      details:
        `the policy accepts ${minStatus} or better` +
        (verdict.advisoryIds.length > 0 ? `; advisories: ${verdict.advisoryIds.join(', ')}` : ''),
      hint: 'Update the platform (BIOS/microcode, TDX module) or relax minStatus.',
    })
  }
  if (policy.maxCollateralAgeSeconds !== undefined) {
    const age = policy.now - verdict.collateral.tcbInfoIssueDate
    if (age > policy.maxCollateralAgeSeconds) {
      return fail('POLICY_COLLATERAL_TOO_OLD', 'TCB info is too old', {
        details: `issued ${age} s ago, the policy allows ${policy.maxCollateralAgeSeconds} s`,
        hint: 'Fetch fresh collateral from the PCCS/PCS.',
      })
    }
  }
  return { ok: true, measurement, status: verdict.status }
}
