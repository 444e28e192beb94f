import type { AnswerMessage } from '@veil/crypto'
import {
  base64urlToBytes,
  bytesToBase64url,
  type Clock,
  decodeValue,
  encodeValue,
  type Hex,
  LOGS_QUERY_METHOD,
  type Logger,
} from '@veil/protocol'
import { readAccount, readFuelPrice, spendable } from '../follower/billing.js'
import {
  CODE_TABLE,
  CONTRACTS_TABLE,
  type ContractRecord,
  decodeContractRecord,
} from '../follower/contracts.js'
import type { EngineCache } from '../follower/executor.js'
import { readSecrets } from '../follower/system-state.js'
import { type OffChainServices, offChainHost, readOnlyStorage } from '../offchain/host.js'
import { reportedError } from '../sandbox/index.js'
import type { ContractKeyring, StateStore } from '../state/index.js'
import { AnswerSigner } from './answer-signer.js'
import { ApiError } from './errors.js'
import { answerLogsQuery, queryLogText } from './logs.js'
import type { WorkerMetrics } from './metrics.js'
import { NonceWindow } from './nonces.js'
import { eventLoopOpener, type RequestOpener } from './request-opener.js'
import type { UsageMeter } from './usage.js'

export type QueryAead = 'aes-128-gcm' | 'chacha20-poly1305'

/** The primitives a query needs (docs/protocol.md), implemented by `@veil/crypto`. */
export interface QueryCrypto {
  /** Opens an HPKE base-mode request to the worker's key; throws if it does not open. */
  openRequest(p: {
    privateKey: Uint8Array
    enc: Uint8Array
    ct: Uint8Array
    info: Uint8Array
    aead: QueryAead
    aad?: Uint8Array
  }): {
    plaintext: Uint8Array
    exportSecret(label: string, length: number): Uint8Array
  }
  /** AEAD seal with an explicit key and nonce. */
  seal(
    aead: QueryAead,
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
  ): Uint8Array
  keccak256(data: Uint8Array): Uint8Array
  /** EIP-712 `Answer` signature by the worker's identity key (65 bytes, 0x-hex). */
  signAnswer(answer: AnswerMessage): Hex
  /** EIP-712 `AnswerBatch(root)` signature by the worker's identity key (answers signed per turn). */
  signAnswerBatch(root: Uint8Array): Hex
  /** The address proven by a query's `auth`, or throws. */
  verifyAuth(
    auth: unknown,
    query: { contractId: bigint; call: Hex; nonce: Uint8Array; timestamp: bigint; worker: Hex },
  ): Hex
}

export interface QueryServiceOptions {
  chainId: number
  registry: Hex
  worker: { address: Hex; x25519PrivateKey: Uint8Array }
  store: () => StateStore | undefined
  engines: () => EngineCache | undefined
  crypto: QueryCrypto
  clock: Clock
  randomBytes: (n: number) => Uint8Array
  /** Contracts' own keys (`ctx.contract.address`, `ctx.keys`), the same the block executor uses. */
  keys: ContractKeyring
  metrics?: WorkerMetrics
  logger: Logger
  /** How far a request's timestamp may be from this worker's clock. */
  skewMs?: number
  /** Nonces remembered at most (default 1,000,000); past it, queries get 503 OVERLOADED. */
  maxNonces?: number
  /** `ctx.http.fetch`, `ctx.secrets`, `ctx.evm` for queries. */
  offChain?: OffChainServices
  /** Meters answered queries for usage receipts, on a network with billing. */
  usage?: UsageMeter
  /**
   * Opens requests (the worker's `OpenThread`, off the event loop); default: `crypto` on the event
   * loop. Both give identical bytes.
   */
  opener?: RequestOpener
}

const RESPONSE_KEY_LABEL = 'veil/v1/response'

const AEAD_KEY_BYTES: Record<QueryAead, number> = { 'aes-128-gcm': 16, 'chacha20-poly1305': 32 }
const ZERO_NONCE = new Uint8Array(12)
const CONTRACT_ID = /^[1-9][0-9]{0,19}$/
const utf8 = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Answers sealed queries: opens the request sealed to this worker, refuses replays and stale requests,
 * proves the caller when asked, runs the query read-only against the last committed state, seals the
 * answer under a key exported from the request's HPKE context, and signs (request, answer, contract,
 * block) so anyone can check who answered.
 */
