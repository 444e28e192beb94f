/**
 * Intel DCAP quote verification time per quote type, on the real quotes of shared/testdata/dcap:
 * SGX quote v3, TDX quote v4 and TDX quote v5. The v5 case is an expected rejection at TCB matching
 * ("No matching TCB level found"), so its row measures the time to that verdict, after every signature
 * and certificate was checked.
 *
 * `warm`: certificate and CRL parses memoized (the steady state of a verifier seeing quotes of known
 * platforms with the same collateral); `cold`: the parse memo cleared before every verification (a
 * first quote). Plus parsing alone (`parseQuote`).
 *
 * `npx tsx scripts/bench.ts attestation` from the repository root.
 */

import { parseQuote } from '../src/dcap/quote.js'
import { loadDcapCases } from '../src/dcap/test-fixtures.js'
import { verifyQuote } from '../src/dcap/verify.js'
import { clearX509Cache } from '../src/dcap/x509.js'

type Report = (row: { bench: string } & Record<string, number | string>) => void

const QUOTES: Array<[label: string, caseId: string]> = [
  ['sgx-v3', 'dcapqvl-sgx-v3'],
  ['tdx-v4', 'dcapqvl-tdx-v4'],
  ['tdx-v5', 'automata-tdx-v5-unused'],
]

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

/** Times `fn` per call in ms after a warm-up; `between` runs untimed before each call. */
function measure(iterations: number, fn: () => unknown, between?: () => void) {
  for (let i = 0; i < Math.max(5, Math.floor(iterations / 10)); i++) {
    between?.()
    fn()
  }
  const samples: number[] = []
  for (let i = 0; i < iterations; i++) {
    between?.()
    const start = performance.now()
    fn()
    samples.push(performance.now() - start)
  }
  const sorted = samples.sort((a, b) => a - b)
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length
  return {
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    ops_per_s: 1000 / mean,
    n: iterations,
  }
}

export async function run(report: Report): Promise<void> {
  const cases = loadDcapCases()
  for (const [label, id] of QUOTES) {
    const c = cases.find((x) => x.id === id)
    if (c === undefined) throw new Error(`test case ${id} is missing`)
    const now = c.expected.asOf
    const verdict = verifyQuote(c.quote, c.collateral, { now })
    if (verdict.valid !== c.expected.valid) throw new Error(`${id}: unexpected verdict`)
    const outcome = verdict.valid ? `valid:${verdict.status}` : `rejected:${verdict.error.code}`
    report({
      bench: 'dcap',
      quote: label,
      cache: 'warm',
      outcome,
      ...measure(300, () => verifyQuote(c.quote, c.collateral, { now })),
    })
    report({
      bench: 'dcap',
      quote: label,
      cache: 'cold',
      outcome,
      ...measure(30, () => verifyQuote(c.quote, c.collateral, { now }), clearX509Cache),
    })
    report({
      bench: 'dcap-parse',
      quote: label,
      bytes: c.quote.length,
      ...measure(2000, () => parseQuote(c.quote)),
    })
  }
}
