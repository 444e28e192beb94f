import { silentLogger } from '@veil/protocol'
import { describe, expect, it } from 'vitest'
import { UsageMeter } from '../api/usage.js'
import { type BillingChain, claimInterval, UsageClaimer, type UsageReceipt } from './usage-claims.js'

const SELF = '0x00000000000000000000000000000000000000a1'

/** A Billing stand-in with the contract's rules: receipt numbers only grow, command totals settle once. */
function fakeBilling(options: { failClaims?: number } = {}) {
  const last = new Map<bigint, bigint>()
  const settled = new Map<bigint, bigint>()
  const claims: UsageReceipt[] = []
  let failures = options.failClaims ?? 0
  const chain: BillingChain = {
    lastReceipt: async (id) => last.get(id) ?? 0n,
    commandsSettled: async (id) => settled.get(id) ?? 0n,
    claim: async (receipt) => {
      if (failures-- > 0) throw new Error('execution reverted: the node is down')
      if (receipt.seq <= (last.get(receipt.contractId) ?? 0n)) throw new Error('ReceiptAlreadyClaimed')
      last.set(receipt.contractId, receipt.seq)
      const before = settled.get(receipt.contractId) ?? 0n
      const commandPaid = receipt.commandCharges > before ? receipt.commandCharges - before : 0n
      settled.set(receipt.contractId, before + commandPaid)
      claims.push(receipt)
      return { txHash: '0x01', paid: commandPaid + receipt.queryCharge }
    },
  }
  return { chain, claims, settled }
}

describe('UsageMeter', () => {
  it('adds queries, fuel and charges per contract, and hands them over for a claim', () => {
    const meter = new UsageMeter()
    meter.record('1', 100, 3n)
    meter.record('1', 50, 4n)
    meter.record('2', 10, 3n)
    expect(meter.pending('1')).toEqual({ queries: 2, fuel: 150n, charge: 500n })
    expect(meter.contracts().sort()).toEqual(['1', '2'])
    const taken = meter.take('1')
    expect(meter.pending('1')).toEqual({ queries: 0, fuel: 0n, charge: 0n })
    meter.record('1', 1, 1n) // answered while the claim was in flight
    meter.restore('1', taken) // the claim failed: nothing is lost
    expect(meter.pending('1')).toEqual({ queries: 3, fuel: 151n, charge: 501n })
  })
})

describe('UsageClaimer', () => {
  const setup = (failClaims = 0) => {
    const billing = fakeBilling({ failClaims })
    const meter = new UsageMeter()
    const charges = new Map<string, bigint>()
    const claimer = new UsageClaimer({
      chain: billing.chain,
      meter,
      self: SELF,
      commandCharges: (id) => charges.get(id) ?? 0n,
      intervalMs: 60_000,
      logger: silentLogger,
    })
    return { ...billing, meter, charges, claimer }
  }

  it('claims query usage and command charges with increasing receipt numbers', async () => {
    const { claimer, meter, charges, claims } = setup()
    meter.record('5', 1_000, 2n)
    charges.set('5', 70n)
    claimer.noteCharged('5')
    await claimer.claimNow()
    expect(claims).toEqual([
      {
        contractId: 5n,
        worker: SELF,
        seq: 1n,
        queries: 1n,
        queryFuel: 1_000n,
        queryCharge: 2_000n,
        commandCharges: 70n,
      },
    ])
    expect(meter.contracts()).toEqual([])
    meter.record('5', 10, 2n)
    await claimer.claimNow()
    expect(claims.map((c) => c.seq)).toEqual([1n, 2n])
  })

  it('sends nothing when there is no usage and the command charges are already settled', async () => {
    const { claimer, charges, claims, settled } = setup()
    charges.set('5', 70n)
    settled.set(5n, 70n) // another worker of the cluster settled them
    claimer.noteCharged('5')
    await claimer.claimNow()
    expect(claims).toEqual([])
    await claimer.claimNow()
    expect(claims).toEqual([])
  })

  it('keeps the usage when a claim fails, and claims it in the next round', async () => {
    const { claimer, meter, claims } = setup(1)
    meter.record('9', 100, 1n)
    await claimer.claimNow()
    expect(claims).toEqual([])
    expect(meter.pending('9')).toEqual({ queries: 1, fuel: 100n, charge: 100n })
    await claimer.claimNow()
    expect(claims).toHaveLength(1)
    expect(claims[0]?.queryCharge).toBe(100n)
    expect(meter.contracts()).toEqual([])
  })

  it('at start, picks up the command charges of contracts a previous run did not settle', async () => {
    const billing = fakeBilling()
    const charges = new Map([
      ['1', 50n],
      ['2', 0n],
      ['3', 9n],
    ])
    billing.settled.set(3n, 9n)
    const claimer = new UsageClaimer({
      chain: billing.chain,
      meter: new UsageMeter(),
      self: SELF,
      commandCharges: (id) => charges.get(id) ?? 0n,
      chargedContracts: () => [...charges.keys()],
      intervalMs: 60_000,
      logger: silentLogger,
    })
    await claimer.start()
    await claimer.claimNow()
    await claimer.stop()
    expect(billing.claims.map((c) => [c.contractId, c.commandCharges])).toEqual([[1n, 50n]])
  })

  it('stops between rounds and waits for a round in flight', async () => {
    const { claimer, meter, claims } = setup()
    await claimer.start()
    meter.record('1', 1, 1n)
    const round = claimer.claimNow()
    await claimer.stop()
    await round
    expect(claims).toHaveLength(1)
  })
})

describe('claimInterval', () => {
  it('keeps the timer within [1 s, 1 h], so a month-long epoch cannot overflow it into a busy loop', () => {
    expect(claimInterval(10_000)).toBe(10_000)
    expect(claimInterval(0)).toBe(1_000)
    expect(claimInterval(30 * 24 * 3_600_000)).toBe(3_600_000) // past setTimeout's 2^31 ms
    expect(claimInterval(Number.NaN)).toBe(3_600_000)
    expect(claimInterval(Number.POSITIVE_INFINITY)).toBe(3_600_000)
  })
})
