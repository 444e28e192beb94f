import { createCipheriv, createHmac } from 'node:crypto'
import { deriveContractRandomSeed } from '@veil/crypto'
import type { LedgerEvent } from '@veil/ledger'
import {
  type CommandReceipt,
  type ContractEvent,
  type ContractLogEntry,
  decodeCommandPayload,
  decodeInitPayload,
  decodeValue,
  encodeValue,
  errorMessage,
  type Hex,
  type Logger,
  PayloadError,
  VeilError,
} from '@veil/protocol'
import { hexToBytes } from 'viem'
import {
  type ContractEngine,
  DEFAULT_COMMAND_LIMITS,
  HostCallbackError,
  InvalidBundleError,
  type InvocationEnv,
  type InvokeOutcome,
  OutOfFuelError,
  reportedError,
  SandboxCrashError,
  TimeoutError,
} from '../sandbox/index.js'
import { type BlockWriter, ContractKeyring, type ContractSecrets } from '../state/index.js'
import {
  fuelBudget,
  insufficientBalance,
  readAccount,
  readFuelPrice,
  spendable,
  writeAccount,
  writeFuelPrice,
} from './billing.js'
import {
  CODE_TABLE,
  CONTRACTS_TABLE,
  type ContractRecord,
  decodeContractRecord,
  encodeContractRecord,
} from './contracts.js'
import { JOB_OUTCOME_METHOD, type JobOutcome, openJobOutcome, SECRETS_METHOD } from './job-outcome.js'
import {
  applySecretsChange,
  hasJobs,
  JobBook,
  parseSecretsChange,
  SystemRequestError,
  takeJob,
} from './system-state.js'

export interface ExecutorBlock {
  number: bigint
  hash: Hex
  /** Seconds since the UNIX epoch, as the chain reports it. */
  timestamp: bigint
}

/** A decoded ledger event with the position of its log. */
export type PositionedEvent = LedgerEvent & { transactionHash: Hex; logIndex: number }

export interface EngineCache {
  /** The engine for `code` (by hash), created on first use. Throws if the code cannot be loaded. */
  engineFor(codeHash: Hex, code: string): Promise<ContractEngine>
}

/** Opens sealed command payloads (format 0x01) with the contract's key; see docs/protocol.md. */
export interface CommandOpener {
  /** Returns the call's plain body and the receipt key exported from the same HPKE context. Throws if it does not open. */
  openCommand(
    body: Uint8Array,
    context: { cluster: string; contractId: string; sender: Hex },
  ): { plaintext: Uint8Array; receiptKey: Uint8Array }
}

export interface BlockExecutorOptions {
  /** Only contracts deployed to this cluster are executed. */
  cluster: string
  secrets: ContractSecrets
  /** Contracts' own keys (`ctx.contract.address`, `ctx.keys`); default: a keyring over `secrets`. */
  keys?: ContractKeyring
  engines: EngineCache
  /** Opens sealed command payloads; without it they fail with INVALID_PAYLOAD. */
  opener?: CommandOpener
  logger: Logger
  /** Called with every receipt once its block is committed (events for subscribers, metrics). */
  onReceipt?: (receipt: CommandReceipt) => void
  /**
   * The fuel limit of commands on this network (`limits.command.fuel`); it bounds what billing reserves.
   * Default: the runtime's.
   */
  commandFuelLimit?: number
}

const utf8Decoder = new TextDecoder()
const utf8Encoder = new TextEncoder()

/** Public table of the job index: key `contracts` → JSON array of contract ids with jobs or timers. */
export const JOBS_TABLE = 'jobs'
export const JOBS_INDEX_KEY = 'contracts'

/** The contracts that have jobs or timers, as of `state`. */
export function readJobIndex(state: {
  getPlain(table: string, key: string): Uint8Array | undefined
}): string[] {
  const bytes = state.getPlain(JOBS_TABLE, JOBS_INDEX_KEY)
  return bytes ? (JSON.parse(utf8Decoder.decode(bytes)) as string[]) : []
}

/**
 * Applies one block's ledger events to the state, in log order, deterministically: the same events give
 * the same writes, receipts and state digest on every worker of the cluster.
 */