export class QueryService {
  /** Nonces answered within the replay window, by expiry; Map order is insertion order, i.e. by expiry. */
  /** The HPKE info of each contract's queries (the contracts a worker runs are few). */
  private readonly infos = new Map<string, string>()
  /** Contract records and code as of the committed block `deployedAt`, read once per block. */
  private readonly deployedContracts = new Map<string, DeployedContract>()
  private deployedAt: Hex | undefined
  private readonly skewMs: number
  private readonly nonces: NonceWindow
  private readonly signer: AnswerSigner
  private readonly opener: RequestOpener
  /** The duration histogram's two series, bound once (prom-client hashes the labels on every call). */
  private readonly durations: Record<'answered' | 'refused', { observe(seconds: number): void }> | undefined

  constructor(private readonly options: QueryServiceOptions) {
    this.skewMs = options.skewMs ?? 60_000
    this.nonces = new NonceWindow(2 * this.skewMs, options.maxNonces)
    const { crypto, metrics } = options
    this.opener = options.opener ?? eventLoopOpener(crypto, options.worker.x25519PrivateKey)
    this.signer = new AnswerSigner({
      signAnswer: (answer) => crypto.signAnswer(answer),
      signAnswerBatch: (root) => crypto.signAnswerBatch(root),
      ...(metrics ? { onBatch: (size: number) => metrics.answerBatch.observe(size) } : {}),
    })
    this.durations = metrics && {
      answered: metrics.queryDuration.labels({ outcome: 'answered' }),
      refused: metrics.queryDuration.labels({ outcome: 'refused' }),
    }
  }

  async answer(body: unknown): Promise<unknown> {
    const started = performance.now()
    let answered = false
    try {
      const result = await this.handle(body)
      answered = true
      return result
    } finally {
      const series = answered ? this.durations?.answered : this.durations?.refused
      series?.observe((performance.now() - started) / 1000)
    }
  }

