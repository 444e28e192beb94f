import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  BILLING_TABLE,
  fuelBudget,
  insufficientBalance,
  readAccount,
  readFuelPrice,
  spendable,
  writeAccount,
  writeFuelPrice,
} from './billing.js'

function memoryTables() {
  const tables = new Map<string, Uint8Array>()
  return {
    tables,
    getPlain: (table: string, key: string) => tables.get(`${table}/${key}`),
    putPlain: (table: string, key: string, value: Uint8Array) => {
      tables.set(`${table}/${key}`, value)
    },
  }
}

describe('billing state', () => {
  it('reads zero before anything was written, and round-trips the price and accounts', () => {
    const state = memoryTables()
    expect(readFuelPrice(state)).toBe(0n)
    expect(readAccount(state, '7')).toEqual({ funded: 0n, charged: 0n, claimed: 0n })
    writeFuelPrice(state, 10n ** 9n)
    const big = 2n ** 200n
    writeAccount(state, '7', { funded: big, charged: 3n, claimed: 4n })
    expect(readFuelPrice(state)).toBe(10n ** 9n)
    expect(readAccount(state, '7')).toEqual({ funded: big, charged: 3n, claimed: 4n })
    expect(readAccount(state, '8')).toEqual({ funded: 0n, charged: 0n, claimed: 0n })
    // Stored as public, deterministic text (digested like all state).
    expect(new TextDecoder().decode(state.tables.get(`${BILLING_TABLE}/7`))).toBe(
      `{"funded":"${big}","charged":"3","claimed":"4"}`,
    )
  })

  it('refuses writes through a read-only view', () => {
    const { getPlain } = memoryTables()
    expect(() => writeFuelPrice({ getPlain }, 1n)).toThrow(/read-only/)
  })

  it('never reports a negative spendable balance', () => {
    expect(spendable({ funded: 10n, charged: 4n, claimed: 3n })).toBe(3n)
    expect(spendable({ funded: 10n, charged: 8n, claimed: 3n })).toBe(0n)
  })

  it('budgets the whole limit without a price, and what the balance pays for with one', () => {
    expect(fuelBudget(0n, 0n, 10_000_000)).toBe(10_000_000)
    expect(fuelBudget(0n, 5n, 10_000_000)).toBe(0)
    expect(fuelBudget(4n, 5n, 10_000_000)).toBe(0) // not even one unit
    expect(fuelBudget(12n, 5n, 10_000_000)).toBe(2)
    expect(fuelBudget(10n ** 30n, 1n, 10_000_000)).toBe(10_000_000)
  })

  it('never budgets more than the limit nor more than the balance pays for', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.bigInt({ min: 1n, max: 10n ** 18n }),
        fc.integer({ min: 1, max: 100_000_000 }),
        (balance, price, limit) => {
          const budget = fuelBudget(balance, price, limit)
          expect(budget).toBeGreaterThanOrEqual(0)
          expect(budget).toBeLessThanOrEqual(limit)
          expect(BigInt(budget) * price).toBeLessThanOrEqual(balance)
          // Maximal: one more unit would exceed the limit or the balance.
          if (budget < limit) expect(BigInt(budget + 1) * price > balance).toBe(true)
        },
      ),
    )
  })

  it('explains a refusal with the balance, the price and what to do', () => {
    const refusal = insufficientBalance('3', 5n, 10n)
    expect(refusal.code).toBe('INSUFFICIENT_BALANCE')
    expect(refusal.message).toMatch(
      /balance is 5 .*costs 10.*veil contract fund 3 <amount>.*Nothing was changed/,
    )
    expect(insufficientBalance('3', 5n, 1n, 5).message).toMatch(/more than the 5 fuel it can pay for/)
  })
})
