import { type HDAccount, mnemonicToAccount } from 'viem/accounts'

/**
 * anvil's well-known development mnemonic. Its keys are public knowledge: they exist only so that a
 * local devnet has funded accounts, and must never hold anything of value.
 */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk'

const cache = new Map<number, HDAccount>()

/** The funded devnet account at `index` (0 owns the ledger on `veil dev`). */
export function devAccount(index: number): HDAccount {
  if (!Number.isSafeInteger(index) || index < 0 || index > 9) {
    throw new RangeError(`dev account index must be 0..9 (anvil funds ten accounts), got ${index}`)
  }
  let account = cache.get(index)
  if (!account) {
    account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index })
    cache.set(index, account)
  }
  return account
}