  private async handle(body: unknown): Promise<unknown> {
    const { crypto, worker } = this.options
    const request = parseEnvelope(body)
    const store = this.options.store()
    const engines = this.options.engines()
    let cursor = store?.cursor()
    if (!store || !engines || !cursor) {
      throw new ApiError(503, 'NOT_READY', 'the worker is not following the chain yet', {
        retryAfterSeconds: 1,
      })
    }
    let deployed = this.deployed(store, cursor.hash, request.contract)
    if (!deployed) throw unknownContract(request.contract)
    const usage = this.options.usage
    const { price, balance } = deployed.billing
    if (usage && price > 0n && balance <= usage.pending(request.contract).charge) {
      // Refused before any work: nobody would pay for it. Counted against what this worker has not
      // claimed yet, so a worker never answers more than the balance it can still be paid from.
      throw new ApiError(
        402,
        'INSUFFICIENT_BALANCE',
        `contract ${request.contract} has no balance left to pay for queries; its owner (or anyone) can fund it with \`veil contract fund ${request.contract} <amount>\``,
      )
    }

    let info = this.infos.get(request.contract)
    if (!info) {
      // Only deployed contracts get here, so the cache grows no faster than the cluster's contracts.
      info = `veil/v1/query/${this.options.chainId}/${this.options.registry.toLowerCase()}/${worker.address.toLowerCase()}/${request.contract}`
      this.infos.set(request.contract, info)
    }
    let opened: { plaintext: Uint8Array; key: Uint8Array }
    try {
      opened = await this.opener.open({
        enc: request.enc,
        ct: request.ct,
        infoKey: info,
        aead: request.aead,
        keyLabel: RESPONSE_KEY_LABEL,
        keyLength: AEAD_KEY_BYTES[request.aead],
      })
    } catch {
      // Tampered, truncated, or sealed to another worker's key: the reason is not ours to reveal.
      throw new ApiError(400, 'DECRYPT_FAILED', 'the request does not open with this worker’s key')
    }
    // Blocks may have committed while the request was opened (on a thread, it takes a while): answer at
    // the latest one, since the sandbox reads the latest committed state and the answer names its block.
    const latest = store.cursor()
    if (latest && latest.hash !== cursor.hash) {
      cursor = latest
      const current = this.deployed(store, cursor.hash, request.contract)
      if (!current) throw unknownContract(request.contract)
      deployed = current
    }
    const query = parseQuery(opened.plaintext)
    const now = this.options.clock.now()
    if (Math.abs(now - query.timestamp) > this.skewMs) {
      throw new ApiError(
        400,
        'STALE_REQUEST',
        `the request timestamp is more than ${this.skewMs / 1000} s from the worker's clock`,
      )
    }
    this.nonces.remember(bytesToBase64url(query.nonce), now)

    let caller: Hex | null = null
    if (query.auth !== undefined) {
      try {
        caller = crypto.verifyAuth(query.auth, {
          contractId: BigInt(request.contract),
          call: toHex(crypto.keccak256(utf8.encode(encodeValue({ method: query.method, args: query.args })))),
          nonce: query.nonce,
          timestamp: BigInt(query.timestamp),
          worker: worker.address,
        })
      } catch (error) {
        throw new ApiError(
          400,
          'AUTH_INVALID',
          `the caller's signature does not verify: ${(error as Error).message}`,
        )
      }
    }

    const { record, code } = deployed
    let answer: Record<string, unknown>
    if (query.method === LOGS_QUERY_METHOD) {
      answer = answerLogsQuery(store, record, caller, query.args)
    } else if (!code || record.broken) {
      answer = {
        ok: false,
        error: { code: 'CODE_INVALID', message: record.broken ?? 'the contract code is missing' },
        fuel: 0,
      }
    } else {
      deployed.text ??= utf8Decoder.decode(code)
      const engine = await engines.engineFor(record.codeHash, deployed.text)
      const logs: { level: 'info' | 'warn' | 'error'; message: string }[] = []
      const offChain = this.options.offChain
        ? offChainHost(this.options.offChain, store, record.id)
        : { secrets: () => readSecrets(store, record.id), close: () => {} }
      const outcome = await engine.invoke({
        env: {
          kind: 'query',
          contractId: record.id,
          caller,
          block: { number: cursor.number, timestamp: now, hash: cursor.hash },
          randomSeed: this.options.randomBytes(32),
          keys: this.options.keys.forContract(record.id),
        },
        method: query.method,
        argsText: encodeValue(query.args, 'args'),
        host: {
          storage: readOnlyStorage(store, record.id, 'queries'),
          log: (level, message) => {
            logs.push({ level, message })
          },
          ...offChain,
        },
      })
      offChain.close()
      if (logs.length > 0) this.keepLogs(store, record.id, query.method, cursor.number, now, logs)
      if (usage && price > 0n) usage.record(record.id, outcome.fuel, price)
      if (outcome.ok) {
        answer = { ok: true, result: decodeValue(outcome.resultText), fuel: outcome.fuel }
      } else {
        const error = outcome.error
        this.options.metrics?.errors.inc({ code: error.code })
        answer = {
          ok: false,
          error: reportedError(error),
          fuel: outcome.fuel,
        }
      }
    }

    const requestDigest = crypto.keccak256(concat(request.enc, request.ct))
    // The response key is fresh per request (exported from its own HPKE context), so a zero nonce is safe.
    const sealed = crypto.seal(
      request.aead,
      opened.key,
      ZERO_NONCE,
      requestDigest,
      utf8.encode(encodeValue(answer)),
    )
    const block = cursor.number
    const { signature, proof } = await this.signer.sign({
      request: requestDigest,
      response: crypto.keccak256(sealed),
      contractId: BigInt(request.contract),
      block,
    })
    return {
      v: 1,
      worker: worker.address,
      block: String(block),
      ct: bytesToBase64url(sealed),
      signature,
      ...(proof ? { proof } : {}),
    }
  }

  /** Keeps a query's log lines for the owner, in the background: the answer does not wait for the disk. */
  private keepLogs(
    store: StateStore,
    contractId: string,
    method: string,
    block: bigint,
    time: number,
    lines: { level: 'info' | 'warn' | 'error'; message: string }[],
  ): void {
    const entries = lines.map((line) => ({ contractId, text: queryLogText(line, method, block, time) }))
    const warn = (error: unknown) =>
      this.options.logger.warn('could not keep a query’s log lines', {
        contractId,
        error: error instanceof Error ? error.message : String(error),
      })
    try {
      store.appendLogs(entries).catch(warn)
    } catch (error) {
      warn(error) // e.g. the store closed while the worker stops: the answer still goes out
    }
  }

  /**
   * A contract's record and code at the committed block `cursor`. Both change only in committed blocks,
   * each of which moves the cursor (a rollback too), so they are read once per block, not per query.
   */
  private deployed(store: StateStore, cursor: Hex, id: string): DeployedContract | undefined {
    if (this.deployedAt !== cursor) {
      this.deployedContracts.clear()
      this.deployedAt = cursor
    }
    let deployed = this.deployedContracts.get(id)
    if (deployed === undefined) {
      const recordBytes = store.getPlain(CONTRACTS_TABLE, id)
      if (!recordBytes) return undefined
      const record = decodeContractRecord(recordBytes)
      deployed = {
        record,
        code: store.getPlain(CODE_TABLE, record.codeHash),
        billing: { price: readFuelPrice(store), balance: spendable(readAccount(store, id)) },
      }
      // Bundles are up to 512 KiB: keep the contracts of the moment, not every contract ever queried.
      if (this.deployedContracts.size >= MAX_DEPLOYED_CACHED) this.deployedContracts.clear()
      this.deployedContracts.set(id, deployed)
    }
    return deployed
  }
}