export class BlockExecutor {
  private readonly seedKeys = new Map<string, Uint8Array>()
  /** Bundle texts by code hash, kept once their engine loaded (see `loadEngine`). */
  private readonly codeTexts = new Map<Hex, string>()
  /** The last decoded record of each contract, with the bytes it was decoded from (see `contract`). */
  private readonly contractRecords = new Map<string, { bytes: Uint8Array; record: ContractRecord }>()
  private finalAttempt = false
  /** Contracts whose jobs changed in the block being executed (see `updateJobIndex`). */
  private readonly jobContracts = new Set<string>()
  private readonly keys: ContractKeyring

  constructor(private readonly options: BlockExecutorOptions) {
    this.keys = options.keys ?? new ContractKeyring(options.secrets)
  }

  /**
   * Executes `events` (all from `block`, sorted by log index) into `writer`. Returns the receipts.
   *
   * Throws `NondeterministicFailure` when an outcome depends on this host (a wall-clock timeout, a
   * sandbox crash) rather than on the command: the caller discards the block and retries it. With
   * `finalAttempt` such outcomes are recorded instead, so an intrinsically slow command cannot stall the
   * cluster forever.
   */
  async execute(
    block: ExecutorBlock,
    events: PositionedEvent[],
    writer: BlockWriter,
    options: { finalAttempt?: boolean } = {},
  ): Promise<CommandReceipt[]> {
    this.finalAttempt = options.finalAttempt ?? false
    this.jobContracts.clear()
    const receipts: CommandReceipt[] = []
    for (const event of events) {
      const receipt = await this.apply(block, event, writer)
      if (receipt) {
        receipts.push(receipt)
        this.storeReceipt(writer, receipt)
      }
    }
    this.updateJobIndex(writer)
    return receipts
  }

  /** Keeps the public list of contracts that have jobs or timers (`jobs/contracts`), for the runners. */
  private updateJobIndex(writer: BlockWriter): void {
    if (this.jobContracts.size === 0) return
    const current = readJobIndex(writer)
    const next = new Set(current)
    for (const id of this.jobContracts) {
      if (hasJobs(writer, id)) next.add(id)
      else next.delete(id)
    }
    const sorted = [...next].sort()
    if (sorted.join(',') === current.join(',')) return
    writer.putPlain(JOBS_TABLE, JOBS_INDEX_KEY, utf8Encoder.encode(JSON.stringify(sorted)))
  }

  private async apply(
    block: ExecutorBlock,
    event: PositionedEvent,
    writer: BlockWriter,
  ): Promise<CommandReceipt | undefined> {
    switch (event.eventName) {
      case 'CodeUploaded':
        // Code is public: every worker keeps every upload, so a later deploy or upgrade finds it.
        writer.putPlain(CODE_TABLE, event.args.codeHash, hexToBytes(event.args.code))
        return undefined
      case 'ContractDeployed': {
        if (String(event.args.cluster) !== this.options.cluster) return undefined
        const record: ContractRecord = {
          id: String(event.args.contractId),
          cluster: String(event.args.cluster),
          owner: event.args.owner,
          codeHash: event.args.codeHash,
          deployedAt: block.number,
        }
        writer.putPlain(CONTRACTS_TABLE, record.id, encodeContractRecord(record))
        return this.runInit(block, event, record, hexToBytes(event.args.initPayload), writer)
      }
      case 'ContractUpgraded': {
        const record = this.contract(writer, String(event.args.contractId))
        if (!record) return undefined
        const { broken: _previouslyBroken, ...rest } = record
        writer.putPlain(
          CONTRACTS_TABLE,
          record.id,
          encodeContractRecord({ ...rest, codeHash: event.args.codeHash }),
        )
        return undefined
      }
      case 'ContractOwnershipTransferred': {
        const record = this.contract(writer, String(event.args.contractId))
        if (!record) return undefined
        writer.putPlain(
          CONTRACTS_TABLE,
          record.id,
          encodeContractRecord({ ...record, owner: event.args.newOwner }),
        )
        return undefined
      }
      case 'Command': {
        const record = this.contract(writer, String(event.args.contractId))
        if (!record) return undefined
        return this.runCommand(block, event, record, writer)
      }
      // Billing (docs/mining.md): the price and each contract's account follow the ledger's order.
      case 'FuelPriceChanged':
        writeFuelPrice(writer, event.args.price)
        return undefined
      case 'ContractFunded': {
        const id = String(event.args.contractId)
        if (!this.contract(writer, id)) return undefined
        const account = readAccount(writer, id)
        writeAccount(writer, id, { ...account, funded: account.funded + event.args.amount })
        return undefined
      }
      case 'UsageClaimed': {
        // Command charges are in `charged` already; only what queries were paid is new to the state.
        const id = String(event.args.contractId)
        if (!this.contract(writer, id) || event.args.queryPaid === 0n) return undefined
        const account = readAccount(writer, id)
        writeAccount(writer, id, { ...account, claimed: account.claimed + event.args.queryPaid })
        return undefined
      }
      default:
        return undefined
    }
  }

