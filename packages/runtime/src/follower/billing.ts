/**
 * Contract billing in the replicated state (docs/mining.md, "Billing"). The Billing contract's events
 * (`FuelPriceChanged`, `ContractFunded`, `UsageClaimed`) are replayed in ledger order with the commands,
 * so every worker of a cluster holds the same fuel price and the same account for each contract, and
 * charges each command the same amount or refuses it alike.
 *
 * Public table `billing`: key `$price` → the fuel price (decimal text); key `<contractId>` → the
 * contract's account `{ funded, charged, claimed }` (decimal texts). Both are digested like all state.
 */
import { VeilError } from '@veil/protocol'

export const BILLING_TABLE = 'billing'
const PRICE_KEY = '$price'

/** Reads and writes public tables (a `BlockWriter` in a block, the committed store outside). */
export interface PlainAccess {
  getPlain(table: string, key: string): Uint8Array | undefined
  putPlain?(table: string, key: string, value: Uint8Array): void
}

/** A contract's account, in VEIL base units. */
export interface BillingAccount {
  /** Everything funded through `Billing.fund`. */
  funded: bigint
  /** Everything its commands were charged (fuel × price), paid out on chain or not yet. */
  charged: bigint
  /** What usage receipts paid out on chain for its queries. */
  claimed: bigint
}

const EMPTY: BillingAccount = Object.freeze({ funded: 0n, charged: 0n, claimed: 0n })
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The fuel price in force (0 before the Billing contract announced one, or without billing). */
export function readFuelPrice(state: PlainAccess): bigint {
  const bytes = state.getPlain(BILLING_TABLE, PRICE_KEY)
  return bytes ? BigInt(decoder.decode(bytes)) : 0n
}

export function writeFuelPrice(state: PlainAccess, price: bigint): void {
  requireWritable(state).putPlain(BILLING_TABLE, PRICE_KEY, encoder.encode(price.toString()))
}

export function readAccount(state: PlainAccess, contractId: string): BillingAccount {
  const bytes = state.getPlain(BILLING_TABLE, contractId)
  if (!bytes) return EMPTY
  const { funded, charged, claimed } = JSON.parse(decoder.decode(bytes)) as Record<string, string>
  return { funded: BigInt(funded ?? 0), charged: BigInt(charged ?? 0), claimed: BigInt(claimed ?? 0) }
}

export function writeAccount(state: PlainAccess, contractId: string, account: BillingAccount): void {
  const text = JSON.stringify({
    funded: account.funded.toString(),
    charged: account.charged.toString(),
    claimed: account.claimed.toString(),
  })
  requireWritable(state).putPlain(BILLING_TABLE, contractId, encoder.encode(text))
}

/** The contracts that have a billing account (funded or charged), as of the committed state. */
export function billedContracts(store: { plainKeys(table: string): string[] } | undefined): string[] {
  return store ? store.plainKeys(BILLING_TABLE).filter((key) => key !== PRICE_KEY) : []
}

/** What the contract can still spend: funded, less charged and claimed (never below zero). */
export function spendable(account: BillingAccount): bigint {
  const left = account.funded - account.charged - account.claimed
  return left > 0n ? left : 0n
}

/**
 * The fuel a command may use: its limit, or less when the balance cannot pay for the whole limit at
 * `price`. 0 means the balance cannot pay for a single unit. Without a price every command runs free.
 */
export function fuelBudget(balance: bigint, price: bigint, limit: number): number {
  if (price <= 0n) return limit
  const affordable = balance / price
  return affordable >= BigInt(limit) ? limit : Number(affordable)
}

/** The refusal of a command its contract cannot pay for. */
export function insufficientBalance(
  contractId: string,
  balance: bigint,
  price: bigint,
  fuel?: number,
): { code: string; message: string } {
  const needs =
    fuel === undefined
      ? `a single unit of fuel costs ${price}`
      : `the command needed more than the ${fuel} fuel it can pay for at ${price} per unit`
  return {
    code: 'INSUFFICIENT_BALANCE',
    message: `contract ${contractId} cannot pay: its balance is ${balance} base units of VEIL and ${needs}; fund it with \`veil contract fund ${contractId} <amount>\`. Nothing was changed.`,
  }
}

function requireWritable(state: PlainAccess): Required<PlainAccess> {
  if (!state.putPlain) throw new VeilError('billing state is read-only here', { code: 'INTERNAL' })
  return state as Required<PlainAccess>
}
