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
export { DirLock } from './lock.js'
