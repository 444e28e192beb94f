/**
 * Intel TCB info (SGX v2/v3, TDX v3): parsing, and evaluation of a platform against it — which TCB level
 * the platform reaches (SGX components 1–16 and PCESVN from the PCK certificate; for TDX also the TD
 * report's TEE_TCB_SVN) and, for TDX, which TDX module identity and module TCB level apply.
 *
 * TCB levels are taken in the order Intel publishes them (newest first) and the first level the
 * platform reaches wins, as in Intel's QVL.
 */

import { maskedEqual, toHex } from '../bytes.js'
import { DcapError } from './errors.js'
import { JsonFields } from './json-fields.js'
import type { PckTcb } from './pck-extensions.js'
import type { TdReport } from './quote.js'
import { isTcbStatus, type TcbStatus } from './status.js'

export interface TcbLevel {
  /** SGX TCB component SVNs 1–16. */
  sgxComponents: number[]
  pceSvn: number
  /** TDX TCB component SVNs 1–16 (TEE_TCB_SVN), TDX TCB info only. */
  tdxComponents: number[] | undefined
  tcbDate: string
  status: TcbStatus
  advisoryIds: string[]
}

export interface ModuleTcbLevel {
  isvSvn: number
  tcbDate: string
  status: TcbStatus
  advisoryIds: string[]
}

export interface TdxModuleIdentity {
  /** `TDX_<major version as 2 hex digits>`, e.g. `TDX_01`. */
  id: string
  mrSigner: Uint8Array
  attributes: Uint8Array
  attributesMask: Uint8Array
  tcbLevels: ModuleTcbLevel[]
}

export interface TcbInfo {
  id: 'SGX' | 'TDX'
  version: number
  /** Unix seconds. */
  issueDate: number
  nextUpdate: number
  /** Lowercase hex. */
  fmspc: string
  pceId: string
  tcbType: number
  tcbEvaluationDataNumber: number
  tdxModule: { mrSigner: Uint8Array; attributes: Uint8Array; attributesMask: Uint8Array } | undefined
  tdxModuleIdentities: TdxModuleIdentity[]
  tcbLevels: TcbLevel[]
}

const CODE = 'TCB_INFO_MALFORMED'
const WHAT = 'TCB info'

function status(fields: JsonFields, key: string): TcbStatus {
  const value = fields.raw(key)
  if (!isTcbStatus(value)) throw fields.fail(key, 'a TCB status (UpToDate, SWHardeningNeeded, …, Revoked)')
  return value
}

function components(fields: JsonFields, key: string): number[] {
  const list = fields.objects(key)
  if (list.length !== 16) throw fields.fail(key, '16 components')
  return list.map((component) => component.integer('svn', 0xff))
}

function parseLevel(level: JsonFields, version: number, tdx: boolean): TcbLevel {
  const tcb = level.object('tcb')
  let sgxComponents: number[]
  if (version === 2) {
    sgxComponents = []
    for (let i = 1; i <= 16; i++)
      sgxComponents.push(tcb.integer(`sgxtcbcomp${String(i).padStart(2, '0')}svn`, 0xff))
  } else {
    sgxComponents = components(tcb, 'sgxtcbcomponents')
  }
  return {
    sgxComponents,
    pceSvn: tcb.integer('pcesvn'),
    tdxComponents: tdx ? components(tcb, 'tdxtcbcomponents') : undefined,
    tcbDate: level.string('tcbDate'),
    status: status(level, 'tcbStatus'),
    advisoryIds: level.strings('advisoryIDs'),
  }
}

function parseModuleIdentity(identity: JsonFields): TdxModuleIdentity {
  return {
    id: identity.string('id').toUpperCase(),
    mrSigner: identity.hex('mrsigner', 48),
    attributes: identity.hex('attributes', 8),
    attributesMask: identity.hex('attributesMask', 8),
    tcbLevels: identity.objects('tcbLevels').map((level) => ({
      isvSvn: level.object('tcb').integer('isvsvn', 0xff),
      tcbDate: level.string('tcbDate'),
      status: status(level, 'tcbStatus'),
      advisoryIds: level.strings('advisoryIDs'),
    })),
  }
}

/** Parses the signed `tcbInfo` JSON text (after its signature was checked). Throws `TCB_INFO_MALFORMED`. */
export function parseTcbInfo(text: string): TcbInfo {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new DcapError(CODE, 'TCB info is not valid JSON', { cause })
  }
  const info = JsonFields.of(json, 'tcbInfo', CODE, WHAT)
  const version = info.integer('version')
  if (version !== 2 && version !== 3) throw info.fail('version', '2 or 3')
  let id: 'SGX' | 'TDX' = 'SGX'
  if (version === 3) {
    const raw = info.string('id')
    if (raw !== 'SGX' && raw !== 'TDX') throw info.fail('id', '"SGX" or "TDX"')
    id = raw
  }
  const tcbType = info.integer('tcbType')
  if (tcbType !== 0) throw info.fail('tcbType', '0 (the only TCB type defined)')
  const tdx = id === 'TDX'
  const tcbLevels = info.objects('tcbLevels').map((level) => parseLevel(level, version, tdx))
  if (tcbLevels.length === 0) throw info.fail('tcbLevels', 'at least one level')
  let tdxModule: TcbInfo['tdxModule']
  if (tdx) {
    const module = info.object('tdxModule')
    tdxModule = {
      mrSigner: module.hex('mrsigner', 48),
      attributes: module.hex('attributes', 8),
      attributesMask: module.hex('attributesMask', 8),
    }
  }
  return {
    id,
    version,
    issueDate: info.time('issueDate'),
    nextUpdate: info.time('nextUpdate'),
    fmspc: toHex(info.hex('fmspc', 6)),
    pceId: toHex(info.hex('pceId', 2)),
    tcbType,
    tcbEvaluationDataNumber: info.integer('tcbEvaluationDataNumber', 0xffffffff),
    tdxModule,
    tdxModuleIdentities: info.has('tdxModuleIdentities')
      ? info.objects('tdxModuleIdentities').map(parseModuleIdentity)
      : [],
    tcbLevels,
  }
}

