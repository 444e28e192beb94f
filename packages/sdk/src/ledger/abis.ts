/**
 * The ledger's typed ABIs, and its error explainer, for the SDK.
 *
 * `@veil/ledger`'s index also exports the anvil launcher (`node:child_process`, `node:fs`), which must
 * never reach a browser bundle, and the package has no subpath export for its artifacts yet. Until it
 * has (`@veil/ledger/artifacts`), this one file imports the generated, viem-only modules by path; nothing
 * else in the SDK touches the ledger package.
 */
export { Commands, Contracts, Registry } from '../../../ledger/src/artifacts/index.js'
export { explainLedgerError, LedgerError } from '../../../ledger/src/errors.js'
