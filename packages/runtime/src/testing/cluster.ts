import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSimulatedTee, veilCodeMeasurement } from '@veil/attestation'
import { buildContract } from '@veil/contract/build'
import { KmsService } from '@veil/kms'
import {
  DEVNET_MINING_PARAMS,
  deployMining,
  devAccount,
  explainLedgerError,
  getMining,
  type MiningParams,
} from '@veil/ledger'
import { startTestLedger, type TestLedger } from '@veil/ledger/testing'
import {
  type CommandReceipt,
  encodeCommandPayload,
  encodeInitPayload,
  type Hex,
  type NetworkFile,
  silentLogger,
  VEIL_VERSION,
} from '@veil/protocol'
import { hexToBytes, keccak256, parseEther, parseEventLogs, toHex } from 'viem'
import { Worker, type WorkerOptions } from '../worker/worker.js'

export const CONTRACTS = {
  counter: fileURLToPath(new URL('./contracts/counter.ts', import.meta.url)),
  bank: fileURLToPath(new URL('./contracts/bank.ts', import.meta.url)),
  entropy: fileURLToPath(new URL('./contracts/entropy.ts', import.meta.url)),
  chatty: fileURLToPath(new URL('./contracts/chatty.ts', import.meta.url)),
  signer: fileURLToPath(new URL('./contracts/signer.ts', import.meta.url)),
  feeds: fileURLToPath(new URL('./contracts/feeds.ts', import.meta.url)),
}

export interface BlockDigest {
  number: bigint
  hash: Hex
  digest: Hex
}

export interface TestWorker {
  worker: Worker
  dataDir: string
  /** State digest after every block this worker committed, in order. */
  digests: BlockDigest[]
  receipts: CommandReceipt[]
  /** The dev account index of the worker's operator (unless the test gave its own operator). */
  operatorIndex?: number
}

/**
 * TEST ONLY: the simulated TEE's platform secret in test clusters (so tests never touch
 * `~/.veil`). A worker built with another one plays "the same data dir on another machine".
 */
export const TEST_PLATFORM_SECRET: Uint8Array = new Uint8Array(32).fill(0x5e)

/** The simulated TEE of a test worker (on the test machine unless `platformSecret` is given). */
export function testWorkerTee(platformSecret: Uint8Array = TEST_PLATFORM_SECRET) {
  return createSimulatedTee({
    measurement: hexToBytes(veilCodeMeasurement('worker', VEIL_VERSION)),
    platformSecret,
  })
}

export interface TestCluster {
  ledger: TestLedger
  /** The network's KMS (approves workers into cluster 1, provisions them, publishes contract keys). */
  kms: KmsService
  network: NetworkFile
  root: string
  workers: TestWorker[]
  /** Starts another in-process worker (data dir under the cluster's temp dir unless given). */
  addWorker(options?: Partial<WorkerOptions> & { dataDir?: string }): Promise<TestWorker>
  /** Uploads and deploys a contract source file; returns its id. */
  deploy(file: string, init?: unknown, from?: number): Promise<bigint>
  /** Submits a plain command from dev account `from`; resolves with its transaction hash and block. */
  submit(
    contractId: bigint,
    method: string,
    args: unknown[],
    from?: number,
  ): Promise<{ txHash: Hex; blockNumber: bigint }>
  /**
   * Mining clusters only: each worker's operator opens a pool (10 % commission), binds its worker and,
   * with `stake`, stakes that much VEIL from the genesis supply. Resolves with the pools, by worker.
   */
  openPools(options?: { stake?: bigint }): Promise<number[]>
  /** Waits until every running worker has processed the chain head. */
  settle(timeoutMs?: number): Promise<bigint>
  stop(): Promise<void>
}

/**
 * A real cluster for integration tests: anvil, the ledger (dev mode), a KMS with a simulated TEE (it
 * approves workers into cluster 1, provisions them and publishes contract keys) and in-process workers
 * with their own data dirs. Always `await cluster.stop()`.
 */
