import { devContractKeys } from '@veil/crypto'
import {
  Contracts,
  devMeasurement,
  explainLedgerError,
  type Ledger,
  parsePlaceholderQuote,
  Registry,
  reportData,
} from '@veil/ledger'
import { errorMessage, type Hex, type Logger, type Startable, VEIL_VERSION } from '@veil/protocol'
import { decodeFunctionData, type PublicClient, toHex } from 'viem'

export interface DevGatekeeperOptions {
  publicClient: PublicClient
  /** The ledger as the registry owner, who is also a KMS signer on the devnet. */
  ledger: Ledger
  chainId: number
  cluster: bigint
  /** First block to scan for registrations. */
  fromBlock: bigint
  pollIntervalMs?: number
  logger: Logger
}

/**
 * DEVELOPMENT ONLY. Plays the KMS's approval role on the devnet until the KMS exists: it approves every
 * worker whose placeholder quote binds its registered keys to this chain and registry, and adds it to
 * the devnet's cluster. It checks the key binding but no hardware, because there is none to check.
 */
export class DevGatekeeper implements Startable {
  private readonly log: Logger
  private running = false
  private loop: Promise<void> | undefined
  private next: bigint
  /** Hash of block `next - 1` when it was scanned: if it changes, the chain rewound under us. */
  private lastHash: Hex | undefined
  private timer: NodeJS.Timeout | undefined
  private wake: (() => void) | undefined

  constructor(private readonly options: DevGatekeeperOptions) {
    this.log = options.logger.forComponent('veil:devnet:gatekeeper')
    this.next = options.fromBlock
  }

  async start(): Promise<void> {
    this.running = true
    this.loop = this.run()
  }

  async stop(): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    this.wake?.()
    await this.loop
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.scan()
      } catch (error) {
        this.log.warn('scanning registrations failed; retrying', { error: errorMessage(error) })
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve
        this.timer = setTimeout(resolve, this.options.pollIntervalMs ?? 100)
      })
    }
  }

  private async scan(): Promise<void> {
    const { publicClient, ledger } = this.options
    const head = await publicClient.getBlockNumber({ cacheTime: 0 })
    if (this.lastHash !== undefined) {
      const last =
        head >= this.next - 1n ? await publicClient.getBlock({ blockNumber: this.next - 1n }) : undefined
      if (last?.hash !== this.lastHash) {
        // Rewound (evm_revert, reorg): registrations may now sit in blocks we passed. Admission is
        // idempotent, so rescan from the start.
        this.next = this.options.fromBlock
        this.lastHash = undefined
      }
    }
    if (head < this.next) return
    const events = await publicClient.getContractEvents({
      address: ledger.addresses.registry,
      abi: Registry.abi,
      eventName: 'WorkerRegistered',
      fromBlock: this.next,
      toBlock: head,
    })
    for (const event of events) {
      if (!this.running) return
      const worker = event.args.worker
      if (!worker) continue
      await this.admit(worker, event.transactionHash)
    }
    const deployments = await publicClient.getContractEvents({
      address: ledger.addresses.contracts,
      abi: Contracts.abi,
      eventName: 'ContractDeployed',
      fromBlock: this.next,
      toBlock: head,
    })
    for (const event of deployments) {
      if (!this.running) return
      const { contractId, cluster } = event.args
      if (contractId === undefined || cluster === undefined) continue
      await this.publishKeys(contractId, cluster)
    }
    this.next = head + 1n
    this.lastHash = (await publicClient.getBlock({ blockNumber: head })).hash ?? undefined
  }

  private async admit(worker: Hex, registrationTx: Hex): Promise<void> {
    const { ledger, publicClient, chainId, cluster } = this.options
    const info = await ledger.registry.read.getWorker([worker])
    // Pending (1) workers only: a restart of the devnet re-scans registrations it already handled.
    if (info.status !== 1) return
    const tx = await publicClient.getTransaction({ hash: registrationTx })
    let quote: Hex
    try {
      const { args } = decodeFunctionData({ abi: Registry.abi, data: tx.input })
      quote = (args as readonly unknown[])[4] as Hex
    } catch {
      this.log.warn('not approving a worker registered through another contract (quote unreadable)', {
        worker,
      })
      return
    }
    const expected = reportData(worker, info.x25519PublicKey, chainId, ledger.addresses.registry)
    if (parsePlaceholderQuote(quote) !== expected) {
      this.log.warn('not approving a worker whose quote does not bind its keys', { worker })
      return
    }
    try {
      await this.send(() => ledger.registry.write.approveWorker([worker]))
      await this.send(() => ledger.registry.write.addClusterMember([cluster, worker]))
      this.log.info('approved a worker and added it to the cluster', { worker, cluster: String(cluster) })
    } catch (error) {
      throw explainLedgerError(error, `admitting worker ${worker}`)
    }
  }

  /**
   * Publishes a new contract's public keys, derived (like the workers do) from the development master
   * secret: the X25519 key clients seal commands to, and the contract's own address. Idempotent.
   */
  private async publishKeys(contractId: bigint, cluster: bigint): Promise<void> {
    const { ledger } = this.options
    const info = await ledger.contracts.read.getContract([contractId])
    const keys = devContractKeys(String(cluster), String(contractId))
    const x25519 = toHex(keys.x25519PublicKey)
    if (info.x25519PublicKey === x25519 && info.signer.toLowerCase() === keys.address.toLowerCase()) return
    try {
      await this.send(() => ledger.contracts.write.setContractKeys([contractId, x25519, keys.address]))
      this.log.info('published contract keys', { contractId: String(contractId), address: keys.address })
    } catch (error) {
      throw explainLedgerError(error, `publishing the keys of contract ${contractId}`)
    }
  }

  private async send(write: () => Promise<Hex>): Promise<void> {
    const hash = await write()
    const receipt = await this.options.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 })
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
  }
}

/**
 * DEVELOPMENT ONLY. Makes the registry owner the KMS signer (until the KMS exists) and allows the
 * development worker measurement of this Veil version. Idempotent: checked on every devnet start.
 */
export async function bootstrapDevRoles(
  ledger: Ledger,
  publicClient: PublicClient,
  owner: Hex,
): Promise<void> {
  const send = async (action: string, write: () => Promise<Hex>) => {
    try {
      await publicClient.waitForTransactionReceipt({ hash: await write(), pollingInterval: 50 })
    } catch (error) {
      throw explainLedgerError(error, action)
    }
  }
  if (!(await ledger.registry.read.isKmsSigner([owner]))) {
    await send('adding the dev KMS signer', () => ledger.registry.write.addKmsSigner([owner]))
  }
  const measurement = devMeasurement(VEIL_VERSION)
  if (!(await ledger.registry.read.measurementAllowed([measurement]))) {
    await send('allowing the dev worker measurement', () =>
      ledger.registry.write.allowMeasurement([measurement]),
    )
  }
}