  private contract(writer: BlockWriter, id: string): ContractRecord | undefined {
    const bytes = writer.getPlain(CONTRACTS_TABLE, id)
    if (!bytes) return undefined
    // Decoding costs more than comparing: reuse the last decoding of byte-identical bytes.
    const cached = this.contractRecords.get(id)
    if (cached && Buffer.compare(cached.bytes, bytes) === 0) return cached.record
    const record = Object.freeze(decodeContractRecord(bytes))
    this.contractRecords.set(id, { bytes, record })
    return record
  }

  private async runInit(
    block: ExecutorBlock,
    event: PositionedEvent & { eventName: 'ContractDeployed' },
    record: ContractRecord,
    payload: Uint8Array,
    writer: BlockWriter,
  ): Promise<CommandReceipt> {
    const base = this.receiptBase(block, event, record.id, 'init', 0n, event.args.owner, 'init')
    const engine = await this.loadEngine(record, writer)
    if ('error' in engine) return this.failed(base, writer, engine.error)
    let args: unknown
    try {
      const decoded = decodeInitPayload(payload)
      if (decoded.format === 'sealed') {
        // The contract's key is published only after the deploy, so nobody can seal to it yet.
        return this.failed(base, writer, {
          code: 'INVALID_PAYLOAD',
          message:
            'init payloads cannot be sealed (the contract key does not exist before deploy); send confidential setup as a command',
        })
      }
      args = decoded.value
    } catch (error) {
      return this.failed(base, writer, { code: 'INVALID_PAYLOAD', message: errorMessage(error) })
    }
    if (!engine.engine.methods.hasInit) {
      if (args === undefined)
        return { ...base, ok: true, result: null, events: [], fuel: 0, stateDigest: writer.digest() }
      return this.failed(base, writer, {
        code: 'NO_INIT',
        message: 'init arguments were given, but the contract has no init()',
      })
    }
    return this.invoke(engine.engine, base, writer, 'init', [args], event.args.owner, block)
  }

  private async runCommand(
    block: ExecutorBlock,
    event: PositionedEvent & { eventName: 'Command' },
    record: ContractRecord,
    writer: BlockWriter,
  ): Promise<CommandReceipt> {
    const base = this.receiptBase(block, event, record.id, 'command', event.args.seq, event.args.sender, '')
    let call: { method: string; args: unknown[] }
    let receiptKey: Uint8Array | undefined
    try {
      const decoded = decodeCommandPayload(hexToBytes(event.args.payload))
      if (decoded.format === 'sealed') {
        const opener = this.options.opener
        if (!opener) throw new PayloadError('sealed payloads are not supported by this worker')
        const opened = opener.openCommand(decoded.body, {
          cluster: record.cluster,
          contractId: record.id,
          sender: event.args.sender,
        })
        receiptKey = opened.receiptKey
        const inner = decodeCommandPayload(withPlainFormat(opened.plaintext))
        if (inner.format !== 'plain') throw new PayloadError('a sealed payload must contain a plain call')
        call = inner.value
      } else {
        call = decoded.value
      }
    } catch (error) {
      // Every worker holds the same contract key, so a payload that does not open fails everywhere alike.
      return this.failed(base, writer, { code: 'INVALID_PAYLOAD', message: errorMessage(error) })
    }
    const withMethod = { ...base, method: call.method }
    const seal = (receipt: CommandReceipt) => (receiptKey ? sealReceipt(receipt, receiptKey) : receipt)
    if (call.method === SECRETS_METHOD) {
      return seal(this.setSecrets(withMethod, writer, record, call.args[0], receiptKey !== undefined))
    }
    const engine = await this.loadEngine(record, writer)
    if ('error' in engine) return seal(this.failed(withMethod, writer, engine.error))
    if (call.method === JOB_OUTCOME_METHOD) {
      let job: { id: string; outcome: JobOutcome; name: string }
      try {
        const opened = openJobOutcome(this.options.secrets.contractSecret(record.id), call.args[0])
        const taken = takeJob(writer, record.id, opened.id, Number(block.timestamp) * 1000)
        this.jobContracts.add(record.id)
        job = { ...opened, name: taken.name }
      } catch (error) {
        if (!(error instanceof SystemRequestError)) throw error
        return seal(
          this.failed(withMethod, writer, { code: error.code ?? 'BAD_ARGUMENTS', message: error.message }),
        )
      }
      // The job is taken even if apply() fails: an outcome is applied at most once.
      const receipt = await this.invoke(
        engine.engine,
        { ...withMethod, method: `${JOB_OUTCOME_METHOD}:${job.name}:${job.id}` },
        writer,
        job.name,
        [job.outcome],
        event.args.sender,
        block,
        { sealed: receiptKey !== undefined, apply: true, billed: true },
      )
      return seal(receipt)
    }
    const receipt = await this.invoke(
      engine.engine,
      withMethod,
      writer,
      call.method,
      call.args,
      event.args.sender,
      block,
      { sealed: receiptKey !== undefined, billed: true },
    )
    return seal(receipt)
  }