export async function startTestCluster(
  options: {
    workers?: number
    workerOptions?: Partial<WorkerOptions>
    limits?: NetworkFile['limits']
    /**
     * Deploy the mining contracts (devnet parameters, with `params` over them) and name them in the
     * network: workers mine. With `billing`, the network also names Billing: commands and queries are
     * charged, and workers claim usage receipts.
     */
    mining?: boolean | { billing?: boolean; params?: Partial<MiningParams> }
  } = {},
): Promise<TestCluster> {
  const root = mkdtempSync(join(tmpdir(), 'veil-cluster-'))
  const ledger = await startTestLedger()
  const owner = ledger.owner
  const send = async (action: string, write: () => Promise<Hex>) => {
    try {
      const receipt = await ledger.publicClient.waitForTransactionReceipt({
        hash: await write(),
        pollingInterval: 20,
      })
      if (receipt.status !== 'success') throw new Error(`${action} reverted`)
      return receipt
    } catch (error) {
      throw explainLedgerError(error, action)
    }
  }
  await send('createCluster', () => owner.registry.write.createCluster())
  await send('allowMeasurement', () =>
    owner.registry.write.allowMeasurement([veilCodeMeasurement('worker', VEIL_VERSION)]),
  )
  const kmsMeasurement = veilCodeMeasurement('kms', VEIL_VERSION)
  const kms = await KmsService.open({
    dataDir: join(root, 'kms'),
    tee: createSimulatedTee({
      measurement: hexToBytes(kmsMeasurement),
      platformSecret: TEST_PLATFORM_SECRET,
    }),
    measurement: kmsMeasurement,
    rpcUrl: ledger.anvil.rpcUrl,
    chainId: 31337,
    contracts: ledger.addresses,
    assignCluster: 1n,
    fromBlock: BigInt(ledger.deployment.deployBlock),
    pollIntervalMs: 20,
    logger: silentLogger,
  })
  await send('addKmsSigner', () => owner.registry.write.addKmsSigner([kms.address]))
  await send('funding the KMS', () =>
    ledger.as(0).walletClient.sendTransaction({ to: kms.address, value: parseEther('100') }),
  )
  await kms.start()
  const network: NetworkFile = {
    version: 1,
    chainId: 31337,
    rpcUrl: ledger.anvil.rpcUrl,
    wsUrl: ledger.anvil.wsUrl,
    devMode: true,
    deployBlock: ledger.deployment.deployBlock,
    contracts: ledger.addresses,
    kms: { url: kms.url, address: kms.address },
    workers: [],
    // As on `veil dev`: contracts reach the chain itself as `ctx.evm.call('devnet', …)`.
    rpc: { devnet: ledger.anvil.rpcUrl },
    ...(options.limits ? { limits: options.limits } : {}),
  }
  if (options.mining) {
    const settings = options.mining === true ? {} : options.mining
    const mining = await deployMining({
      publicClient: ledger.publicClient,
      walletClient: ledger.as(0).walletClient,
      registry: ledger.addresses.registry,
      contracts: ledger.addresses.contracts,
      params: { ...DEVNET_MINING_PARAMS, ...settings.params },
    })
    const { billing, ...rest } = mining.addresses
    network.mining = settings.billing ? mining.addresses : rest
  }

  const workers: TestWorker[] = []
  let operatorIndex = 2
  const addWorker = async (extra: Partial<WorkerOptions> & { dataDir?: string } = {}) => {
    const index = (operatorIndex++ % 8) + 2
    const entry: TestWorker = {
      worker: undefined as unknown as Worker,
      dataDir: extra.dataDir ?? mkdtempSync(join(root, 'worker-')),
      digests: [],
      receipts: [],
      ...(extra.operator ? {} : { operatorIndex: index }),
    }
    entry.worker = new Worker({
      network,
      dataDir: entry.dataDir,
      operator: devAccount(index),
      pollIntervalMs: 50,
      tee: testWorkerTee(),
      ...options.workerOptions,
      ...extra,
      onBlock: (block, digest, receipts) => {
        entry.digests.push({ ...block, digest })
        entry.receipts.push(...receipts)
      },
    })
    await entry.worker.start()
    workers.push(entry)
    return entry
  }
  for (let i = 0; i < (options.workers ?? 2); i++) await addWorker()

  const deploy = async (file: string, init?: unknown, from = 1) => {
    const bundle = await buildContract({ entry: file })
    const { ledger: as } = ledger.as(from)
    await send('uploadCode', () =>
      as.contracts.write.uploadCode([toHex(new TextEncoder().encode(bundle.code))]),
    )
    const codeHash = keccak256(new TextEncoder().encode(bundle.code))
    const receipt = await send('deploy', () =>
      as.contracts.write.deploy([1n, codeHash, toHex(encodeInitPayload(init)), 0n]),
    )
    const [deployed] = parseEventLogs({
      abi: as.contracts.abi,
      logs: receipt.logs,
      eventName: 'ContractDeployed',
    })
    if (!deployed) throw new Error('no ContractDeployed event')
    return deployed.args.contractId
  }

  const submit = async (contractId: bigint, method: string, args: unknown[], from = 1) => {
    const { ledger: as } = ledger.as(from)
    const receipt = await send(`submit ${method}`, () =>
      as.commands.write.submit([contractId, toHex(encodeCommandPayload({ method, args }))]),
    )
    return { txHash: receipt.transactionHash, blockNumber: receipt.blockNumber }
  }

  const openPools = async ({ stake = 0n }: { stake?: bigint } = {}) => {
    const addresses = network.mining
    if (!addresses) throw new Error('openPools needs a cluster started with `mining`')
    const genesis = getMining({
      publicClient: ledger.publicClient,
      walletClient: ledger.as(0).walletClient,
      addresses,
    })
    const pools: number[] = []
    for (const { worker, operatorIndex: index } of workers) {
      if (index === undefined) throw new Error(`worker ${worker.address} has an operator the test chose`)
      const { account, walletClient } = ledger.as(index)
      const own = getMining({ publicClient: ledger.publicClient, walletClient, addresses })
      const { result: pool } = await own.pools.simulate.createPool([1_000], { account })
      await send('createPool', () => own.pools.write.createPool([1_000]))
      await send('bindWorker', () => own.pools.write.bindWorker([pool, worker.address]))
      if (stake > 0n) {
        await send('transfer', () => genesis.token.write.transfer([account.address, stake]))
        await send('approve', () => own.token.write.approve([addresses.pools, stake]))
        await send('deposit', () => own.pools.write.deposit([pool, stake]))
      }
      pools.push(pool)
    }
    return pools
  }

  const settle = async (timeoutMs = 30_000) => {
    const head = await ledger.publicClient.getBlockNumber({ cacheTime: 0 })
    await Promise.all(workers.map((w) => w.worker.chainFollower?.waitForBlock(head, timeoutMs)))
    return head
  }

  const stop = async () => {
    await Promise.all(workers.map((w) => w.worker.stop()))
    await kms.stop()
    await ledger.stop()
    rmSync(root, { recursive: true, force: true })
  }

  return { ledger, kms, network, root, workers, addWorker, deploy, submit, openPools, settle, stop }
}
