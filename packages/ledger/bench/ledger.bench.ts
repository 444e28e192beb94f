/**
 * Gas used by every ledger operation, measured on a real anvil, and a check that per-operation gas
 * stays flat as the registry grows (no state-changing function loops over workers).
 *
 * Run from the repository root:
 *   npx tsx -e "import('./packages/ledger/bench/ledger.bench.ts').then((m) => m.run(console.log))"
 */
import {
  type Address,
  createTestClient,
  createWalletClient,
  type Hash,
  type Hex,
  http,
  keccak256,
  toHex,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { getLedger, type Ledger } from '../src/ledger.js'
import { startTestLedger, type TestLedger } from '../src/testing.js'

export type BenchRow = { bench: string } & Record<string, number | string>

const KIB = 1024
const MEASUREMENT = keccak256(toHex('veil-worker-image'))
/** A TDX quote with its collateral is around 5 KB. */
const QUOTE = bytes(5 * 1000, 1)
const X25519_PUBLIC_KEY = bytes(32, 3)
/** Registry sizes at which the per-worker operations are measured again. */
const SCALES = [10, 200] as const
/** Filler workers registered per block while growing the registry. */
const FILL_BATCH = 40

/** Non-zero filler: zero bytes are cheaper calldata and would flatter the numbers. */
function bytes(size: number, seed: number): Hex {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i++) out[i] = ((i * 131 + seed * 29) % 255) + 1
  return toHex(out)
}

/** Runs the ledger gas bench on its own anvil and reports one row per measurement. */
export async function run(report: (row: BenchRow) => void): Promise<void> {
  const t = await startTestLedger()
  try {
    await measure(t, report)
  } finally {
    await t.stop()
  }
}

interface Worker {
  address: Address
  ledger: Ledger
}

