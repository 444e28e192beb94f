import {
  aeadSeal,
  createPrecomputedSigner,
  keccak256,
  type PrecomputedSigner,
  recoverQueryCaller,
  setupBaseR,
  signAnswer,
  type VeilDomain,
} from '@veil/crypto'
import type { Clock, Hex } from '@veil/protocol'
import type { QueryCrypto } from './query.js'

/**
 * The query primitives on node:crypto (HPKE, AEAD) and noble (EIP-712, secp256k1), with a signer that
 * precomputes signature nonces in the background so answering stays within the latency budget.
 */
export function createNodeQueryCrypto(options: {
  chainId: number
  registry: Hex
  /** The worker identity's secp256k1 key: answers are signed with it. */
  signingKey: Uint8Array
  clock: Clock
}): QueryCrypto & { dispose(): void } {
  const domain: VeilDomain = { chainId: options.chainId, verifyingContract: options.registry }
  let signer: PrecomputedSigner | undefined
  const answerSigner = () => {
    signer ??= createPrecomputedSigner(options.signingKey)
    return signer
  }
  return {
    openRequest({ privateKey, enc, ct, info, aead, aad }) {
      const context = setupBaseR({ recipientPrivateKey: privateKey, enc, info, aead })
      const plaintext = context.open(ct, aad)
      return { plaintext, exportSecret: (label, length) => context.export(label, length) }
    },
    seal: (aead, key, nonce, aad, plaintext) => aeadSeal({ aead, key, nonce, aad, plaintext }),
    keccak256,
    signAnswer: (answer) => signAnswer(answerSigner(), domain, answer),
    // recoverQueryCaller also requires the recovered signer to be the address the proof names.
    verifyAuth: (auth, query) =>
      recoverQueryCaller(domain, auth, query, { now: Math.floor(options.clock.now() / 1000) }),
    dispose: () => signer?.dispose(),
  }
}