function unknownContract(id: string): ApiError {
  return new ApiError(404, 'UNKNOWN_CONTRACT', `contract ${id} is not deployed to this worker's cluster`)
}

interface DeployedContract {
  record: ContractRecord
  code: Uint8Array | undefined
  /** The fuel price and the contract's spendable balance as of the block (billing). */
  billing: { price: bigint; balance: bigint }
  /** The code as text, decoded on first use. */
  text?: string
}

const MAX_DEPLOYED_CACHED = 32

interface Envelope {
  contract: string
  aead: QueryAead
  enc: Uint8Array
  ct: Uint8Array
}

function parseEnvelope(body: unknown): Envelope {
  const b = body as Record<string, unknown> | null
  if (typeof b !== 'object' || b === null || Array.isArray(b))
    throw new ApiError(400, 'BAD_REQUEST', 'the request must be a JSON object')
  if (b.v !== 1) throw new ApiError(400, 'BAD_REQUEST', 'unsupported request version (expected "v": 1)')
  if (typeof b.contract !== 'string' || !CONTRACT_ID.test(b.contract)) {
    throw new ApiError(400, 'BAD_REQUEST', '"contract" must be a contract id as a decimal string')
  }
  const aead = b.aead ?? 'aes-128-gcm'
  if (aead !== 'aes-128-gcm' && aead !== 'chacha20-poly1305') {
    throw new ApiError(400, 'BAD_REQUEST', '"aead" must be "aes-128-gcm" or "chacha20-poly1305"')
  }
  const bytes = (field: 'enc' | 'ct'): Uint8Array => {
    const value = b[field]
    if (typeof value !== 'string' || value.length === 0)
      throw new ApiError(400, 'BAD_REQUEST', `"${field}" must be a base64url string`)
    try {
      return base64urlToBytes(value)
    } catch {
      throw new ApiError(400, 'BAD_ENCODING', `"${field}" is not valid base64url`)
    }
  }
  const enc = bytes('enc')
  if (enc.length !== 32)
    throw new ApiError(400, 'BAD_REQUEST', '"enc" must be 32 bytes (an X25519 public key)')
  const ct = bytes('ct')
  if (ct.length < 16) throw new ApiError(400, 'BAD_REQUEST', '"ct" is shorter than an AEAD tag')
  return { contract: b.contract, aead, enc, ct }
}

interface PlainQuery {
  method: string
  args: unknown[]
  nonce: Uint8Array
  timestamp: number
  auth?: unknown
}

function parseQuery(plaintext: Uint8Array): PlainQuery {
  let value: unknown
  try {
    value = decodeValue(utf8Decoder.decode(plaintext), 'query')
  } catch {
    throw new ApiError(400, 'BAD_REQUEST', 'the sealed query is not Veil JSON')
  }
  const q = value as Partial<PlainQuery> | null
  if (typeof q !== 'object' || q === null)
    throw new ApiError(400, 'BAD_REQUEST', 'the sealed query must be an object')
  if (typeof q.method !== 'string' || !/^[A-Za-z_$][A-Za-z0-9_$]{0,127}$/.test(q.method)) {
    throw new ApiError(400, 'BAD_REQUEST', 'the sealed query needs a method name')
  }
  if (!Array.isArray(q.args))
    throw new ApiError(400, 'BAD_REQUEST', 'the sealed query "args" must be an array')
  if (!(q.nonce instanceof Uint8Array) || q.nonce.length !== 16)
    throw new ApiError(400, 'BAD_REQUEST', 'the sealed query needs a 16-byte nonce')
  if (typeof q.timestamp !== 'number' || !Number.isSafeInteger(q.timestamp)) {
    throw new ApiError(400, 'BAD_REQUEST', 'the sealed query needs a timestamp (ms since the epoch)')
  }
  return {
    method: q.method,
    args: q.args,
    nonce: q.nonce,
    timestamp: q.timestamp,
    ...(q.auth === undefined ? {} : { auth: q.auth }),
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

function toHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes).toString('hex')}`
}
