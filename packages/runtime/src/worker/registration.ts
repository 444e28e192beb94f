import { explainLedgerError, getLedger, type Ledger, WorkerStatus, workerStatusName } from '@veil/ledger'
import { type Clock, type Hex, type Logger, type NetworkFile, VeilError } from '@veil/protocol'
import {
  type Account,
  type Chain,
  createWalletClient,
  http,
  type PublicClient,
  parseEther,
  toHex,
} from 'viem'
import type { WorkerIdentity } from './identity.js'

export interface RegistrationOptions {
  network: NetworkFile
  chain: Chain
  publicClient: PublicClient
  identity: WorkerIdentity
  /** Pays the identity's gas and is recorded as the worker's operator. */
  operator: Account | undefined
  endpoint: string
  measurement: Hex
  /** The TEE's quote over the identity's key binding (`reportData`), recorded in the registration. */
  quote: Uint8Array
  logger: Logger
  clock: Clock
  signal: AbortSignal
}

/** Gas money an operator keeps on its worker's identity (registration, later heartbeats and jobs). */
const MIN_IDENTITY_BALANCE = parseEther('0.05')
const TOP_UP = parseEther('0.2')

/**
 * Brings the worker onto the ledger: tops up its identity's gas from the operator, registers it
 * (pending) if it is new, updates its endpoint if it moved, and waits until it is active and in a
 * cluster. Returns the cluster id.
 */
export async function ensureRegistered(options: RegistrationOptions): Promise<bigint> {
  const { identity, publicClient, network, logger } = options
  const wallet = createWalletClient({
    account: identity.account,
    chain: options.chain,
    transport: http(network.rpcUrl),
  })
  const ledger = getLedger({ publicClient, walletClient: wallet, addresses: network.contracts })

  const send = async (action: string, write: () => Promise<Hex>) => {
    try {
      const hash = await write()
      const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 })
      if (receipt.status !== 'success')
        throw new VeilError(`${action} was reverted`, { code: 'LEDGER_REVERT' })
    } catch (error) {
      throw explainLedgerError(error, action)
    }
  }

  await topUp(options)
  let worker = await ledger.registry.read.getWorker([identity.address])
  if (worker.status === WorkerStatus.None) {
    logger.info('registering the worker on the ledger', {
      address: identity.address,
      endpoint: options.endpoint,
    })
    await send('registerWorker', () =>
      ledger.registry.write.registerWorker([
        toHex(identity.x25519PublicKey),
        options.endpoint,
        options.measurement,
        options.operator?.address ?? identity.address,
        toHex(options.quote),
      ]),
    )
    worker = await ledger.registry.read.getWorker([identity.address])
  } else if (worker.status === WorkerStatus.Revoked) {
    throw new VeilError(`worker ${identity.address} has been revoked on the ledger`, {
      code: 'WORKER_REVOKED',
      hint: 'a revoked identity cannot serve again; start the worker with a new, empty data dir',
    })
  } else if (worker.measurement.toLowerCase() !== options.measurement.toLowerCase()) {
    throw new VeilError(
      `worker ${identity.address} was registered running another build (measurement ${worker.measurement}, now ${options.measurement})`,
      {
        code: 'MEASUREMENT_CHANGED',
        details: 'the KMS provisions a worker only while it runs the build it registered with',
        hint: 'a new build is a new worker: start it with an empty data dir (veil dev does this for you)',
      },
    )
  } else if (worker.endpoint !== options.endpoint) {
    await send('updateEndpoint', () => ledger.registry.write.updateEndpoint([options.endpoint]))
  }
  return waitUntilActive(ledger, options)
}

async function topUp(options: RegistrationOptions): Promise<void> {
  const { publicClient, identity, operator, network, logger } = options
  const balance = await publicClient.getBalance({ address: identity.address })
  if (balance >= MIN_IDENTITY_BALANCE) return
  if (!operator) {
    logger.warn('the worker identity has no gas; send it some ETH', { address: identity.address })
    return
  }
  const wallet = createWalletClient({
    account: operator,
    chain: options.chain,
    transport: http(network.rpcUrl),
  })
  try {
    const hash = await wallet.sendTransaction({ to: identity.address, value: TOP_UP })
    await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 })
  } catch (error) {
    throw explainLedgerError(
      error,
      `funding the worker identity ${identity.address} from the operator ${operator.address}`,
    )
  }
}

async function waitUntilActive(ledger: Ledger, options: RegistrationOptions): Promise<bigint> {
  let reported = ''
  for (;;) {
    if (options.signal.aborted) throw new VeilError('worker start was cancelled', { code: 'CANCELLED' })
    const worker = await ledger.registry.read.getWorker([options.identity.address])
    if (worker.status === WorkerStatus.Revoked) {
      throw new VeilError(`worker ${options.identity.address} was revoked while starting`, {
        code: 'WORKER_REVOKED',
      })
    }
    if (worker.status === WorkerStatus.Active && worker.cluster !== 0n) return worker.cluster
    const state = `${workerStatusName(worker.status)}/${worker.cluster}`
    if (state !== reported) {
      reported = state
      options.logger.info(
        worker.status === WorkerStatus.Active
          ? 'waiting to be added to a cluster'
          : 'waiting for a KMS signer to approve the worker',
        { status: workerStatusName(worker.status) },
      )
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}
