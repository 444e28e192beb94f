/**
 * Test support for the KMS's integration tests (not exported): a real anvil with the ledger deployed, a
 * KMS with a simulated TEE whose master secret the test knows, and workers registered with simulated
 * quotes. Every `start…` has a matching `stop`.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createSimulatedQuote,
  createSimulatedTee,
  reportDataFromHash,
  type TeeProvider,
} from '@veil/attestation'
import { generateX25519KeyPair, type X25519KeyPair } from '@veil/crypto'
import { getLedger, type Ledger, reportData } from '@veil/ledger'
import { startTestLedger, type TestLedger } from '@veil/ledger/testing'
import type { Address, Hex } from '@veil/protocol'
import {
  createTestClient,
  createWalletClient,
  hexToBytes,
  http,
  keccak256,
  parseEther,
  type TestClient,
  toHex,
} from 'viem'
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { KmsService, type KmsServiceOptions } from './service.js'

/** The measurement every test worker runs unless told otherwise; allowed on every test ledger. */
export const WORKER_MEASUREMENT: Hex = keccak256(toHex('veil-kms-test/worker-v1'))
/** The simulated KMS's measurement in tests. */
export const KMS_MEASUREMENT: Hex = keccak256(toHex('veil-kms-test/kms-v1'))

export function tempDir(prefix = 'veil-kms-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function simulatedTee(platformByte = 7): TeeProvider {
  return createSimulatedTee({
    measurement: hexToBytes(KMS_MEASUREMENT),
    platformSecret: new Uint8Array(32).fill(platformByte),
  })
}

/** Randomness whose first 32 bytes are `master` (the KMS draws its master secret first). */
export function randomWithMaster(master: Uint8Array): (n: number) => Uint8Array {
  let first = true
  return (n) => {
    if (first && n === master.length) {
      first = false
      return Uint8Array.from(master)
    }
    return new Uint8Array(nodeRandomBytes(n))
  }
}

export async function mined(t: TestLedger, hash: Promise<Hex>): Promise<void> {
  const receipt = await t.publicClient.waitForTransactionReceipt({ hash: await hash, pollingInterval: 20 })
  if (receipt.status !== 'success') throw new Error(`transaction ${receipt.transactionHash} reverted`)
}

export interface KmsTestEnv {
  t: TestLedger
  testClient: TestClient
  kms: KmsService
  master: Uint8Array
  dataDir: string
  stop(): Promise<void>
}

export interface KmsTestEnvOptions {
  devMode?: boolean
  /** Make the KMS a KMS signer and fund it before it starts. Default true. */
  signer?: boolean
  fund?: boolean
  /** Create cluster 1 and 2. Default true. */
  clusters?: boolean
  kms?: Partial<KmsServiceOptions>
}

/** anvil + ledger (+ clusters 1 and 2, the worker measurement allowed) + a started KMS. */
export async function startKmsEnv(options: KmsTestEnvOptions = {}): Promise<KmsTestEnv> {
  const t = await startTestLedger({ devMode: options.devMode ?? true })
  const dataDir = tempDir()
  let kms: KmsService | undefined
  try {
    const testClient = createTestClient({
      mode: 'anvil',
      chain: t.publicClient.chain,
      transport: http(t.anvil.rpcUrl),
    })
    if (options.clusters ?? true) {
      await mined(t, t.owner.registry.write.createCluster())
      await mined(t, t.owner.registry.write.createCluster())
    }
    await mined(t, t.owner.registry.write.allowMeasurement([WORKER_MEASUREMENT]))
    const master = new Uint8Array(nodeRandomBytes(32))
    kms = await KmsService.open({
      dataDir,
      tee: simulatedTee(),
      measurement: KMS_MEASUREMENT,
      rpcUrl: t.anvil.rpcUrl,
      chainId: t.publicClient.chain?.id ?? 31337,
      contracts: t.addresses,
      fromBlock: 0n,
      pollIntervalMs: 20,
      randomBytes: randomWithMaster(master),
      ...options.kms,
    })
    if (options.signer ?? true) await mined(t, t.owner.registry.write.addKmsSigner([kms.address]))
    if (options.fund ?? true) await testClient.setBalance({ address: kms.address, value: parseEther('10') })
    await kms.start()
    const started = kms
    return {
      t,
      testClient,
      kms: started,
      master,
      dataDir,
      stop: async () => {
        await started.stop()
        await t.stop()
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await kms?.stop()
    await t.stop()
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
}

export interface TestWorker {
  address: Address
  account: PrivateKeyAccount
  x25519: X25519KeyPair
  /** The registered measurement. */
  measurement: Hex
  /** The quote it registered with (and sends to the KMS). */
  quote: Uint8Array
  ledger: Ledger
}

export interface TestWorkerOptions {
  /** Registered measurement. Default {@link WORKER_MEASUREMENT}. */
  measurement?: Hex
  /** Measurement inside the quote. Default: the registered one. */
  quotedMeasurement?: Hex
  /** The X25519 key the quote binds. Default: the registered one. */
  quotedX25519?: Uint8Array
  /** Replaces the quote (after it is made), e.g. to flip a byte. */
  tamper?: (quote: Uint8Array) => Uint8Array
  /**
   * Makes the quote over the 64 bytes of report data that bind the worker's keys (e.g. a TDX quote on a
   * synthetic PKI). Default: a simulated quote of `quotedMeasurement`.
   */
  makeQuote?: (reportData: Uint8Array) => Uint8Array
}

/** A fresh worker identity, funded, registered with a simulated quote (or `makeQuote`'s). */
export async function registerWorker(env: KmsTestEnv, options: TestWorkerOptions = {}): Promise<TestWorker> {
  const { t, testClient } = env
  const account = privateKeyToAccount(generatePrivateKey())
  await testClient.setBalance({ address: account.address, value: parseEther('1') })
  const x25519 = generateX25519KeyPair()
  const measurement = options.measurement ?? WORKER_MEASUREMENT
  const chainId = t.publicClient.chain?.id ?? 31337
  const binding = reportData(
    account.address,
    options.quotedX25519 ?? x25519.publicKey,
    chainId,
    t.addresses.registry,
  )
  const quotedReportData = reportDataFromHash(hexToBytes(binding))
  let quote = options.makeQuote
    ? options.makeQuote(quotedReportData)
    : createSimulatedQuote(hexToBytes(options.quotedMeasurement ?? measurement), quotedReportData)
  if (options.tamper) quote = options.tamper(quote)
  const walletClient = createWalletClient({
    account,
    chain: t.as(0).walletClient.chain,
    transport: http(t.anvil.rpcUrl),
  })
  const ledger = getLedger({ publicClient: t.publicClient, walletClient, addresses: t.addresses })
  await mined(
    t,
    ledger.registry.write.registerWorker([
      toHex(x25519.publicKey),
      `http://127.0.0.1:1/${account.address}`,
      measurement,
      account.address,
      toHex(quote),
    ]),
  )
  return { address: account.address, account, x25519, measurement, quote, ledger }
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Flips one bit of byte `index` (default: inside the signature). */
export function flipByte(quote: Uint8Array, index = quote.length - 5): Uint8Array {
  const copy = Uint8Array.from(quote)
  copy[index] = (copy[index] ?? 0) ^ 1
  return copy
}
