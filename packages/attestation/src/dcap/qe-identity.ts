/**
 * Intel QE identity (enclave identity v2 of the quoting enclave: `QE` for SGX, `TD_QE` for TDX):
 * parsing, and evaluation of the quote's QE report against it — MRSIGNER, ISVPRODID, MISCSELECT and
 * ATTRIBUTES under their masks must match; the first TCB level with ISVSVN ≤ the QE's gives its status.
 */

import { bytesEqual, maskedEqual, toHex } from '../bytes.js'
import { DcapError } from './errors.js'
import { JsonFields } from './json-fields.js'
import type { EnclaveReport, Tee } from './quote.js'
import { isTcbStatus, type TcbStatus } from './status.js'
import { NO_MATCHING_TCB_LEVEL } from './tcb-info.js'

export interface QeTcbLevel {
  isvSvn: number
  tcbDate: string
  /** As published; Intel's QE levels use UpToDate, OutOfDate and Revoked. */
  status: TcbStatus
  advisoryIds: string[]
}

export interface QeIdentity {
  id: 'QE' | 'QVE' | 'TD_QE'
  version: number
  issueDate: number
  nextUpdate: number
  tcbEvaluationDataNumber: number
  miscSelect: Uint8Array
  miscSelectMask: Uint8Array
  attributes: Uint8Array
  attributesMask: Uint8Array
  mrSigner: Uint8Array
  isvProdId: number
  tcbLevels: QeTcbLevel[]
}

const CODE = 'QE_IDENTITY_MALFORMED'

/** Parses the signed `enclaveIdentity` JSON text (after its signature was checked). */
export function parseQeIdentity(text: string): QeIdentity {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new DcapError(CODE, 'QE identity is not valid JSON', { cause })
  }
  const identity = JsonFields.of(json, 'enclaveIdentity', CODE, 'QE identity')
  const version = identity.integer('version')
  if (version !== 2) throw identity.fail('version', '2')
  const id = identity.string('id')
  if (id !== 'QE' && id !== 'QVE' && id !== 'TD_QE') throw identity.fail('id', '"QE", "QVE" or "TD_QE"')
  const tcbLevels = identity.objects('tcbLevels').map((level) => {
    const status = level.raw('tcbStatus')
    if (!isTcbStatus(status)) throw level.fail('tcbStatus', 'a TCB status')
    return {
      isvSvn: level.object('tcb').integer('isvsvn'),
      tcbDate: level.string('tcbDate'),
      status,
      advisoryIds: level.strings('advisoryIDs'),
    }
  })
  return {
    id,
    version,
    issueDate: identity.time('issueDate'),
    nextUpdate: identity.time('nextUpdate'),
    tcbEvaluationDataNumber: identity.integer('tcbEvaluationDataNumber', 0xffffffff),
    miscSelect: identity.hex('miscselect', 4),
    miscSelectMask: identity.hex('miscselectMask', 4),
    attributes: identity.hex('attributes', 16),
    attributesMask: identity.hex('attributesMask', 16),
    mrSigner: identity.hex('mrsigner', 32),
    isvProdId: identity.integer('isvprodid'),
    tcbLevels,
  }
}

export interface QeVerdict {
  /** UpToDate, OutOfDate or Revoked (Intel maps every other level status to OutOfDate for the QE). */
  status: TcbStatus
  isvSvn: number
  advisoryIds: string[]
}

function mismatch(message: string, details: string): DcapError {
  return new DcapError('QE_IDENTITY_MISMATCH', message, { details })
}

/** Evaluates the QE report of a `tee` quote against the QE identity. */
export function checkQeIdentity(identity: QeIdentity, report: EnclaveReport, tee: Tee): QeVerdict {
  const expectedId = tee === 'TDX' ? 'TD_QE' : 'QE'
  if (identity.id !== expectedId) {
    throw mismatch(
      `QE identity is for ${identity.id}, not ${expectedId}`,
      `a ${tee} quote is made by the ${expectedId}`,
    )
  }
  if (!bytesEqual(report.mrSigner, identity.mrSigner)) {
    throw mismatch(
      'Quoting enclave is not signed by Intel',
      `QE MRSIGNER ${toHex(report.mrSigner)} ≠ ${toHex(identity.mrSigner)}`,
    )
  }
  if (report.isvProdId !== identity.isvProdId) {
    throw mismatch('Quoting enclave has the wrong ISVPRODID', `${report.isvProdId} ≠ ${identity.isvProdId}`)
  }
  if (!maskedEqual(report.miscSelect, identity.miscSelect, identity.miscSelectMask)) {
    throw mismatch('Quoting enclave MISCSELECT does not match', `MISCSELECT ${toHex(report.miscSelect)}`)
  }
  if (!maskedEqual(report.attributes, identity.attributes, identity.attributesMask)) {
    throw mismatch('Quoting enclave ATTRIBUTES do not match', `ATTRIBUTES ${toHex(report.attributes)}`)
  }
  const level = identity.tcbLevels.find((candidate) => report.isvSvn >= candidate.isvSvn)
  if (level === undefined) {
    throw new DcapError('TCB_LEVEL_NOT_FOUND', `${NO_MATCHING_TCB_LEVEL} for the quoting enclave`, {
      details: `QE ISVSVN ${report.isvSvn} is below every level of the QE identity`,
    })
  }
  const status: TcbStatus =
    level.status === 'UpToDate' || level.status === 'Revoked' ? level.status : 'OutOfDate'
  return { status, isvSvn: report.isvSvn, advisoryIds: level.advisoryIds }
}
