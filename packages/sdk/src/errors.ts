import { type Hex, VeilError, type VeilErrorOptions } from '@veil/protocol'

/**
 * Every failure the SDK reports is a `VeilError` subclass with a stable `code`, a short message, details
 * and a hint, so callers can branch on `instanceof` (or `code`) and users see what to do.
 */

/** Bad client parameters: no RPC URL, no ledger addresses, a malformed private key. */
export class ClientConfigError extends VeilError {
  override name = 'ClientConfigError'
  constructor(shortMessage: string, options: Omit<VeilErrorOptions, 'code'> = {}) {
    super(shortMessage, { ...options, code: 'CLIENT_CONFIG_INVALID' })
  }
}

/** An action that sends a transaction or signs was called on a read-only client. */
export class AccountRequiredError extends VeilError {
  override name = 'AccountRequiredError'
  constructor(action: string) {
    super(`${action} needs an account, and this client has none`, {
      code: 'ACCOUNT_REQUIRED',
      hint: 'pass `account` (a viem Account or a 0x-prefixed private key) to createClient',
    })
  }
}

/** A method argument the SDK refuses before anything is sent (bad id, bad method name, unencodable value). */
export class InvalidArgumentError extends VeilError {
  override name = 'InvalidArgumentError'
  constructor(shortMessage: string, options: Omit<VeilErrorOptions, 'code'> = {}) {
    super(shortMessage, { ...options, code: 'INVALID_ARGUMENT' })
  }
}

/** The ledger has no contract with this id. */
export class ContractNotFoundError extends VeilError {
  override name = 'ContractNotFoundError'
  readonly contractId: bigint
  constructor(contractId: bigint, options: { cause?: unknown } = {}) {
    super(`contract ${contractId} does not exist on this ledger`, {
      code: 'UNKNOWN_CONTRACT',
      hint: 'check the id (`veil contracts` lists them) and that the client points at the right network',
      ...options,
    })
    this.contractId = contractId
  }
}

/** The contract's X25519 key was not published on the ledger in time, so commands cannot be sealed. */
export class ContractKeyTimeoutError extends VeilError {
  override name = 'ContractKeyTimeoutError'
  readonly contractId: bigint
  constructor(contractId: bigint, timeoutMs: number) {
    super(`contract ${contractId} has no published encryption key after ${timeoutMs} ms`, {
      code: 'CONTRACT_KEY_TIMEOUT',
      details:
        'commands are sealed to the X25519 key the KMS publishes on the ledger (Contracts.getContract(id).x25519PublicKey) after deployment',
      hint: 'check that the network runs a KMS (on a devnet: that `veil dev` is running with workers), or raise `keyTimeoutMs`',
    })
    this.contractId = contractId
  }
}

/** The contract's cluster has no active worker that passed verification. */
export class NoWorkersError extends VeilError {
  override name = 'NoWorkersError'
  readonly cluster: bigint
  constructor(cluster: bigint, options: { details?: string; cause?: unknown } = {}) {
    super(`cluster ${cluster} has no active, verified worker`, {
      code: 'NO_WORKERS',
      hint: 'start workers for the cluster (`veil dev` runs two), or check `veil workers`',
      ...options,
    })
    this.cluster = cluster
  }
}

/** A worker failed the attestation check (`verifyWorker`): its keys or measurement differ from the registry. */
export class WorkerVerificationError extends VeilError {
  override name = 'WorkerVerificationError'
  readonly worker: Hex
  constructor(worker: Hex, reason: string, options: { cause?: unknown } = {}) {
    super(`worker ${worker} failed verification`, {
      code: 'WORKER_UNVERIFIED',
      details: reason,
      hint: 'the SDK will not send requests to this worker; its operator must fix its registration',
      ...options,
    })
    this.worker = worker
  }
}

/**
 * A worker answered with a protocol error (`{ ok: false, error: { code, message } }`): the request was
 * refused, not lost. `code` is the worker's code, e.g. `DECRYPT_FAILED`, `REPLAYED`, `UNKNOWN_CONTRACT`.
 */
export class WorkerRequestError extends VeilError {
  override name = 'WorkerRequestError'
  readonly status: number
  readonly worker: string
  constructor(worker: string, status: number, error: { code: string; message: string }) {
    super(`worker ${worker} refused the request: ${error.message}`, {
      code: error.code,
      details: `HTTP ${status} ${error.code}`,
    })
    this.status = status
    this.worker = worker
  }
}

/**
 * One worker could not be reached or did not answer usefully (connection refused, timeout, 5xx,
 * `503 NOT_READY`). The SDK fails over to another worker; callers only see this inside
 * `WorkersUnavailableError.attempts`, or when they pinned a worker.
 */
export class WorkerUnavailableError extends VeilError {
  override name = 'WorkerUnavailableError'
  readonly worker: string
  readonly status: number | undefined
  constructor(worker: string, reason: string, options: { status?: number; cause?: unknown } = {}) {
    super(`worker ${worker} is unavailable: ${reason}`, {
      code: 'WORKER_UNAVAILABLE',
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    })
    this.worker = worker
    this.status = options.status
  }
}

