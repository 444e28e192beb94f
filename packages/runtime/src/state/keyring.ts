/**
 * A contract's own keys for the sandbox (`ctx.contract.address`, `ctx.keys`), from its contract secret
 * (DESIGN §4): the secp256k1 key under `veil/v1/secp256k1` and user keys under `veil/v1/user/<path>`.
 *
 * Security invariant: the contract secret and the signing key stay in these closures; the sandbox gets
 * an address, derived keys and signatures only.
 */
import { checksumAddress, deriveContractKeys, deriveContractUserKey, signPersonalMessage } from '@veil/crypto'
import type { ContractKeyHost } from '../sandbox/types.js'
import type { ContractSecrets } from './secrets.js'

/**
 * The keys of the contract whose 32-byte secret is `contractSecret`. Costs one secp256k1 point
 * multiplication (the address), so build it once per contract ({@link ContractKeyring}).
 *
 * @example
 * const keys = contractKeyHost(secrets.contractSecret('7'))
 * await engine.invoke({ env: { ...env, keys }, method, argsText, host })
 */
export function contractKeyHost(contractSecret: Uint8Array): ContractKeyHost {
  // Private copy: the caller may reuse or wipe its buffer.
  const secret = Uint8Array.from(contractSecret)
  const { signingKey, address } = deriveContractKeys(secret)
  return Object.freeze({
    // The address the KMS (or the dev gatekeeper) publishes with `setContractKeys`, in EIP-55 form.
    address: checksumAddress(address),
    derive: (path: string) => deriveContractUserKey(secret, path),
    sign: (message: Uint8Array) => signPersonalMessage(signingKey, message),
  })
}

/** Each contract's {@link contractKeyHost}, built on first use and kept (one per contract). */
export class ContractKeyring {
  readonly #secrets: ContractSecrets
  readonly #hosts = new Map<string, ContractKeyHost>()

  constructor(secrets: ContractSecrets) {
    this.#secrets = secrets
  }

  /** The keys of `contractId` (a decimal id). */
  forContract(contractId: string): ContractKeyHost {
    let host = this.#hosts.get(contractId)
    if (!host) {
      host = contractKeyHost(this.#secrets.contractSecret(contractId))
      this.#hosts.set(contractId, host)
    }
    return host
  }
}
