/**
 * `@veil/ledger/abi`: the ledger's typed ABIs and its error explainer, and nothing that needs Node. What
 * browser code (the SDK's browser entry) imports; the package index adds deploy and the anvil launcher.
 */
export { Commands, Contracts, Registry } from './artifacts/index.js'
export { reportData } from './dev-attestation.js'
export { explainLedgerError, LedgerError } from './errors.js'
