import {
  aeadSeal,
  createNativeSigner,
  createPrecomputedSigner,
  keccak256,
  type PrecomputedSigner,
  recoverQueryCaller,
  setupBaseR,
  signAnswer,
  signAnswerBatch,
  type TypedHashSigner,
  type VeilDomain,
} from '@veil/crypto'
import type { Clock, Hex } from '@veil/protocol'
import type { QueryCrypto } from './query.js'

/** `QueryCrypto.openRequest` on node:crypto: opens an HPKE base-mode request; throws if it does not open. */
export const openSealedRequest: QueryCrypto['openRequest'] = ({ privateKey, enc, ct, info, aead, aad }) => {
  const context = setupBaseR({ recipientPrivateKey: privateKey, enc, info, aead })
  const plaintext = context.open(ct, aad)
  return { plaintext, exportSecret: (label, length) => context.export(label, length) }
}

/**
 * The query primitives on node:crypto (HPKE, AEAD) and noble (EIP-712), answer signatures and `auth`
 * recovery on libsecp256k1 where its binding loads. Without it, a signer precomputes signature nonces
 * in a worker thread, so that the scalar multiplication of each signature (then the largest single
 * cost of an answer) neither blocks the event loop nor adds to a query's latency.
 */
export function createNodeQueryCrypto(options: {
  chainId: number
  registry: Hex
  /** The worker identity's secp256k1 key: answers are signed with it. */
  signingKey: Uint8Array
  clock: Clock
}): QueryCrypto & { dispose(): void } {
  const domain: VeilDomain = { chainId: options.chainId, verifyingContract: options.registry }
  let signer: TypedHashSigner | undefined
  let pooled: PrecomputedSigner | undefined
  const answerSigner = () => {
    // Created on first use (not every user of these primitives signs). libsecp256k1 signs in ~75 µs on
    // the event loop; without it, the first answers compute their own nonces while the thread fills the
    // pool.
    if (signer === undefined) {
      signer = createNativeSigner(options.signingKey)
      if (signer === undefined) {
        pooled = createPrecomputedSigner(options.signingKey, { poolSize: 256, thread: true })
        signer = pooled
      }
    }
    return signer
  }
  return {
    openRequest: openSealedRequest,
    seal: (aead, key, nonce, aad, plaintext) => aeadSeal({ aead, key, nonce, aad, plaintext }),
    keccak256,
    signAnswer: (answer) => signAnswer(answerSigner(), domain, answer),
    signAnswerBatch: (root) => signAnswerBatch(answerSigner(), domain, root),
    // recoverQueryCaller also requires the recovered signer to be the address the proof names.
    verifyAuth: (auth, query) =>
      recoverQueryCaller(domain, auth, query, { now: Math.floor(options.clock.now() / 1000) }),
    dispose: () => pooled?.dispose(),
  }
}
