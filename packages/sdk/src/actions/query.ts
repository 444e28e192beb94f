import { hashQueryCall, VEIL_EIP712_TYPES, veilTypedDataDomain } from '@veil/crypto/web'
import type { Address, Hex } from '@veil/protocol'
import { bytesToHex, hexToBytes } from 'viem'
import { signTypedData } from 'viem/actions'
import type { VeilBaseClient } from '../client/baseClient.js'
import { lastCommandBlock } from '../client/writes.js'
import {
  AccountRequiredError,
  AnswerSignatureError,
  type ContractErrorInfo,
  type ContractNotFoundError,
  type InvalidArgumentError,
  ResponseIntegrityError,
  WorkerRequestError,
  WorkersUnavailableError,
} from '../errors.js'
import { sleep } from '../utils/sleep.js'
import {
  answerSigner,
  openQueryAnswer,
  parseQueryAnswer,
  type QueryAuthProof,
  type QueryOutcomeBody,
  responseDigest,
  sealQuery,
} from '../wire/query.js'
import { getWorkerPool } from '../workers/getWorkerPool.js'
import { requestWorkerJson } from '../workers/http.js'
import type { RegisteredWorker, WorkerRef, WorkerSelector } from '../workers/types.js'
import type { QuerySession } from './createSession.js'
import { getContractCluster, toContractId } from './getContractInfo.js'

/**
 * How a query proves its caller: `'wallet'` signs each query with the client's account, a
 * `QuerySession` signs with a certified session key. Without auth, `ctx.caller` is null.
 */
export type QueryAuth = 'wallet' | QuerySession

export interface QueryParameters {
  contractId: bigint | number | string
  method: string
  args?: readonly unknown[] | undefined
  auth?: QueryAuth | undefined
  /** Ask this worker only (no failover); by default queries are spread over the cluster's workers. */
  worker?: WorkerSelector | undefined
  /**
   * Return answers whose signature does not verify (with `signatureValid: false`) instead of throwing
   * `AnswerSignatureError`. For diagnostics only: such an answer proves nothing.
   */
  allowInvalidSignature?: boolean | undefined
  signal?: AbortSignal | undefined
}

export interface QueryResultMeta {
  contractId: bigint
  method: string
  fuel: number
  /** The block the worker's state reflected. */
  block: bigint
  worker: WorkerRef
  /**
   * The worker's EIP-712 signature: a receipt anyone can check — of the `Answer` itself
   * (`Registry.verifyAnswer`), or, when `proof` is set, of the `AnswerBatch` the answer belongs to
   * (`Registry.verifyBatchedAnswer`).
   */
  signature: Hex
  /** The answer's Merkle proof to its batch's signed root, when it was signed as one of a batch. */
  proof?: Hex[]
  /** Whether `signature` is by `worker.address` (always true unless `allowInvalidSignature`). */
  signatureValid: boolean
  /** keccak256(enc ‖ ct) of the request, as signed. */
  request: Hex
  /** keccak256(ct) of the answer, as signed. */
  response: Hex
}

/** A query's outcome: its result, or the contract's error. */
export type QueryResult<T = unknown> = QueryResultMeta &
  ({ ok: true; result: T } | { ok: false; error: ContractErrorInfo })

export type QueryReturnType = QueryResult
export type QueryErrorType =
  | ContractNotFoundError
  | InvalidArgumentError
  | WorkersUnavailableError
  | WorkerRequestError
  | ResponseIntegrityError
  | AnswerSignatureError

/**
 * Runs a contract query on one worker of its cluster: seals the request to that worker's X25519 key,
 * opens the sealed answer and checks the worker's EIP-712 signature. Fails over to the next worker on
 * connection errors, timeouts and 5xx. A contract failure is a result (`ok: false`), not an exception.
 *
 * @example
 * const answer = await query(client, { contractId: 1n, method: 'get' })
 * if (answer.ok) console.log(answer.result, 'at block', answer.block)
 */
