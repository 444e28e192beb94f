/**
 * What this worker's answered queries cost each contract since its last usage receipt (docs/mining.md,
 * "Billing"). Queries are answered by one worker, off the ledger, so each worker meters its own and
 * claims them with a signed receipt; the meter is in memory, so a crash forfeits at most one claim
 * interval of query payments (never a contract's funds).
 */

/** Usage of one contract not yet claimed. Charges in VEIL base units. */
export interface QueryUsage {
  queries: number
  fuel: bigint
  charge: bigint
}

export class UsageMeter {
  readonly #pending = new Map<string, QueryUsage>()

  /** Counts one answered query: `fuel` at `price` (token units per fuel). */
  record(contractId: string, fuel: number, price: bigint): void {
    this.#add(contractId, { queries: 1, fuel: BigInt(fuel), charge: BigInt(fuel) * price })
  }

  /** What `contractId` owes this worker so far (zero when nothing). */
  pending(contractId: string): QueryUsage {
    return this.#pending.get(contractId) ?? { queries: 0, fuel: 0n, charge: 0n }
  }

  /** Contracts with usage not claimed yet. */
  contracts(): string[] {
    return [...this.#pending.keys()]
  }

  /** Removes and returns a contract's usage, to claim it; `restore` puts it back if the claim fails. */
  take(contractId: string): QueryUsage {
    const usage = this.pending(contractId)
    this.#pending.delete(contractId)
    return usage
  }

  restore(contractId: string, usage: QueryUsage): void {
    if (usage.queries > 0) this.#add(contractId, usage)
  }

  #add(contractId: string, usage: QueryUsage): void {
    const current = this.#pending.get(contractId)
    this.#pending.set(
      contractId,
      current
        ? {
            queries: current.queries + usage.queries,
            fuel: current.fuel + usage.fuel,
            charge: current.charge + usage.charge,
          }
        : usage,
    )
  }
}
