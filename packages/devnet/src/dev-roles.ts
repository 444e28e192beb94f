import type { Ledger } from '@veil/ledger'
import { explainLedgerError, WorkerStatus } from '@veil/ledger'
import type { Hex, Logger } from '@veil/protocol'
import { type PublicClient, parseEther, type WalletClient } from 'viem'

/** Gas money the devnet keeps on its KMS's identity (it approves workers and publishes keys). */
const KMS_MIN_BALANCE = parseEther('10')
const KMS_TOP_UP = parseEther('100')

/**
 * DEVELOPMENT ONLY. The registry owner's part of a devnet, idempotent (checked on every start): the
 * devnet's KMS is a KMS signer and has gas, and the current worker build's simulated measurement is
 * allowed.
 */
export async function bootstrapDevnetRoles(options: {
  ledger: Ledger
  publicClient: PublicClient
  walletClient: WalletClient
  kms: Hex
  workerMeasurement: Hex
}): Promise<void> {
  const { ledger, publicClient, kms } = options
  const send = async (action: string, write: () => Promise<Hex>) => {
    try {
      await publicClient.waitForTransactionReceipt({ hash: await write(), pollingInterval: 50 })
    } catch (error) {
      throw explainLedgerError(error, action)
    }
  }
  if (!(await ledger.registry.read.isKmsSigner([kms]))) {
    await send('adding the devnet KMS as a KMS signer', () => ledger.registry.write.addKmsSigner([kms]))
  }
  if ((await publicClient.getBalance({ address: kms })) < KMS_MIN_BALANCE) {
    const account = options.walletClient.account
    if (!account) throw new Error('the devnet owner wallet has no account')
    await send('funding the devnet KMS', () =>
      options.walletClient.sendTransaction({
        account,
        chain: options.walletClient.chain,
        to: kms,
        value: KMS_TOP_UP,
      }),
    )
  }
  if (!(await ledger.registry.read.measurementAllowed([options.workerMeasurement]))) {
    await send('allowing the worker measurement', () =>
      ledger.registry.write.allowMeasurement([options.workerMeasurement]),
    )
  }
}

/**
 * DEVELOPMENT ONLY. Revokes devnet worker identities registered by an earlier build (their measurement
 * is no longer the current one): the devnet then starts fresh workers, which rebuild their state from
 * the chain.
 */
export async function retireWorkers(options: {
  ledger: Ledger
  publicClient: PublicClient
  workers: readonly Hex[]
  logger: Logger
}): Promise<void> {
  for (const worker of options.workers) {
    const info = await options.ledger.registry.read.getWorker([worker])
    if (info.status === WorkerStatus.None || info.status === WorkerStatus.Revoked) continue
    try {
      await options.publicClient.waitForTransactionReceipt({
        hash: await options.ledger.registry.write.revokeWorker([worker]),
        pollingInterval: 50,
      })
      options.logger.info('revoked a worker of an earlier build', { worker })
    } catch (error) {
      throw explainLedgerError(error, `revoking the earlier devnet worker ${worker}`)
    }
  }
}
