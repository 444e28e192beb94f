/** Outbound HTTP for contracts (`ctx.http.fetch`): an SSRF-guarded, pinned, bounded client. */
export { normalizeHost, refusedAddressReason } from './address-policy.js'
export {
  type AllowEntry,
  AllowEntryError,
  isAllowlisted,
  parseAllowEntry,
  parseAllowlist,
} from './allowlist.js'
export {
  DEFAULT_EGRESS_LIMITS,
  Egress,
  EgressError,
  type EgressErrorCode,
  type EgressLimits,
  type EgressOptions,
  type EgressRequest,
  type EgressResponse,
  type EgressSession,
  InvalidEgressLimitsError,
} from './egress.js'
