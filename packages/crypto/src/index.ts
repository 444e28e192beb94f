/**
 * `@veil/crypto`: the browser-safe API of `@veil/crypto/web` (HPKE on WebCrypto, EIP-712, secp256k1,
 * keccak256, the HKDF key tree), plus the Node implementations used on the hot path (HPKE on
 * node:crypto, the precomputed-nonce signer) and contract key derivation.
 */

import { useSecp256k1Recovery } from './ethereum.js'
import { nativeRecover } from './secp256k1-native.js'

export { type ContractKeys, DEV_MASTER_SECRET, deriveContractKeys, devContractKeys } from './contract-keys.js'
export {
  aeadOpen,
  aeadSeal,
  deriveX25519KeyPair,
  generateX25519KeyPair,
  hpkeOpen,
  hpkeSeal,
  type NodeHpkeRecipientContext,
  type NodeHpkeSenderContext,
  nodeHpke,
  setupBaseR,
  setupBaseS,
  x25519PublicKey,
} from './hpke-node.js'
export { createNativeSigner, nativeSecp256k1 } from './secp256k1-native.js'
export {
  createPrecomputedSigner,
  type PrecomputedSigner,
  type PrecomputedSignerOptions,
} from './signer-node.js'
export * from './web.js'

// Node processes recover `auth` and answer signatures through libsecp256k1 where its binding loads.
useSecp256k1Recovery(nativeRecover())
