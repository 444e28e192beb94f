import type { Hash, Hex, PublicClient } from 'viem'
import { afterEach, beforeEach, expect } from 'vitest'
import { explainLedgerError, type LedgerError } from './errors.js'
import { decodeLedgerLogs } from './events.js'
import type { TestLedger } from './testing.js'

/**
 * Assertions shared by the ledger's integration tests. `client` is read lazily, so the helpers can be
 * created at module level before `beforeAll` has started anvil.
 */
export function ledgerAssertions(client: () => PublicClient) {
  /** Waits for the transaction, requires success and decodes the ledger events it emitted. */
  async function mined(sent: Promise<Hash>) {
    const receipt = await client().waitForTransactionReceipt({ hash: await sent })
    expect(receipt.status).toBe('success')
    return { receipt, events: decodeLedgerLogs(receipt.logs) }
  }

  /** The ledger's named revert for a call that must fail. */
  async function reverted(call: Promise<unknown>): Promise<LedgerError> {
    try {
      await call
    } catch (error) {
      return explainLedgerError(error)
    }
    throw new Error('expected the ledger call to revert, but it succeeded')
  }

  async function expectRevert(call: Promise<unknown>, errorName: string, errorArgs?: readonly unknown[]) {
    const error = await reverted(call)
    expect(error.code).toBe('LEDGER_REVERT')
    expect(error.errorName).toBe(errorName)
    if (errorArgs) expect(error.errorArgs).toEqual(errorArgs)
  }

  return { mined, reverted, expectRevert }
}

/**
 * Gives every test of the file the chain as it was before the test: an anvil snapshot before each, a
 * revert after. `ledger` is read lazily (it starts in `beforeAll`).
 */
export function revertEachTest(ledger: () => { testClient: TestLedger['testClient'] } | undefined): void {
  let snapshot: Hex | undefined
  beforeEach(async () => {
    snapshot = await ledger()?.testClient.snapshot()
  })
  afterEach(async () => {
    if (snapshot) await ledger()?.testClient.revert({ id: snapshot })
  })
}