  /** `$secrets` from the contract's owner, sealed: sets and deletes secrets; the receipt names them only. */
  private setSecrets(
    base: Omit<CommandReceipt, 'ok' | 'events' | 'fuel' | 'stateDigest'>,
    writer: BlockWriter,
    record: ContractRecord,
    argument: unknown,
    sealed: boolean,
  ): CommandReceipt {
    if (!sealed) {
      return this.failed(base, writer, {
        code: 'NOT_SEALED',
        message: 'secrets must be sent sealed to the contract key (veil secrets set does this)',
      })
    }
    if (base.sender.toLowerCase() !== record.owner.toLowerCase()) {
      return this.failed(base, writer, {
        code: 'NOT_OWNER',
        message: `only the contract's owner (${record.owner}) can set its secrets`,
      })
    }
    try {
      const names = applySecretsChange(writer, record.id, parseSecretsChange(argument))
      return { ...base, ok: true, result: names, events: [], fuel: 0, stateDigest: writer.digest() }
    } catch (error) {
      if (!(error instanceof SystemRequestError)) throw error
      return this.failed(base, writer, { code: error.code ?? 'BAD_ARGUMENTS', message: error.message })
    }
  }

  private async invoke(
    engine: ContractEngine,
    base: Omit<CommandReceipt, 'ok' | 'events' | 'fuel' | 'stateDigest'>,
    writer: BlockWriter,
    method: string,
    args: unknown[],
    caller: Hex,
    block: ExecutorBlock,
    options: { sealed?: boolean; apply?: boolean; billed?: boolean } = {},
  ): Promise<CommandReceipt> {
    const sealed = options.sealed ?? false
    const contractId = base.contractId
    // Billing: the command may use only the fuel its contract's balance can pay for at the current price.
    const fuelLimit = this.options.commandFuelLimit ?? DEFAULT_COMMAND_LIMITS.fuel
    const price = options.billed ? readFuelPrice(writer) : 0n
    // Read once: the contract cannot write the billing table, so the account is the same after the run.
    const account = price > 0n ? readAccount(writer, contractId) : undefined
    const balance = account ? spendable(account) : 0n
    const budget = fuelBudget(balance, price, fuelLimit)
    if (budget === 0) return this.failed(base, writer, insufficientBalance(contractId, balance, price))
    /** Charges the fuel used to the account; the rest of the budget is never taken. */
    const charge = (fuel: number): { charge?: bigint } => {
      if (!account || fuel <= 0) return {}
      const amount = BigInt(Math.min(fuel, budget)) * price
      writeAccount(writer, contractId, { ...account, charged: account.charged + amount })
      return { charge: amount }
    }
    const savepoint = writer.savepoint()
    const events: ContractEvent[] = []
    const logs: { level: 'info' | 'warn' | 'error'; message: string }[] = []
    const blockTime = Number(block.timestamp) * 1000
    const env: InvocationEnv = {
      kind: options.apply ? 'apply' : base.kind,
      contractId,
      caller,
      block: { number: block.number, timestamp: Number(block.timestamp) * 1000, hash: block.hash },
      randomSeed: this.randomSeed(contractId, block.hash, base.logIndex),
      keys: this.keys.forContract(contractId),
    }
    let outcome: InvokeOutcome
    try {
      outcome = await engine.invoke({
        env,
        ...(budget < fuelLimit ? { limits: { fuel: budget } } : {}),
        method: base.kind === 'init' ? 'init' : method,
        argsText: encodeValue(base.kind === 'init' ? args.slice(0, 1) : args, 'args'),
        host: {
          storage: {
            get: (key) => writer.get(contractId, key),
            set: (key, valueText) => writer.set(contractId, key, valueText),
            delete: (key) => writer.delete(contractId, key),
          },
          emit: (name, dataText) => {
            events.push({ name, data: decodeValue(dataText) })
          },
          log: (level, message) => {
            logs.push({ level, message })
          },
          jobs: new JobBook(writer, contractId, engine.methods.jobs, blockTime, () =>
            this.jobContracts.add(contractId),
          ),
        },
      })
    } catch (error) {
      // The engine reports contract failures as outcomes; a throw here is a host-side fault.
      writer.rollbackTo(savepoint)
      this.options.logger.error('engine failed outside the sandbox', {
        contractId,
        error: errorMessage(error),
      })
      throw error
    }
    if (!outcome.ok) {
      writer.rollbackTo(savepoint) // a failed command changes nothing
      const error = outcome.error
      if (error instanceof HostCallbackError) throw error // this host's fault, never the command's
      if ((error instanceof TimeoutError || error instanceof SandboxCrashError) && !this.finalAttempt) {
        throw new NondeterministicFailure(error, contractId, base.txHash)
      }
      if (error instanceof OutOfFuelError && budget < fuelLimit) {
        // It ran out of what the balance pays for, not of its limit: the contract cannot pay. Nothing
        // is charged and nothing changes, as if the balance had been checked for the whole run upfront.
        return this.failed(base, writer, insufficientBalance(contractId, balance, price, budget))
      }
      this.appendLogs(writer, base, block, sealed, logs) // kept: they tell the owner why it failed
      return {
        ...base,
        ok: false,
        error: reportedError(error),
        events: [],
        fuel: outcome.fuel,
        ...charge(outcome.fuel),
        stateDigest: writer.digest(),
      }
    }
    this.appendLogs(writer, base, block, sealed, logs)
    return {
      ...base,
      ok: true,
      result: decodeValue(outcome.resultText),
      events,
      fuel: outcome.fuel,
      ...charge(outcome.fuel),
      stateDigest: writer.digest(),
    }
  }

