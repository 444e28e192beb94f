/**
 * Where the state store gets each contract's secret (DESIGN §4).
 *
 * The interface is synchronous on purpose: the only asynchronous step — the KMS releasing the cluster
 * secret to an attested worker — happens once, before the worker starts following the chain. From then
 * on every contract secret is a local HKDF step from the cluster secret, and the store needs it inside
 * synchronous storage calls made by the sandbox. Callers (the chain follower, the store) cache results.
 */
import { deriveClusterSecret, deriveContractSecret, SECRET_LENGTH } from '@veil/crypto'
import { StateArgumentError } from './errors.js'

/** Source of contract secrets: dev secret today, the KMS-provisioned cluster secret in production. */
export interface ContractSecrets {
  /** True when secrets come from a development secret: such state is not confidential. */
  readonly developmentOnly: boolean
  /** The 32-byte secret of `contractId` (`veil/v1/contract/<id>` under the cluster secret). */
  contractSecret(contractId: string): Uint8Array
}

/**
 * Contract secrets derived from a cluster secret. This is what production uses once the KMS has sealed
 * the cluster secret to the worker; the KMS-side code only has to provide those 32 bytes.
 */
export class ClusterContractSecrets implements ContractSecrets {
  readonly developmentOnly: boolean = false
  readonly #clusterSecret: Uint8Array

  constructor(clusterSecret: Uint8Array) {
    if (!(clusterSecret instanceof Uint8Array) || clusterSecret.length !== SECRET_LENGTH) {
      throw new StateArgumentError('clusterSecret', `must be ${SECRET_LENGTH} bytes`)
    }
    // Private copy: the caller may reuse or wipe its buffer.
    this.#clusterSecret = Uint8Array.from(clusterSecret)
  }

  contractSecret(contractId: string): Uint8Array {
    return deriveContractSecret(this.#clusterSecret, contractId)
  }
}

/** Options of {@link DevContractSecrets}. */
export interface DevContractSecretsOptions {
  /** 32 bytes standing in for the KMS master secret. DEVELOPMENT ONLY: anyone who knows it reads all state. */
  devMasterSecret: Uint8Array
  /** Cluster id the worker belongs to, as registered on the ledger. */
  clusterId: string
}

/**
 * DEVELOPMENT ONLY. Derives contract secrets from a dev master secret through the exact tree the KMS
 * uses (master → cluster → contract), so state written in development has the same layout as in
 * production, but without any confidentiality: the dev master secret is not protected by a TEE.
 */
export class DevContractSecrets implements ContractSecrets {
  readonly developmentOnly: boolean = true
  readonly #cluster: ClusterContractSecrets

  constructor(options: DevContractSecretsOptions) {
    this.#cluster = new ClusterContractSecrets(
      deriveClusterSecret(options.devMasterSecret, options.clusterId),
    )
  }

  contractSecret(contractId: string): Uint8Array {
    return this.#cluster.contractSecret(contractId)
  }
}
