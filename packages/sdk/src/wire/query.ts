import {
  HPKE_EXPORT_LABELS,
  type HpkeSuite,
  hashQueryRequest,
  hpkeQueryInfo,
  keccak256,
  recoverAnswerSigner,
} from '@veil/crypto/web'
import {
  type Address,
  base64urlToBytes,
  bytesToBase64url,
  decodeValue,
  encodeValue,
  type Hex,
  ValueEncodingError,
} from '@veil/protocol'
import { bytesToHex, hexToBytes } from 'viem'
import { openExported, SDK_AEAD, SDK_AEAD_KEY_LENGTH, sealOnce } from '../crypto/hpke.js'
import { type ContractErrorInfo, InvalidArgumentError } from '../errors.js'
import { utf8Bytes, utf8Text } from './bytes.js'
import { parseContractError } from './command.js'

/**
 * The caller proof inside a sealed query (docs/protocol.md, "Caller authentication"). `address` is the
 * caller it claims (for a session, the wallet); the worker refuses it unless the signature recovers to it.
 */
export type QueryAuthProof =
  | { type: 'wallet'; address: Address; signature: Hex }
  | {
      type: 'session'
      address: Address
      session: { key: Address; expires: number; signature: Hex }
      signature: Hex
    }

/** The JSON body of `POST /v1/query`. */
export interface QueryRequestBody {
  v: 1
  contract: string
  aead: typeof SDK_AEAD
  enc: string
  ct: string
}

export interface SealedQuery {
  body: QueryRequestBody
  /** keccak256(enc ‖ ct): what the worker signs as `request`, and the answer's aad. */
  requestDigest: Hex
  /** `Export("veil/v1/response", 16)` of the request's context: opens the answer. */
  responseKey: Uint8Array
}

/** Seals a query to one worker's X25519 key. */
export async function sealQuery(params: {
  hpke: HpkeSuite
  workerPublicKey: Uint8Array
  chainId: number
  registry: Address
  worker: Address
  contractId: bigint
  method: string
  args: readonly unknown[]
  nonce: Uint8Array
  timestamp: number
  auth?: QueryAuthProof
}): Promise<SealedQuery> {
  let plaintext: Uint8Array
  try {
    plaintext = utf8Bytes(
      encodeValue(
        {
          method: params.method,
          args: [...params.args],
          nonce: params.nonce,
          timestamp: params.timestamp,
          ...(params.auth ? { auth: params.auth } : {}),
        },
        'query',
      ),
    )
  } catch (error) {
    throw new InvalidArgumentError(`cannot encode the query ${params.method}`, {
      details: error instanceof ValueEncodingError ? error.message : String(error),
      hint: 'arguments must be JSON values, bigints or Uint8Arrays',
      cause: error,
    })
  }
  const sealed = await sealOnce(params.hpke, {
    recipientPublicKey: params.workerPublicKey,
    info: hpkeQueryInfo({
      chainId: params.chainId,
      registry: params.registry,
      worker: params.worker,
      contractId: params.contractId,
    }),
    aad: new Uint8Array(0),
    plaintext,
    exportLabel: HPKE_EXPORT_LABELS.response,
    exportLength: SDK_AEAD_KEY_LENGTH,
  })
  return {
    body: {
      v: 1,
      contract: String(params.contractId),
      aead: SDK_AEAD,
      enc: bytesToBase64url(sealed.enc),
      ct: bytesToBase64url(sealed.ciphertext),
    },
    requestDigest: bytesToHex(hashQueryRequest(sealed.enc, sealed.ciphertext)),
    responseKey: sealed.exported,
  }
}

/** The JSON answer of `POST /v1/query`. */
export interface QueryAnswerBody {
  v: 1
  worker: Address
  block: string
  ct: string
  signature: Hex
  /**
   * When the worker signed this answer as one of a batch: the Merkle proof from the answer's `Answer`
   * struct hash to the root it signed as `AnswerBatch(root)` (docs/protocol.md).
   */
  proof?: Hex[]
}

/** Most hashes a proof may carry (a batch of 2^32 answers; workers sign at most 256 at once). */
const MAX_PROOF_HASHES = 32
const HASH = /^0x[0-9a-fA-F]{64}$/

/** Validates the shape of an answer; throws a plain Error naming the bad field. */
export function parseQueryAnswer(value: unknown): QueryAnswerBody {
  const a = value as Record<string, unknown> | null
  if (typeof a !== 'object' || a === null) throw new Error('the answer is not an object')
  if (a.v !== 1) throw new Error('answer "v" is not 1')
  if (typeof a.worker !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(a.worker))
    throw new Error('answer "worker" is not an address')
  if (typeof a.block !== 'string' || !/^\d+$/.test(a.block)) throw new Error('answer "block" is not a number')
  if (typeof a.ct !== 'string') throw new Error('answer "ct" is missing')
  if (typeof a.signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(a.signature))
    throw new Error('answer "signature" is not a 65-byte signature')
  const proof = a.proof
  if (
    proof !== undefined &&
    (!Array.isArray(proof) ||
      proof.length === 0 ||
      proof.length > MAX_PROOF_HASHES ||
      !proof.every((node) => typeof node === 'string' && HASH.test(node)))
  ) {
    throw new Error(`answer "proof" is not a list of 1 to ${MAX_PROOF_HASHES} 32-byte hashes`)
  }
  return {
    v: 1,
    worker: a.worker as Address,
    block: a.block,
    ct: a.ct,
    signature: a.signature as Hex,
    ...(proof ? { proof: proof as Hex[] } : {}),
  }
}

export type QueryOutcomeBody =
  | { ok: true; result: unknown; fuel: number }
  | { ok: false; error: ContractErrorInfo; fuel: number }

/** Opens the answer's `ct` with the response key; aad = the request digest's 32 bytes. */
export async function openQueryAnswer(params: {
  hpke: HpkeSuite
  responseKey: Uint8Array
  requestDigest: Hex
  ct: string
}): Promise<QueryOutcomeBody> {
  const plaintext = await openExported(
    params.hpke,
    params.responseKey,
    base64urlToBytes(params.ct),
    hexToBytes(params.requestDigest),
  )
  const body = decodeValue(utf8Text(plaintext), 'answer') as Record<string, unknown> | null
  if (typeof body !== 'object' || body === null) throw new Error('the answer body is not an object')
  const fuel = typeof body.fuel === 'number' ? body.fuel : 0
  if (body.ok === true) return { ok: true, result: body.result ?? null, fuel }
  if (body.ok === false) return { ok: false, error: parseContractError(body.error), fuel }
  throw new Error('the answer body has no boolean "ok"')
}

/** keccak256 of the answer's ciphertext: what the worker signs as `response`. */
export function responseDigest(ct: string): Hex {
  return bytesToHex(keccak256(base64urlToBytes(ct)))
}

/**
 * The signer of an answer — of its EIP-712 `Answer` signature, or with a `proof`, of its batch's
 * `AnswerBatch` signature — or `undefined` when the signature is malformed. Compare it with the worker's
 * registered address.
 */
export function answerSigner(params: {
  chainId: number
  registry: Address
  request: Hex
  response: Hex
  contractId: bigint
  block: bigint
  signature: Hex
  proof?: readonly Hex[] | undefined
}): Address | undefined {
  try {
    return recoverAnswerSigner(
      { chainId: params.chainId, verifyingContract: params.registry },
      {
        request: params.request,
        response: params.response,
        contractId: params.contractId,
        block: params.block,
      },
      params.signature,
      params.proof,
    )
  } catch {
    return undefined
  }
}