/** Intel's message for a platform below every TCB level; tests match it against expected.json. */
export const NO_MATCHING_TCB_LEVEL = 'No matching TCB level found'

/**
 * The first TCB level the platform reaches: every SGX component and PCESVN of the PCK certificate ≥
 * the level's, and for TDX every TEE_TCB_SVN byte ≥ the level's TDX component — except bytes 0–1 (the
 * TDX module's SVN and major version) when TEE_TCB_SVN[1] > 0, which the module identity covers instead.
 * Throws `TCB_LEVEL_NOT_FOUND`.
 */
export function matchTcbLevel(tcbInfo: TcbInfo, pckTcb: PckTcb, teeTcbSvn?: Uint8Array): TcbLevel {
  const firstTdxIndex = teeTcbSvn !== undefined && (teeTcbSvn[1] ?? 0) > 0 ? 2 : 0
  const level = tcbInfo.tcbLevels.find((candidate) => {
    if (pckTcb.pceSvn < candidate.pceSvn) return false
    if (candidate.sgxComponents.some((svn, i) => (pckTcb.sgxComponents[i] ?? 0) < svn)) return false
    if (teeTcbSvn === undefined) return true
    const tdx = candidate.tdxComponents
    if (tdx === undefined) return false
    for (let i = firstTdxIndex; i < 16; i++) if ((teeTcbSvn[i] ?? 0) < (tdx[i] ?? 0)) return false
    return true
  })
  if (level === undefined) {
    throw new DcapError('TCB_LEVEL_NOT_FOUND', NO_MATCHING_TCB_LEVEL, {
      details:
        `platform SGX TCB components [${pckTcb.sgxComponents.join(',')}], PCESVN ${pckTcb.pceSvn}` +
        (teeTcbSvn === undefined ? '' : `, TEE_TCB_SVN ${toHex(teeTcbSvn)}`) +
        ` are below every level of the TCB info for FMSPC ${tcbInfo.fmspc}`,
    })
  }
  return level
}

export interface TdxModuleVerdict {
  /** `TDX_01`, … or `undefined` when TEE_TCB_SVN[1] is 0 (no module identity applies). */
  identityId: string | undefined
  /** The module TCB level's status; `undefined` when no module identity applies. */
  status: TcbStatus | undefined
  advisoryIds: string[]
}

/**
 * Checks the TDX module against the TCB info: MRSIGNERSEAM and SEAMATTRIBUTES (under the mask) must
 * match the module identity `TDX_<TEE_TCB_SVN[1]>` (or `tdxModule` when TEE_TCB_SVN[1] is 0), whose
 * first TCB level with ISVSVN ≤ TEE_TCB_SVN[0] gives the module's status. Throws `TDX_MODULE_MISMATCH`
 * or `TCB_LEVEL_NOT_FOUND`.
 */
export function checkTdxModule(tcbInfo: TcbInfo, report: TdReport): TdxModuleVerdict {
  const moduleSvn = report.teeTcbSvn[0] ?? 0
  const moduleVersion = report.teeTcbSvn[1] ?? 0
  let expected = tcbInfo.tdxModule
  let identity: TdxModuleIdentity | undefined
  if (moduleVersion > 0) {
    const id = `TDX_${moduleVersion.toString(16).toUpperCase().padStart(2, '0')}`
    identity = tcbInfo.tdxModuleIdentities.find((candidate) => candidate.id === id)
    if (identity === undefined) {
      throw new DcapError('TDX_MODULE_MISMATCH', `TCB info has no TDX module identity ${id}`, {
        details: `TEE_TCB_SVN ${toHex(report.teeTcbSvn)} names TDX module major version ${moduleVersion}`,
      })
    }
    expected = identity
  }
  if (expected === undefined) {
    throw new DcapError('TCB_INFO_MALFORMED', 'TCB info is malformed', {
      details: 'tcbInfo.tdxModule is missing',
    })
  }
  if (toHex(report.mrSignerSeam) !== toHex(expected.mrSigner)) {
    throw new DcapError('TDX_MODULE_MISMATCH', 'TDX module was not signed by the expected signer', {
      details: `MRSIGNERSEAM ${toHex(report.mrSignerSeam)} ≠ ${toHex(expected.mrSigner)}`,
    })
  }
  if (!maskedEqual(report.seamAttributes, expected.attributes, expected.attributesMask)) {
    throw new DcapError('TDX_MODULE_MISMATCH', 'TDX module attributes do not match the TCB info', {
      details: `SEAMATTRIBUTES ${toHex(report.seamAttributes)}, expected ${toHex(expected.attributes)} under mask ${toHex(expected.attributesMask)}`,
    })
  }
  if (identity === undefined) return { identityId: undefined, status: undefined, advisoryIds: [] }
  const level = identity.tcbLevels.find((candidate) => moduleSvn >= candidate.isvSvn)
  if (level === undefined) {
    throw new DcapError('TCB_LEVEL_NOT_FOUND', `${NO_MATCHING_TCB_LEVEL} for TDX module ${identity.id}`, {
      details: `module ISVSVN ${moduleSvn} is below every level`,
    })
  }
  return { identityId: identity.id, status: level.status, advisoryIds: level.advisoryIds }
}
