/**
 * TCB statuses (Intel's names, exactly) and how the platform, TDX module and QE statuses merge into the
 * quote's status.
 *
 * Each status is a set of conditions — out of date, configuration needed, software hardening needed,
 * revoked — and merging takes their union ("worst of"): OutOfDate with ConfigurationNeeded gives
 * OutOfDateConfigurationNeeded, as in Intel's QVL; OutOfDate subsumes SWHardeningNeeded (Intel has no
 * OutOfDateSWHardeningNeeded); Revoked overrides everything.
 */

export const TCB_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
] as const

/** A TCB status as Intel names it, from best (`UpToDate`) to worst (`Revoked`). */
export type TcbStatus = (typeof TCB_STATUSES)[number]

export function isTcbStatus(value: unknown): value is TcbStatus {
  return typeof value === 'string' && (TCB_STATUSES as readonly string[]).includes(value)
}

/** 0 for `UpToDate` … 6 for `Revoked`: the order used by policies ("at least as good as"). */
export function tcbStatusRank(status: TcbStatus): number {
  return TCB_STATUSES.indexOf(status)
}

interface Conditions {
  outOfDate: boolean
  configurationNeeded: boolean
  swHardeningNeeded: boolean
  revoked: boolean
}

const CONDITIONS: Record<TcbStatus, Conditions> = {
  UpToDate: { outOfDate: false, configurationNeeded: false, swHardeningNeeded: false, revoked: false },
  SWHardeningNeeded: {
    outOfDate: false,
    configurationNeeded: false,
    swHardeningNeeded: true,
    revoked: false,
  },
  ConfigurationNeeded: {
    outOfDate: false,
    configurationNeeded: true,
    swHardeningNeeded: false,
    revoked: false,
  },
  ConfigurationAndSWHardeningNeeded: {
    outOfDate: false,
    configurationNeeded: true,
    swHardeningNeeded: true,
    revoked: false,
  },
  OutOfDate: { outOfDate: true, configurationNeeded: false, swHardeningNeeded: false, revoked: false },
  OutOfDateConfigurationNeeded: {
    outOfDate: true,
    configurationNeeded: true,
    swHardeningNeeded: false,
    revoked: false,
  },
  Revoked: { outOfDate: false, configurationNeeded: false, swHardeningNeeded: false, revoked: true },
}

/**
 * Merges statuses (platform TCB, TDX module, QE identity) into the quote's status.
 *
 * @example
 * mergeTcbStatus('ConfigurationNeeded', 'OutOfDate') // 'OutOfDateConfigurationNeeded'
 */
export function mergeTcbStatus(...statuses: TcbStatus[]): TcbStatus {
  const merged: Conditions = {
    outOfDate: false,
    configurationNeeded: false,
    swHardeningNeeded: false,
    revoked: false,
  }
  for (const status of statuses) {
    const c = CONDITIONS[status]
    merged.outOfDate ||= c.outOfDate
    merged.configurationNeeded ||= c.configurationNeeded
    merged.swHardeningNeeded ||= c.swHardeningNeeded
    merged.revoked ||= c.revoked
  }
  if (merged.revoked) return 'Revoked'
  if (merged.outOfDate) return merged.configurationNeeded ? 'OutOfDateConfigurationNeeded' : 'OutOfDate'
  if (merged.configurationNeeded) {
    return merged.swHardeningNeeded ? 'ConfigurationAndSWHardeningNeeded' : 'ConfigurationNeeded'
  }
  return merged.swHardeningNeeded ? 'SWHardeningNeeded' : 'UpToDate'
}

/** Union of advisory id lists, first occurrence order (platform first, then TDX module, then QE). */
export function mergeAdvisoryIds(...lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())]
}
