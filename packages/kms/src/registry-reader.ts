import type { ReadonlyLedger } from '@veil/ledger'
import type { Address, Hex } from '@veil/protocol'

/** A worker's record on the registry, as far as the KMS needs it. */
export interface WorkerRecord {
  /** `WorkerStatus`: 0 none, 1 pending, 2 active, 3 offline, 4 revoked. */
  status: number
  /** 0 when in no cluster. */
  cluster: bigint
  x25519PublicKey: Hex
  measurement: Hex
}

/** The registry views the KMS reads, always at the latest block (never cached: a revocation counts at once). */
export interface RegistryReader {
  getWorker(worker: Address): Promise<WorkerRecord>
  devMode(): Promise<boolean>
  measurementAllowed(measurement: Hex): Promise<boolean>
  isKmsSigner(account: Address): Promise<boolean>
}

/** A {@link RegistryReader} over the typed ledger handles. */
export function registryReader(ledger: ReadonlyLedger): RegistryReader {
  const registry = ledger.registry
  return {
    async getWorker(worker) {
      const w = await registry.read.getWorker([worker])
      return {
        status: w.status,
        cluster: w.cluster,
        x25519PublicKey: w.x25519PublicKey,
        measurement: w.measurement,
      }
    },
    devMode: () => registry.read.devMode(),
    measurementAllowed: (measurement) => registry.read.measurementAllowed([measurement]),
    isKmsSigner: (account) => registry.read.isKmsSigner([account]),
  }
}
