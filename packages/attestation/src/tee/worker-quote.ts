/**
 * The one check every party runs on a worker's (or the KMS's) quote before trusting its keys: is it a
 * genuine quote, of an allowed measurement, on an acceptable platform, binding exactly these keys?
 *
 * The ledger's allowlist holds 32-byte measurements. For a simulated quote that is the measurement it
 * carries; for SGX, MRENCLAVE; for TDX, SHA-256 of `veil/v1/tdx-measurement` ‖ MRTD ‖ RTMR0 ‖ RTMR1 ‖
 * RTMR2 (firmware, then what it loaded: kernel, command line, initrd — RTMR3 is extended at run time and
 * left out). See `registryMeasurement`.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { type Hex, VeilError } from '@veil/protocol'
import type { DcapCollateral } from '../dcap/collateral.js'
import { parseQuote } from '../dcap/quote.js'
import { type TcbStatus, tcbStatusRank } from '../dcap/status.js'
import {
  type SgxMeasurement,
  type TdxMeasurement,
  type ValidQuoteVerdict,
  verifyQuote,
} from '../dcap/verify.js'
import { checkReportData } from './provider.js'
import { isSimulatedQuote, verifySimulatedQuote } from './simulated.js'

export type AttestationErrorCode =
  /** Not a quote, or its signatures, certificates or collateral do not verify. */
  | 'QUOTE_INVALID'
  /** A simulated (development) quote where real hardware is required. */
  | 'SIMULATED_QUOTE_REFUSED'
  /** The quote's report data does not bind the keys presented with it. */
  | 'REPORT_DATA_MISMATCH'
  | 'MEASUREMENT_NOT_ALLOWED'
  | 'TCB_STATUS_REFUSED'
  | 'COLLATERAL_MISSING'
  | 'COLLATERAL_TOO_OLD'
  /** A debug enclave or TD: its host can read its memory. */
  | 'DEBUG_REFUSED'

export class AttestationError extends VeilError {
  override name = 'AttestationError'
  declare readonly code: AttestationErrorCode