/** Every worker of the cluster was tried and none answered. */
export class WorkersUnavailableError extends VeilError {
  override name = 'WorkersUnavailableError'
  readonly attempts: readonly VeilError[]
  constructor(action: string, attempts: readonly VeilError[]) {
    super(`${action}: no worker answered`, {
      code: 'WORKERS_UNAVAILABLE',
      metaMessages: attempts.map((a) => `- ${a.shortMessage}`),
      hint: 'check that the workers are running (`veil workers`) and reachable from here',
      ...(attempts.length ? { cause: attempts[attempts.length - 1] } : {}),
    })
    this.attempts = attempts
  }
}

/** No worker had the command's receipt before the timeout (workers behind, or the command was dropped). */
export class ReceiptTimeoutError extends VeilError {
  override name = 'ReceiptTimeoutError'
  readonly txHash: Hex
  constructor(txHash: Hex, timeoutMs: number, options: { cause?: unknown } = {}) {
    super(`no worker returned the receipt of ${txHash} within ${timeoutMs} ms`, {
      code: 'RECEIPT_TIMEOUT',
      details: 'the transaction is on the ledger; the workers have not (yet) executed it',
      hint: 'check `veil workers` (are they following the chain?); fetch the result later with waitForCommandResult (keep the submitted command), and do not blindly resend: it may still execute',
      ...options,
    })
    this.txHash = txHash
  }
}

/**
 * A worker's answer or receipt does not check out: it does not decrypt, is malformed, or its signature is
 * not by the worker. Never retried silently: it means a broken or dishonest worker.
 */
export class ResponseIntegrityError extends VeilError {
  override name = 'ResponseIntegrityError'
  readonly worker: string
  constructor(worker: string, reason: string, options: { cause?: unknown } = {}) {
    super(`worker ${worker} sent an answer that does not verify`, {
      code: 'RESPONSE_INVALID',
      details: reason,
      hint: 'report the worker to its operator; pick another worker with `worker`',
      ...options,
    })
    this.worker = worker
  }
}

/** The worker's EIP-712 signature over a query answer is not by that worker's registered identity. */
export class AnswerSignatureError extends VeilError {
  override name = 'AnswerSignatureError'
  readonly worker: Hex
  readonly signer: Hex | undefined
  constructor(worker: Hex, signer: Hex | undefined) {
    super(`the answer of worker ${worker} is not signed by it`, {
      code: 'ANSWER_SIGNATURE_INVALID',
      details: signer ? `recovered signer ${signer}` : 'the signature does not recover to an address',
      hint: 'do not trust this answer; report the worker to its operator',
    })
    this.worker = worker
    this.signer = signer
  }
}

/** The error a contract threw (or the sandbox raised) while running a command or query. */
export interface ContractErrorInfo {
  code: string
  message: string
  stack?: string
}

/**
 * A contract command or query failed inside the contract: it threw, ran out of fuel, or hit a limit.
 * `code` is the contract's error code (`CONTRACT_ERROR`, `OUT_OF_FUEL`, `UNKNOWN_METHOD`, …); a failed
 * command changed nothing.
 */
export class ContractCallError extends VeilError {
  override name = 'ContractCallError'
  readonly kind: 'command' | 'query'
  readonly contractId: bigint
  readonly method: string
  readonly error: ContractErrorInfo
  readonly fuel: number
  /** The command's transaction (commands only). */
  readonly txHash: Hex | undefined
  constructor(params: {
    kind: 'command' | 'query'
    contractId: bigint
    method: string
    error: ContractErrorInfo
    fuel: number
    txHash?: Hex
  }) {
    super(
      `${params.kind} ${params.method} of contract ${params.contractId} failed: ${params.error.message}`,
      {
        code: params.error.code,
        ...(params.error.stack ? { metaMessages: [params.error.stack] } : {}),
        ...(params.txHash ? { details: `transaction ${params.txHash}` } : {}),
      },
    )
    this.kind = params.kind
    this.contractId = params.contractId
    this.method = params.method
    this.error = params.error
    this.fuel = params.fuel
    this.txHash = params.txHash
  }
}

/** An event subscription could not be (re)established on any worker. */
export class SubscriptionError extends VeilError {
  override name = 'SubscriptionError'
  constructor(shortMessage: string, options: { details?: string; cause?: unknown } = {}) {
    super(shortMessage, {
      code: 'SUBSCRIPTION_FAILED',
      hint: 'check that the workers are running (`veil workers`); subscribe again once they are',
      ...options,
    })
  }
}

/** The operation was cancelled through its `signal`. */
export class AbortedError extends VeilError {
  override name = 'AbortedError'
  constructor(action: string) {
    super(`${action} was cancelled`, { code: 'ABORTED' })
  }
}
