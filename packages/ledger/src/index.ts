export { DEV_MNEMONIC, devAccount } from './accounts.js'
export { type AnvilInstance, type AnvilOptions, resolveAnvilBinary, startAnvil } from './anvil.js'
export * as artifacts from './artifacts/index.js'
export { artifactsHash, Commands, Contracts, Registry, solcVersion } from './artifacts/index.js'
export { type DeployLedgerParameters, deployLedger, type LedgerDeployment } from './deploy.js'
export { devMeasurement, parsePlaceholderQuote, placeholderQuote, reportData } from './dev-attestation.js'
export { explainLedgerError, LedgerError } from './errors.js'
export { decodeLedgerLogs, type LedgerEvent, type LedgerEventName, ledgerAbi } from './events.js'
export {
  getLedger,
  type Ledger,
  type LedgerWalletClient,
  type ReadonlyLedger,
  WorkerStatus,
  type WorkerStatusName,
  workerStatusName,
} from './ledger.js'
export {
  Billing,
  BPS,
  billingDomain,
  DEFAULT_MINING_PARAMS,
  DEVNET_MINING_PARAMS,
  type DeployMiningParameters,
  decodeMiningLogs,
  deployMining,
  type EpochSplit,
  explainMiningError,
  getMining,
  heartbeatWeight,
  type Mining,
  type MiningAddresses,
  type MiningDeployment,
  type MiningEvent,
  type MiningParams,
  miningAbi,
  minStake,
  type ReadonlyMining,
  Rewards,
  StakingPools,
  splitEpochReward,
  stakeFactor,
  USAGE_RECEIPT_TYPES,
  VEIL,
  VeilToken,
  WAD,
  type WorkerReward,
} from './mining.js'
