/**
 * Publishes each deployed contract's public keys (docs/protocol.md, "Key derivation"): master →
 * `veil/v1/cluster/<cluster>` → `veil/v1/contract/<id>` → its X25519 public key (clients seal commands
 * to it) and its secp256k1 address (it signs as the contract), with `Contracts.setContractKeys`.
 * Idempotent: keys already on the ledger with these values are left alone.
 */
import { deriveClusterSecret, deriveContractKeys, deriveContractSecret } from '@veil/crypto'
import { Contracts, type Ledger } from '@veil/ledger'
import type { Address, Hex, Logger, Startable } from '@veil/protocol'
import { type PublicClient, toHex } from 'viem'
import { LedgerScanner } from './scanner.js'
import type { TransactionSender } from './transactions.js'

/** A contract's public keys as the KMS derives them. */
export interface ContractPublicKeys {
  x25519PublicKey: Hex
  signer: Address
}

/**
 * The public keys of contract `contractId` in `cluster` under `masterSecret`. Intermediate secrets are
 * wiped before returning.
 */
export function contractPublicKeys(
  masterSecret: Uint8Array,
  cluster: bigint,
  contractId: bigint,
): ContractPublicKeys {
  const clusterSecret = deriveClusterSecret(masterSecret, String(cluster))
  const contractSecret = deriveContractSecret(clusterSecret, String(contractId))
  const keys = deriveContractKeys(contractSecret)
  clusterSecret.fill(0)
  contractSecret.fill(0)
  keys.x25519PrivateKey.fill(0)
  keys.signingKey.fill(0)
  return { x25519PublicKey: toHex(keys.x25519PublicKey), signer: keys.address }
}

export interface PublisherStatus {
  scannedTo: string | null
  /** Contracts whose keys this process published. */
  published: number
}

export interface ContractKeyPublisherOptions {
  publicClient: PublicClient
  /** The ledger as the KMS identity. */
  ledger: Ledger
  sender: TransactionSender
  masterSecret: Uint8Array
  fromBlock: bigint
  pollIntervalMs: number
  logger: Logger
}

interface Deployment {
  contractId: bigint
  cluster: bigint
}

/** Publishes the keys of every deployed contract. */
export class ContractKeyPublisher implements Startable {
  private readonly scanner: LedgerScanner<Deployment>
  private publishedCount = 0

  constructor(private readonly options: ContractKeyPublisherOptions) {
    this.scanner = new LedgerScanner<Deployment>({
      publicClient: options.publicClient,
      fromBlock: options.fromBlock,
      pollIntervalMs: options.pollIntervalMs,
      logger: options.logger,
      read: (fromBlock, toBlock) => this.read(fromBlock, toBlock),
      handle: (deployment) => this.publish(deployment),
    })
  }

  async start(): Promise<void> {
    await this.scanner.start()
  }

  async stop(): Promise<void> {
    await this.scanner.stop()
  }

  /** One round now, without the loop (tests, tools). */
  poll(): Promise<void> {
    return this.scanner.poll()
  }

  status(): PublisherStatus {
    const scannedTo = this.scanner.scannedTo
    return { scannedTo: scannedTo === undefined ? null : String(scannedTo), published: this.publishedCount }
  }

  private async read(fromBlock: bigint, toBlock: bigint): Promise<Deployment[]> {
    const events = await this.options.publicClient.getContractEvents({
      address: this.options.ledger.addresses.contracts,
      abi: Contracts.abi,
      eventName: 'ContractDeployed',
      fromBlock,
      toBlock,
      strict: true,
    })
    return events.map((event) => ({ contractId: event.args.contractId, cluster: event.args.cluster }))
  }

  private async publish({ contractId, cluster }: Deployment): Promise<void> {
    const { ledger, sender, masterSecret } = this.options
    const keys = contractPublicKeys(masterSecret, cluster, contractId)
    const current = await ledger.contracts.read.getContract([contractId])
    if (
      current.x25519PublicKey.toLowerCase() === keys.x25519PublicKey.toLowerCase() &&
      current.signer.toLowerCase() === keys.signer.toLowerCase()
    )
      return
    await sender.send(`publishing the keys of contract ${contractId}`, () =>
      ledger.contracts.write.setContractKeys([contractId, keys.x25519PublicKey, keys.signer]),
    )
    this.publishedCount++
    this.options.logger.info('published contract keys', {
      contractId: String(contractId),
      cluster: String(cluster),
      address: keys.signer,
    })
  }
}