  constructor(
    code: AttestationErrorCode,
    shortMessage: string,
    options: { details?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(shortMessage, { ...options, code })
  }
}

export interface WorkerQuoteCheck {
  quote: Uint8Array
  /** The 64 bytes the quote must carry (`reportDataFromHash` of the key-binding hash). */
  expectedReportData: Uint8Array
  /** Intel collateral for hardware quotes (not needed for simulated ones). */
  collateral?: DcapCollateral | undefined
  /** Accept simulated quotes: only when the ledger is in dev mode. */
  allowSimulated: boolean
  /** Whether the ledger allows a 32-byte measurement (`0x` hex, lowercase). */
  isMeasurementAllowed: (measurement: Hex) => boolean | Promise<boolean>
  /** Unix seconds. */
  now: number
  /** Worst TCB status accepted. Default `SWHardeningNeeded`. */
  minStatus?: TcbStatus
  /** Maximum `now − tcbInfo.issueDate`. Default 30 days. */
  maxCollateralAgeSeconds?: number
  /** Accept debug enclaves/TDs. Never in production. */
  allowDebug?: boolean
  /**
   * TEST ONLY: the root CA (PEM or DER) hardware quotes and collateral must chain to, instead of the
   * embedded Intel SGX Root CA (e.g. the synthetic PKI of `dcap/test-pki.ts`). Production leaves it unset.
   */
  rootCa?: string | Uint8Array | undefined
}

export interface WorkerQuoteResult {
  tee: 'simulated' | 'sgx' | 'tdx'
  /** The measurement as the ledger's allowlist holds it. */
  measurement: Hex
  /** Intel's TCB status, or `Simulated`. */
  status: TcbStatus | 'Simulated'
  advisoryIds: string[]
}

const DEFAULT_MAX_COLLATERAL_AGE = 30 * 24 * 3600
const TDX_MEASUREMENT_DOMAIN = new TextEncoder().encode('veil/v1/tdx-measurement')

/** The 32-byte allowlist measurement of a verified DCAP quote (see the module comment). */
export function registryMeasurement(
  measurement: Pick<SgxMeasurement, 'mrEnclave'> | Pick<TdxMeasurement, 'mrTd' | 'rtmr0' | 'rtmr1' | 'rtmr2'>,
): Hex {
  if ('mrEnclave' in measurement) return `0x${measurement.mrEnclave.toLowerCase()}`
  const parts = [measurement.mrTd, measurement.rtmr0, measurement.rtmr1, measurement.rtmr2].map((h) =>
    hexToBytes(h),
  )
  const input = new Uint8Array(TDX_MEASUREMENT_DOMAIN.length + parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of [TDX_MEASUREMENT_DOMAIN, ...parts]) {
    input.set(part, offset)
    offset += part.length
  }
  return `0x${bytesToHex(sha256(input))}`
}

/**
 * Verifies a worker's quote (simulated or Intel DCAP) against the ledger's rules and the keys it must
 * bind; returns what was proven, or throws an {@link AttestationError} saying what failed.
 */
export async function verifyWorkerQuote(check: WorkerQuoteCheck): Promise<WorkerQuoteResult> {
  checkReportData(check.expectedReportData)
  let result: WorkerQuoteResult
  let reportData: Uint8Array
  if (isSimulatedQuote(check.quote)) {
    if (!check.allowSimulated)
      throw new AttestationError('SIMULATED_QUOTE_REFUSED', 'a simulated TEE quote is not accepted here', {
        details:
          'simulated quotes are signed by a public development key; only a dev-mode ledger accepts them',
        hint: 'run the worker in an Intel TDX confidential VM (`--tee tdx`), or use a development network',
      })
    let quote: ReturnType<typeof verifySimulatedQuote>
    try {
      quote = verifySimulatedQuote(check.quote)
    } catch (error) {
      throw new AttestationError('QUOTE_INVALID', 'the simulated quote does not verify', {
        details: (error as Error).message,
        cause: error,
      })
    }
    reportData = quote.reportData
    result = {
      tee: 'simulated',
      measurement: `0x${bytesToHex(quote.measurement)}`,
      status: 'Simulated',
      advisoryIds: [],
    }
  } else {
    if (!check.collateral)
      throw new AttestationError(
        'COLLATERAL_MISSING',
        'a hardware quote needs Intel collateral to be verified',
        {
          hint: 'send the collateral (PCK CRL, TCB info, QE identity) with the quote; a worker fetches it from its PCCS',
        },
      )
    const verdict = verifyQuote(check.quote, check.collateral, {
      now: check.now,
      ...(check.allowDebug === undefined ? {} : { allowDebug: check.allowDebug }),
      ...(check.rootCa === undefined ? {} : { rootCa: check.rootCa }),
    })
    if (!verdict.valid) {
      const debug = verdict.error.code === 'DEBUG_NOT_ALLOWED'
      throw new AttestationError(
        debug ? 'DEBUG_REFUSED' : 'QUOTE_INVALID',
        `the quote does not verify: ${verdict.error.message}`,
        {
          details: verdict.error.code,
        },
      )
    }
    checkPlatform(verdict, check)
    reportData = hexToBytes(verdict.reportData)
    result = {
      tee: verdict.tee === 'SGX' ? 'sgx' : 'tdx',
      measurement: registryMeasurement(verdict.measurement),
      status: verdict.status,
      advisoryIds: verdict.advisoryIds,
    }
  }
  if (!equalBytes(reportData, check.expectedReportData))
    throw new AttestationError('REPORT_DATA_MISMATCH', 'the quote does not bind the keys presented with it', {
      details: `report data ${bytesToHex(reportData)}, expected ${bytesToHex(check.expectedReportData)}`,
      hint: 'the quote must be taken over keccak256(identity address, X25519 key, chain id, registry) — see docs/trust.md',
    })
  if (!(await check.isMeasurementAllowed(result.measurement)))
    throw new AttestationError(
      'MEASUREMENT_NOT_ALLOWED',
      `measurement ${result.measurement} is not on the ledger's allowlist`,
      {
        hint: 'the registry owner allows a trusted build with `allowMeasurement`; check the worker runs that build',
      },
    )
  return result
}

function checkPlatform(verdict: ValidQuoteVerdict, check: WorkerQuoteCheck): void {
  const minStatus = check.minStatus ?? 'SWHardeningNeeded'
  if (tcbStatusRank(verdict.status) > tcbStatusRank(minStatus))
    throw new AttestationError(
      'TCB_STATUS_REFUSED',
      `the platform's TCB status ${verdict.status} is not accepted`,
      {
        details:
          `accepted: ${minStatus} or better` +
          (verdict.advisoryIds.length > 0 ? `; advisories: ${verdict.advisoryIds.join(', ')}` : ''),
        hint: "update the platform's BIOS, microcode or TDX module",
      },
    )
  const age = check.now - verdict.collateral.tcbInfoIssueDate
  const maxAge = check.maxCollateralAgeSeconds ?? DEFAULT_MAX_COLLATERAL_AGE
  if (age > maxAge)
    throw new AttestationError('COLLATERAL_TOO_OLD', 'the TCB info is too old', {
      details: `issued ${age} s ago; at most ${maxAge} s is accepted`,
      hint: 'fetch fresh collateral from the PCCS',
    })
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/**
 * The allowlist measurement a quote claims, read without verifying it: what a worker registers for its
 * own quote. Verification (`verifyWorkerQuote`) recomputes it from the verified quote.
 */
export function quoteMeasurement(quote: Uint8Array): Hex {
  if (isSimulatedQuote(quote)) return `0x${bytesToHex(verifySimulatedQuote(quote).measurement)}`
  const body = parseQuote(quote).body
  return body.kind === 'enclave'
    ? registryMeasurement({ mrEnclave: bytesToHex(body.mrEnclave) })
    : registryMeasurement({
        mrTd: bytesToHex(body.mrTd),
        rtmr0: bytesToHex(body.rtmr0),
        rtmr1: bytesToHex(body.rtmr1),
        rtmr2: bytesToHex(body.rtmr2),
      })
}
