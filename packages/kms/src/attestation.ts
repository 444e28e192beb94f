import {
  AttestationError,
  type DcapCollateral,
  reportDataFromHash,
  type TcbStatus,
  verifyWorkerQuote,
  type WorkerQuoteResult,
} from '@veil/attestation'
import { reportData } from '@veil/ledger'
import type { Address, Hex } from '@veil/protocol'
import { hexToBytes } from 'viem'

/** What the KMS accepts of a hardware platform (docs/protocol.md: UpToDate/SWHardeningNeeded, 30 days). */
export interface QuotePolicy {
  /** Worst TCB status accepted. Default `SWHardeningNeeded`. */
  minStatus?: TcbStatus
  /** Oldest TCB info accepted, in seconds. Default 30 days. */
  maxCollateralAgeSeconds?: number
  /**
   * TEST ONLY: the root CA (PEM or DER) hardware quotes must chain to instead of the embedded Intel SGX
   * Root CA, for tests on a synthetic PKI. Production leaves it unset.
   */
  rootCa?: string | Uint8Array
}

/** A worker as the registry holds it. */
export interface RegisteredWorker {
  address: Address
  /** Its registered X25519 public key (`bytes32`). */
  x25519PublicKey: Hex
  /** Its registered measurement (`bytes32`). */
  measurement: Hex
}

export interface RegisteredWorkerCheck {
  worker: RegisteredWorker
  quote: Uint8Array
  collateral: DcapCollateral | undefined
  chainId: number
  registry: Address
  /** The ledger's dev-mode flag: simulated quotes are accepted only while it is set. */
  devMode: boolean
  isMeasurementAllowed(measurement: Hex): Promise<boolean>
  /** Unix seconds. */
  now: number
  policy: QuotePolicy
}

/**
 * The KMS's check of a worker's quote, the same for approval and provisioning: a genuine quote
 * (`verifyWorkerQuote`: simulated only on a dev-mode ledger, TCB status, collateral age, no debug TDs),
 * whose report data binds the worker's **registered** identity and X25519 key to this chain and
 * registry, whose measurement is allowed and is the one the worker registered. Throws an
 * `AttestationError` saying what failed.
 */
export async function verifyRegisteredWorker(check: RegisteredWorkerCheck): Promise<WorkerQuoteResult> {
  const { worker } = check
  const binding = reportData(worker.address, worker.x25519PublicKey, check.chainId, check.registry)
  const result = await verifyWorkerQuote({
    quote: check.quote,
    expectedReportData: reportDataFromHash(hexToBytes(binding)),
    collateral: check.collateral,
    allowSimulated: check.devMode,
    isMeasurementAllowed: (measurement) => check.isMeasurementAllowed(measurement),
    now: check.now,
    allowDebug: false,
    ...(check.policy.minStatus === undefined ? {} : { minStatus: check.policy.minStatus }),
    ...(check.policy.maxCollateralAgeSeconds === undefined
      ? {}
      : { maxCollateralAgeSeconds: check.policy.maxCollateralAgeSeconds }),
    ...(check.policy.rootCa === undefined ? {} : { rootCa: check.policy.rootCa }),
  })
  if (result.measurement.toLowerCase() !== worker.measurement.toLowerCase()) {
    throw new AttestationError(
      'MEASUREMENT_NOT_ALLOWED',
      `the quote's measurement ${result.measurement} is not the worker's registered measurement ${worker.measurement.toLowerCase()}`,
      {
        hint: 'a worker must run the build it registered; a new build registers a new identity',
      },
    )
  }
  return result
}