export async function query(client: VeilBaseClient, params: QueryParameters): Promise<QueryReturnType> {
  const contractId = toContractId(params.contractId)
  const args = params.args ?? []
  if (params.auth === 'wallet' && !client.account)
    throw new AccountRequiredError(`query ${params.method} with wallet auth`)
  const cluster = await getContractCluster(client, contractId)
  const chainId = await client.getChainId()
  const registry = client.addresses.registry
  const pool = getWorkerPool(client, cluster)
  const ask = () =>
    pool.run<QueryReturnType>(
      `query ${params.method}`,
      async (worker) => {
        const nonce = Uint8Array.from(client.config.randomBytes(16))
        const timestamp = client.config.clock.now()
        const auth = params.auth
          ? await signQueryAuth(client, params.auth, {
              chainId,
              contractId,
              worker,
              nonce,
              timestamp,
              method: params.method,
              args,
            })
          : undefined
        const sealed = await sealQuery({
          hpke: client.config.hpke,
          workerPublicKey: hexToBytes(worker.x25519PublicKey),
          chainId,
          registry,
          worker: worker.address,
          contractId,
          method: params.method,
          args,
          nonce,
          timestamp,
          ...(auth ? { auth } : {}),
        })
        const json = await requestWorkerJson(worker.url, '/v1/query', {
          method: 'POST',
          body: sealed.body,
          fetch: client.config.fetch,
          timeoutMs: client.config.requestTimeoutMs,
          signal: params.signal,
        })
        let answer: ReturnType<typeof parseQueryAnswer>
        let body: QueryOutcomeBody
        try {
          answer = parseQueryAnswer(json)
          if (answer.worker.toLowerCase() !== worker.address.toLowerCase())
            throw new Error(`the answer names worker ${answer.worker}`)
          body = await openQueryAnswer({
            hpke: client.config.hpke,
            responseKey: sealed.responseKey,
            requestDigest: sealed.requestDigest,
            ct: answer.ct,
          })
        } catch (error) {
          throw new ResponseIntegrityError(
            worker.url,
            error instanceof Error ? error.message : String(error),
            {
              cause: error,
            },
          )
        }
        const response = responseDigest(answer.ct)
        const block = BigInt(answer.block)
        const written = lastCommandBlock(client, contractId)
        if (written !== undefined && block < written) {
          // This worker has not executed this client's last command of the contract: ask another.
          throw new WorkerRequestError(worker.url, 409, {
            code: 'BEHIND',
            message: `answered at block ${block}, before this client's command at block ${written}`,
          })
        }
        const signer = answerSigner({
          chainId,
          registry,
          request: sealed.requestDigest,
          response,
          contractId,
          block,
          signature: answer.signature,
          proof: answer.proof,
        })
        const signatureValid = signer?.toLowerCase() === worker.address.toLowerCase()
        if (!signatureValid && !params.allowInvalidSignature)
          throw new AnswerSignatureError(worker.address, signer)
        const meta: QueryResultMeta = {
          contractId,
          method: params.method,
          fuel: body.fuel,
          block,
          worker: { address: worker.address, url: worker.url },
          signature: answer.signature,
          ...(answer.proof ? { proof: answer.proof } : {}),
          signatureValid,
          request: sealed.requestDigest,
          response,
        }
        return body.ok
          ? { ...meta, ok: true, result: body.result }
          : { ...meta, ok: false, error: body.error }
      },
      {
        pin: params.worker,
        signal: params.signal,
        // A worker that has not seen the contract's deployment yet is behind: ask another.
        classify: (error) => (isBehind(error) ? 'next' : undefined),
      },
    )
  // Right after a deployment every worker may still be behind; the ledger says the contract exists, so
  // wait for them (up to the request timeout) instead of failing.
  const deadline = client.config.clock.now() + client.config.requestTimeoutMs
  for (;;) {
    try {
      return await ask()
    } catch (error) {
      const behind =
        (error instanceof WorkersUnavailableError &&
          error.attempts.length > 0 &&
          error.attempts.every(isBehind)) ||
        (params.worker !== undefined && isBehind(error))
      if (!behind || client.config.clock.now() >= deadline) throw error
    }
    await sleep(client.config.pollingIntervalMs, params.signal, `query ${params.method}`)
  }
}

/**
 * A worker that has not executed the contract's deployment block yet (a starting one answers 503, and
 * fails over), or this client's last command of the contract (`BEHIND`, found by the client).
 */
function isBehind(error: unknown): boolean {
  return (
    error instanceof WorkerRequestError &&
    (error.code === 'UNKNOWN_CONTRACT' || error.code === 'NOT_READY' || error.code === 'BEHIND')
  )
}

/** Signs `QueryAuth` for one request to one worker, with the wallet or a session key. */
async function signQueryAuth(
  client: VeilBaseClient,
  auth: QueryAuth,
  request: {
    chainId: number
    contractId: bigint
    worker: RegisteredWorker
    nonce: Uint8Array
    timestamp: number
    method: string
    args: readonly unknown[]
  },
): Promise<QueryAuthProof> {
  const typedData = {
    domain: veilTypedDataDomain({ chainId: request.chainId, verifyingContract: client.addresses.registry }),
    types: VEIL_EIP712_TYPES,
    primaryType: 'QueryAuth',
    message: {
      contractId: request.contractId,
      call: bytesToHex(hashQueryCall({ method: request.method, args: request.args })),
      nonce: bytesToHex(request.nonce),
      timestamp: BigInt(request.timestamp),
      worker: request.worker.address as Address,
    },
  } as const
  if (auth === 'wallet') {
    const { account } = client
    if (!account) throw new AccountRequiredError('wallet query auth')
    return {
      type: 'wallet',
      address: account.address,
      signature: await signTypedData(client.chainClient, { account, ...typedData }),
    }
  }
  return {
    type: 'session',
    address: auth.wallet,
    session: { key: auth.key.address, expires: auth.expires, signature: auth.signature },
    signature: await auth.key.signTypedData(typedData),
  }
}