  /** Keeps an invocation's `ctx.log` lines for the contract's owner (state/logs.ts); not state. */
  private appendLogs(
    writer: BlockWriter,
    base: Omit<CommandReceipt, 'ok' | 'events' | 'fuel' | 'stateDigest'>,
    block: ExecutorBlock,
    sealed: boolean,
    logs: readonly { level: 'info' | 'warn' | 'error'; message: string }[],
  ): void {
    for (const { level, message } of logs) {
      const entry: Omit<ContractLogEntry, 'seq'> = {
        level,
        message,
        kind: base.kind,
        // A sealed command's method is confidential to its sender, so the owner sees only the lines.
        ...(sealed ? {} : { method: base.kind === 'init' ? 'init' : base.method }),
        block: block.number,
        time: Number(block.timestamp) * 1000,
        txHash: base.txHash,
      }
      writer.appendLog(base.contractId, encodeValue(entry))
    }
  }

  private async loadEngine(
    record: ContractRecord,
    writer: BlockWriter,
  ): Promise<{ engine: ContractEngine } | { error: { code: string; message: string } }> {
    if (record.broken) return { error: { code: 'CODE_INVALID', message: record.broken } }
    if (!writer.hasPlain(CODE_TABLE, record.codeHash))
      return { error: { code: 'CODE_MISSING', message: `no code uploaded with hash ${record.codeHash}` } }
    // Copying and decoding the bundle on every command costs O(bundle size); the engine cache is keyed by
    // the hash alone, so the text of a hash whose engine loaded is reused as well.
    let text = this.codeTexts.get(record.codeHash)
    text ??= utf8Decoder.decode(writer.getPlain(CODE_TABLE, record.codeHash))
    try {
      const engine = await this.options.engines.engineFor(record.codeHash, text)
      this.codeTexts.set(record.codeHash, text)
      return { engine }
    } catch (error) {
      // Only a bad bundle is a fact every worker agrees on, and so may enter the replicated state. Any
      // other failure (a fault of this host) must not: rethrow, so the block is retried, not recorded.
      if (!(error instanceof InvalidBundleError)) throw error
      const message = `the contract code cannot be loaded: ${error.details ?? error.shortMessage}`
      writer.putPlain(CONTRACTS_TABLE, record.id, encodeContractRecord({ ...record, broken: message }))
      return { error: { code: 'CODE_INVALID', message } }
    }
  }

