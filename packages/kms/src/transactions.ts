import { explainLedgerError, LedgerError } from '@veil/ledger'
import type { Hex } from '@veil/protocol'
import { type PublicClient, type TransactionReceipt, TransactionReceiptNotFoundError } from 'viem'

/**
 * Sends the KMS identity's ledger transactions one at a time and waits for each receipt. The approver
 * and the publisher share one account: serialising its writes keeps their nonces from colliding.
 */
export class TransactionSender {
  private queue: Promise<unknown> = Promise.resolve()
  private readonly closed = new AbortController()

  constructor(
    private readonly publicClient: PublicClient,
    private readonly options: { pollingIntervalMs: number; timeoutMs?: number },
  ) {}

  /**
   * Ends every wait for a receipt at once: a transaction dropped by a reorg would otherwise hold the
   * queue, and a shutdown, until the timeout. Sends after this fail.
   */
  close(): void {
    this.closed.abort()
  }

  /** Runs `write` after every earlier send has settled; throws a `LedgerError` naming `action`. */
  send(action: string, write: () => Promise<Hex>): Promise<TransactionReceipt> {
    const result = this.queue.then(() => this.sendNow(action, write))
    this.queue = result.catch(() => undefined)
    return result
  }

  private async sendNow(action: string, write: () => Promise<Hex>): Promise<TransactionReceipt> {
    let receipt: TransactionReceipt
    try {
      this.throwIfClosed()
      receipt = await this.waitForReceipt(await write())
    } catch (error) {
      throw explainLedgerError(error, action)
    }
    if (receipt.status !== 'success')
      throw new LedgerError(`${action} was reverted`, {
        code: 'LEDGER_REVERT',
        details: `transaction ${receipt.transactionHash}`,
      })
    return receipt
  }

  /** Polls for the receipt until it exists, the timeout (default 60 s) passes, or the sender is closed. */
  private async waitForReceipt(hash: Hex): Promise<TransactionReceipt> {
    const deadline = performance.now() + (this.options.timeoutMs ?? 60_000)
    for (;;) {
      this.throwIfClosed()
      try {
        return await this.publicClient.getTransactionReceipt({ hash })
      } catch (error) {
        if (!(error instanceof TransactionReceiptNotFoundError)) throw error
      }
      if (performance.now() > deadline)
        throw new Error(`no receipt for transaction ${hash} (dropped by a reorg, or the chain is stalled)`)
      await this.sleep(this.options.pollingIntervalMs)
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      const signal = this.closed.signal
      signal.addEventListener('abort', done, { once: true })
      function done() {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        resolve()
      }
    })
  }

  private throwIfClosed(): void {
    if (this.closed.signal.aborted) throw new Error('the KMS is stopping')
  }
}
