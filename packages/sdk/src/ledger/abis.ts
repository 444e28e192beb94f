/**
 * The ledger's typed ABIs, and its error explainer, for the SDK: from `@veil/ledger/abi`, never the
 * package index, which also exports the anvil launcher (`node:child_process`, `node:fs`) that must not
 * reach a browser bundle.
 */
export { Commands, Contracts, explainLedgerError, LedgerError, Registry, reportData } from '@veil/ledger/abi'