  private failed(
    base: Omit<CommandReceipt, 'ok' | 'events' | 'fuel' | 'stateDigest'>,
    writer: BlockWriter,
    error: { code: string; message: string },
  ): CommandReceipt {
    return { ...base, ok: false, error, events: [], fuel: 0, stateDigest: writer.digest() }
  }

  private receiptBase(
    block: ExecutorBlock,
    event: PositionedEvent,
    contractId: string,
    kind: 'init' | 'command',
    seq: bigint,
    sender: Hex,
    method: string,
  ): Omit<CommandReceipt, 'ok' | 'events' | 'fuel' | 'stateDigest'> {
    return {
      version: 1,
      kind,
      txHash: event.transactionHash,
      blockNumber: block.number,
      blockHash: block.hash,
      logIndex: event.logIndex,
      contractId,
      seq,
      sender,
      method,
    }
  }

  /** Receipts are kept per transaction: a list, since one transaction may carry several commands. */
  private storeReceipt(writer: BlockWriter, receipt: CommandReceipt): void {
    const existing = writer.getReceipt(receipt.txHash)
    const list = existing ? (decodeValue(existing.receiptText) as CommandReceipt[]) : []
    list.push(receipt)
    writer.putReceipt(
      receipt.txHash,
      existing?.contractId ?? receipt.contractId,
      encodeValue(list, 'receipt'),
    )
  }

  /**
   * The seed of `ctx.random` and `Math.random` for one command: HMAC of the block hash and the command's
   * log index under the contract's random-seed key. Identical on every worker, unknowable without the
   * contract secret, and different for every command.
   */
  private randomSeed(contractId: string, blockHash: Hex, logIndex: number): Uint8Array {
    let key = this.seedKeys.get(contractId)
    if (!key) {
      key = deriveContractRandomSeed(this.options.secrets.contractSecret(contractId))
      this.seedKeys.set(contractId, key)
    }
    const position = Buffer.alloc(4)
    position.writeUInt32BE(logIndex)
    return new Uint8Array(createHmac('sha256', key).update(hexToBytes(blockHash)).update(position).digest())
  }
}

/**
 * An outcome that depends on this host rather than on the command (a wall-clock timeout, a sandbox
 * crash): recording it could fork this worker from its peers, so the block is retried instead.
 */
export class NondeterministicFailure extends VeilError {
  override name = 'NondeterministicFailure'
  constructor(cause: VeilError, contractId: string, txHash: Hex) {
    super(`contract ${contractId} hit a host-dependent failure (${cause.code}) in transaction ${txHash}`, {
      code: 'NONDETERMINISTIC_FAILURE',
      details: cause.shortMessage,
      hint: 'the block is retried; if this persists the host is overloaded, or the command is too slow for its deadline',
      cause,
    })
  }
}

function withPlainFormat(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1)
  out.set(body, 1) // first byte 0x00: plain
  return out
}

/**
 * Seals what only the sender may read (ok, method, result or error) under the receipt key: AES-128-GCM,
 * zero nonce (each receipt key comes from a fresh HPKE context and is used exactly once), aad
 * `<txHash>:<logIndex>`. Deterministic, so every worker stores and serves identical bytes.
 */
export function sealReceipt(receipt: CommandReceipt, receiptKey: Uint8Array): CommandReceipt {
  const body = encodeValue({
    ok: receipt.ok,
    method: receipt.method,
    ...(receipt.ok ? { result: receipt.result } : { error: receipt.error }),
  })
  const cipher = createCipheriv('aes-128-gcm', receiptKey, Buffer.alloc(12))
  cipher.setAAD(Buffer.from(`${receipt.txHash.toLowerCase()}:${receipt.logIndex}`))
  const sealed = Buffer.concat([cipher.update(body, 'utf8'), cipher.final(), cipher.getAuthTag()])
  return { ...receipt, sealed: new Uint8Array(sealed) }
}
