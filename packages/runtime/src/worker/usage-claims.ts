/**
 * Usage receipts, the worker's side (docs/mining.md, "Billing"): once per interval, for every contract
 * this worker answered paid queries for, or whose commands were charged more than Billing has settled,
 * it signs a `UsageReceipt` with its identity key and claims it; the payment goes to its staking pool.
 * A failed claim keeps the usage for the next round; nothing here ever stops the worker.
 */
import {
  Billing,
  billingDomain,
  explainMiningError,
  type LedgerWalletClient,
  USAGE_RECEIPT_TYPES,
} from '@veil/ledger'
import { errorMessage, type Hex, type Logger, type Startable } from '@veil/protocol'
import { getContract, type PublicClient, parseEventLogs, type TransactionReceipt } from 'viem'
import type { QueryUsage, UsageMeter } from '../api/usage.js'

/** One receipt, as Billing's `UsageReceipt` struct. */
export interface UsageReceipt {
  contractId: bigint
  worker: Hex
  seq: bigint
  queries: bigint
  queryFuel: bigint
  queryCharge: bigint
  commandCharges: bigint
}

/** The Billing calls the claimer needs (the worker wires them to the contract). */
export interface BillingChain {
  /** The worker's last claimed receipt number for the contract (0 before the first). */
  lastReceipt(contractId: bigint): Promise<bigint>
  /** The contract's command charges Billing has paid out so far. */
  commandsSettled(contractId: bigint): Promise<bigint>
  /** Signs and claims a receipt; resolves once it landed, with the amounts paid. */
  claim(receipt: UsageReceipt): Promise<{ txHash: Hex; paid: bigint }>
}

export interface UsageClaimerOptions {
  chain: BillingChain
  meter: UsageMeter
  self: Hex
  /** The contract's command charges in this worker's committed replicated state. */
  commandCharges: (contractId: string) => bigint
  /**
   * Contracts whose commands were ever charged, read at start: their charges may not be settled yet
   * (the worker may have stopped before claiming them).
   */
  chargedContracts?: () => readonly string[]
  /** Milliseconds between rounds (the worker uses the mining epoch length). */
  /** Clamped to [1 s, 1 h]: a long epoch must not overflow the timer (Node fires it at once then). */
  intervalMs: number
  logger: Logger
  /** Called after each claim that landed (tests, metrics). */
  onClaim?: (receipt: UsageReceipt, result: { txHash: Hex; paid: bigint }) => void
}

export class UsageClaimer implements Startable {
  readonly #options: UsageClaimerOptions
  /** Contracts whose commands were charged since their charges were last found settled. */
  readonly #charged = new Set<string>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #stopped = false
  #round: Promise<void> | undefined

  constructor(options: UsageClaimerOptions) {
    this.#options = options
  }

  /** Tells the claimer a contract's command was charged (from the committed receipts). */
  noteCharged(contractId: string): void {
    this.#charged.add(contractId)
  }

  async start(): Promise<void> {
    this.#stopped = false
    for (const contractId of this.#options.chargedContracts?.() ?? []) {
      if (this.#options.commandCharges(contractId) > 0n) this.#charged.add(contractId)
    }
    this.#schedule()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    await this.#round
  }

  /** Runs one round now (tests; `stop` waits for it). */
  claimNow(): Promise<void> {
    this.#round ??= this.#claimAll().finally(() => {
      this.#round = undefined
    })
    return this.#round
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      void this.claimNow().finally(() => this.#schedule())
    }, claimInterval(this.#options.intervalMs))
  }

  async #claimAll(): Promise<void> {
    const contracts = new Set([...this.#options.meter.contracts(), ...this.#charged])
    for (const contractId of [...contracts].sort()) {
      if (this.#stopped) return
      await this.#claim(contractId)
    }
  }

  async #claim(contractId: string): Promise<void> {
    const { chain, meter, logger } = this.#options
    const usage = meter.take(contractId)
    const id = BigInt(contractId)
    let claimed = false
    try {
      const commandCharges = this.#options.commandCharges(contractId)
      // Only a contract with command charges can have some left to settle: skip the read otherwise.
      const settled = commandCharges > 0n ? await chain.commandsSettled(id) : 0n
      if (usage.charge === 0n && commandCharges <= settled) {
        this.#charged.delete(contractId) // another worker of the cluster settled them
        claimed = true
        return
      }
      const receipt: UsageReceipt = {
        contractId: id,
        worker: this.#options.self,
        seq: (await chain.lastReceipt(id)) + 1n,
        queries: BigInt(usage.queries),
        queryFuel: usage.fuel,
        queryCharge: usage.charge,
        commandCharges,
      }
      const result = await chain.claim(receipt)
      claimed = true
      this.#charged.delete(contractId)
      logger.info('billing: usage claimed', {
        contractId,
        seq: String(receipt.seq),
        queries: usage.queries,
        paid: String(result.paid),
        txHash: result.txHash,
      })
      this.#options.onClaim?.(receipt, result)
    } catch (error) {
      logger.warn('billing: usage claim failed (kept for the next round)', {
        contractId,
        error: errorMessage(error).split('\n')[0],
      })
    } finally {
      if (!claimed) this.#restore(contractId, usage)
    }
  }

  #restore(contractId: string, usage: QueryUsage): void {
    this.#options.meter.restore(contractId, usage)
  }
}

/** The delay between claim rounds: `intervalMs` within [1 s, 1 h] (NaN and non-finite give 1 h). */
export function claimInterval(intervalMs: number): number {
  return Number.isFinite(intervalMs) ? Math.min(3_600_000, Math.max(1_000, intervalMs)) : 3_600_000
}

/** Gas limit of a claim (measured well under half of this). */
const CLAIM_GAS = 400_000n

/**
 * The Billing calls on the real contract, from the worker's identity account, which also signs the
 * receipts (EIP-712, domain "Veil Billing" version 1).
 */
export function billingChain(
  publicClient: PublicClient,
  walletClient: LedgerWalletClient,
  billing: Hex,
  chainId: number,
): BillingChain {
  const contract = getContract({
    address: billing,
    abi: Billing.abi,
    client: { public: publicClient, wallet: walletClient },
  })
  const self = walletClient.account.address
  return {
    lastReceipt: async (contractId) => BigInt(await contract.read.lastReceipt([self, contractId])),
    commandsSettled: (contractId) => contract.read.commandsSettled([contractId]),
    claim: async (receipt) => {
      const signature = await walletClient.signTypedData({
        domain: billingDomain(chainId, billing),
        types: USAGE_RECEIPT_TYPES,
        primaryType: 'UsageReceipt',
        message: receipt,
      })
      let hash: Hex
      let landed: TransactionReceipt
      try {
        hash = await contract.write.claimUsage([receipt, signature], { gas: CLAIM_GAS })
        landed = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 })
        if (landed.status !== 'success') {
          // Explain the revert from a simulation against the current state.
          await contract.simulate.claimUsage([receipt, signature], { account: self })
          throw new Error(`claim ${hash} reverted`)
        }
      } catch (error) {
        throw explainMiningError(error, `claiming usage of contract ${receipt.contractId}`)
      }
      const [claimed] = parseEventLogs({ abi: Billing.abi, logs: landed.logs, eventName: 'UsageClaimed' })
      const paid = (claimed?.args.commandPaid ?? 0n) + (claimed?.args.queryPaid ?? 0n)
      return { txHash: hash, paid }
    },
  }
}
