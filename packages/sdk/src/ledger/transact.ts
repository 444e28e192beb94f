import type { Hex } from '@veil/protocol'
import type { Account, Chain, Client, TransactionReceipt, Transport } from 'viem'
import { waitForTransactionReceipt } from 'viem/actions'
import type { VeilBaseClient } from '../client/baseClient.js'
import { AccountRequiredError } from '../errors.js'
import { explainLedgerError, LedgerError } from './abis.js'

/**
 * Sends one ledger transaction from the client's account and waits for it to be mined. Submissions from
 * one client are serialized until each transaction is accepted by the node, so concurrent calls never
 * pick the same nonce. Reverts become `LedgerError`s that name the Solidity error and say what to do.
 */
export async function transact(
  client: VeilBaseClient,
  action: string,
  write: (
    chainClient: Client<Transport, Chain | undefined, Account | undefined>,
    chain: Chain,
    account: Account,
  ) => Promise<Hex>,
): Promise<TransactionReceipt> {
  const { chainClient, account } = client
  if (!account) throw new AccountRequiredError(action)
  const chain = await client.getChain()
  const previous = client.cache.submitting
  const sent = previous.catch(() => undefined).then(() => write(chainClient, chain, account))
  client.cache.submitting = sent.catch(() => undefined)
  let hash: Hex
  try {
    hash = await sent
  } catch (error) {
    throw explainLedgerError(error, action)
  }
  let receipt: TransactionReceipt
  try {
    receipt = await waitForTransactionReceipt(chainClient, {
      hash,
      pollingInterval: client.config.pollingIntervalMs,
      timeout: client.config.receiptTimeoutMs,
    })
  } catch (error) {
    throw explainLedgerError(error, `${action} (waiting for ${hash})`)
  }
  if (receipt.status !== 'success') {
    throw new LedgerError(`${action} was reverted`, {
      code: 'LEDGER_REVERT',
      details: `transaction ${hash} in block ${receipt.blockNumber}`,
    })
  }
  return receipt
}