async function measure(t: TestLedger, report: (row: BenchRow) => void): Promise<void> {
  const testClient = createTestClient({
    mode: 'anvil',
    chain: t.publicClient.chain,
    transport: http(t.anvil.rpcUrl),
  })
  const owner = t.owner
  const kms = t.as(1).ledger
  const author = t.as(2).ledger
  const client = t.as(3).ledger

  const gasOf = async (sent: Promise<Hash>): Promise<number> => {
    const receipt = await t.publicClient.waitForTransactionReceipt({ hash: await sent })
    if (receipt.status !== 'success') throw new Error(`transaction ${receipt.transactionHash} reverted`)
    return Number(receipt.gasUsed)
  }
  const gas = async (op: string, sent: Promise<Hash>, extra: Record<string, number | string> = {}) => {
    report({ bench: 'gas', op, ...extra, gas: await gasOf(sent) })
  }

  const newWorker = async (): Promise<Worker> => {
    // A zero byte in the address is cheaper calldata; skip such identities so runs compare exactly.
    let account = privateKeyToAccount(generatePrivateKey())
    while (/^0x(?:[0-9a-f]{2})*00/i.test(account.address)) account = privateKeyToAccount(generatePrivateKey())
    await testClient.setBalance({ address: account.address, value: 10n ** 18n })
    const walletClient = createWalletClient({
      account,
      chain: t.as(0).walletClient.chain,
      transport: http(t.anvil.rpcUrl),
    })
    return {
      address: account.address,
      ledger: getLedger({ publicClient: t.publicClient, walletClient, addresses: t.addresses }),
    }
  }
  const register = (worker: Worker, quote: Hex = QUOTE) =>
    worker.ledger.registry.write.registerWorker([
      X25519_PUBLIC_KEY,
      'https://worker.example.org:8443',
      MEASUREMENT,
      t.as(4).account.address,
      quote,
    ])

  // ------------------------------------------------------------------ deployment
  for (const [name, used] of Object.entries(t.deployment.gasUsed)) {
    report({ bench: 'gas', op: `deploy ${name[0]?.toUpperCase()}${name.slice(1)}`, gas: Number(used) })
  }

  // -------------------------------------------------------------------- registry
  await gas('addKmsSigner', owner.registry.write.addKmsSigner([t.as(1).account.address]))
  await gas('allowMeasurement', owner.registry.write.allowMeasurement([MEASUREMENT]))
  await gas('createCluster', owner.registry.write.createCluster())
  const cluster = 1n

  // Per-worker operations, first on a small registry, then on a large one. Every measured worker
  // joins a cluster that already has members, so storage transitions (zero → non-zero) match.
  let registered = 0
  // Filler workers go in batches with automine off: one block registers a batch, the next approves
  // and adds it, so growing the registry to a few hundred workers takes seconds, not minutes.
  const settle = async (hashes: Hash[]) => {
    await testClient.mine({ blocks: 1 })
    for (const hash of hashes) await gasOf(Promise.resolve(hash))
  }
  const fill = async (target: number) => {
    while (registered < target) {
      const batch = Math.min(FILL_BATCH, target - registered)
      const workers = await Promise.all(Array.from({ length: batch }, () => newWorker()))
      await testClient.setAutomine(false)
      try {
        await settle(
          await Promise.all(workers.map((worker, i) => register(worker, bytes(64, registered + i)))),
        )
        const kmsNonce = await t.publicClient.getTransactionCount({ address: t.as(1).account.address })
        const ownerNonce = await t.publicClient.getTransactionCount({ address: t.as(0).account.address })
        const hashes: Hash[] = []
        for (const [i, worker] of workers.entries()) {
          hashes.push(await kms.registry.write.approveWorker([worker.address], { nonce: kmsNonce + i }))
          hashes.push(
            await owner.registry.write.addClusterMember([cluster, worker.address], { nonce: ownerNonce + i }),
          )
        }
        await settle(hashes)
      } finally {
        await testClient.setAutomine(true)
      }
      registered += batch
    }
  }
  const flat = new Map<string, number[]>()
  for (const scale of SCALES) {
    await fill(scale)
    const measured = new Map<string, number>()
    const sample = async (op: string, sent: Promise<Hash>) => measured.set(op, await gasOf(sent))
    const worker = await newWorker()
    await sample('registerWorker', register(worker))
    await sample('approveWorker', kms.registry.write.approveWorker([worker.address]))
    await sample(
      'updateEndpoint',
      worker.ledger.registry.write.updateEndpoint(['https://moved.example.org:8443']),
    )
    await sample('addClusterMember', owner.registry.write.addClusterMember([cluster, worker.address]))
    await sample('removeClusterMember', owner.registry.write.removeClusterMember([cluster, worker.address]))
    // Revoking a cluster member also removes it from the cluster: the most expensive revocation.
    await gasOf(owner.registry.write.addClusterMember([cluster, worker.address]))
    await sample('revokeWorker', kms.registry.write.revokeWorker([worker.address]))
    registered += 1
    const workers = Number(await owner.registry.read.workerCount())
    const members = (await owner.registry.read.clusterMembers([cluster])).length
    for (const [op, used] of measured) {
      report({ bench: 'gas-scaling', op, workers, clusterMembers: members, gas: used })
      flat.set(op, [...(flat.get(op) ?? []), used])
      if (scale === SCALES[0]) {
        const extra: Record<string, number | string> =
          op === 'registerWorker' ? { quoteBytes: QUOTE.length / 2 - 1 } : {}
        report({ bench: 'gas', op, ...extra, gas: used })
      }
    }
  }
  for (const [op, samples] of flat) {
    const [small = 0, large = 0] = samples
    report({
      bench: 'gas-flat',
      op,
      [`at${SCALES[0]}`]: small,
      [`at${SCALES[1]}`]: large,
      delta: large - small,
    })
  }

  await gas('disallowMeasurement', owner.registry.write.disallowMeasurement([MEASUREMENT]))
  await gasOf(owner.registry.write.addKmsSigner([t.as(5).account.address]))
  await gas('removeKmsSigner', owner.registry.write.removeKmsSigner([t.as(5).account.address]))

  // ------------------------------------------------------------------- contracts
  const codes = new Map<number, Hex>()
  for (const size of [1 * KIB, 56 * KIB, 512 * KIB]) {
    const code = bytes(size, size)
    codes.set(size, code)
    await gas('uploadCode', author.contracts.write.uploadCode([code]), { bytes: size })
  }
  const v1 = keccak256(codes.get(1 * KIB) ?? '0x')
  const v2 = keccak256(codes.get(56 * KIB) ?? '0x')
  await gas('uploadCode', author.contracts.write.uploadCode([codes.get(1 * KIB) ?? '0x']), {
    bytes: 1 * KIB,
    note: 're-upload',
  })

  await gas('deploy', author.contracts.write.deploy([cluster, v1, '0x', 0n]), { initBytes: 0 })
  await gas('deploy', author.contracts.write.deploy([cluster, v1, bytes(1 * KIB, 7), 3_600n]), {
    initBytes: KIB,
  })
  await gas('upgrade', author.contracts.write.upgrade([1n, v2]), { note: 'no delay: applied at once' })
  await gas('upgrade', author.contracts.write.upgrade([2n, v2]), { note: 'scheduled' })
  await testClient.increaseTime({ seconds: 3_600 })
  await testClient.mine({ blocks: 1 })
  await gas('applyUpgrade', client.contracts.write.applyUpgrade([2n]))
  await author.contracts.write.upgrade([2n, v1])
  await gas('cancelUpgrade', author.contracts.write.cancelUpgrade([2n]))
  await gas(
    'setContractKeys',
    kms.contracts.write.setContractKeys([1n, keccak256(toHex('x25519')), t.as(6).account.address]),
  )
  await gas(
    'transferContractOwnership',
    author.contracts.write.transferContractOwnership([2n, t.as(3).account.address]),
  )

  // -------------------------------------------------------------------- commands
  await gas('submit', client.commands.write.submit([1n, bytes(100, 1)]), { payloadBytes: 100, note: 'first' })
  for (const size of [100, 4 * KIB, 128 * KIB]) {
    await gas('submit', client.commands.write.submit([1n, bytes(size, 2)]), { payloadBytes: size })
  }
}
