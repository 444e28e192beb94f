/**
 * Loads the real Intel-signed DCAP cases of `shared/testdata/dcap` (quote.bin, collateral.json,
 * expected.json) for tests and benchmarks. Set VEIL_DCAP_TESTDATA to read them from elsewhere.
 */

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type DcapCollateral, parseCollateral } from './collateral.js'
import type { TcbStatus } from './status.js'

export const DCAP_TESTDATA_DIR =
  process.env.VEIL_DCAP_TESTDATA ??
  fileURLToPath(new URL('../../../../../shared/testdata/dcap', import.meta.url))

/** expected.json: the verdict at `asOf` and the validity window of every piece of collateral. */
export interface ExpectedVerdict {
  id: string
  tee: 'SGX' | 'TDX'
  quoteVersion: number
  asOf: number
  valid: boolean
  status: TcbStatus | null
  error: string | null
  advisoryIds: string[]
  report: Record<string, string | number>
  collateralValidity: Record<string, [string, string] | boolean>
}

export interface DcapCase {
  id: string
  quote: Uint8Array
  collateralJson: Record<string, string>
  collateral: DcapCollateral
  expected: ExpectedVerdict
}

export function loadDcapCases(dir = DCAP_TESTDATA_DIR): DcapCase[] {
  if (!existsSync(dir)) {
    throw new Error(
      `DCAP test data not found at ${dir}: check out shared/ beside the repository or set VEIL_DCAP_TESTDATA`,
    )
  }
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory())
    .sort()
    .map((id) => {
      const collateralJson = JSON.parse(readFileSync(join(dir, id, 'collateral.json'), 'utf8')) as Record<
        string,
        string
      >
      return {
        id,
        quote: new Uint8Array(readFileSync(join(dir, id, 'quote.bin'))),
        collateralJson,
        collateral: parseCollateral(collateralJson),
        expected: JSON.parse(readFileSync(join(dir, id, 'expected.json'), 'utf8')) as ExpectedVerdict,
      }
    })
}

/** Unix seconds of an ISO time from expected.json. */
export const unix = (iso: string): number => Math.floor(Date.parse(iso) / 1000)
