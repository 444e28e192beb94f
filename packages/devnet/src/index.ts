export { DirLock } from '@veil/protocol/dir-lock'
export { bootstrapDevnetRoles, retireWorkers } from './dev-roles.js'
export { readNetworkFile, writeFileAtomic } from './files.js'
export {
  DEFAULT_DEVNET_PORT,
  DEVNET_CHAIN_ID,
  type DevnetInfo,
  type DevnetNetworkFile,
  LocalNetwork,
  type LocalNetworkOptions,
  type ProgressEvent,
} from './local-network.js'
export { stopOrphan } from './orphans.js'
export {
  defaultVeilCommand,
  type SpawnWorkerOptions,
  spawnWorker,
  type VeilCommand,
  type WorkerProcess,
} from './worker-process.js'
