import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createSimulatedTee, SealedFiles } from '@veil/attestation'
import { defaultVeilCommand, spawnWorker, type WorkerProcess } from '@veil/devnet'
import { devAccount } from '@veil/ledger'
import { type CommandReceipt, decodeValue, type Hex } from '@veil/protocol'
import { toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ClusterContractSecrets, StateStore } from '../state/index.js'
import { CONTRACTS, startTestCluster, type TestCluster, type TestWorker } from '../testing/cluster.js'
import { unsealClusterSecret } from '../worker/provisioning.js'

interface Info {
  address: Hex
  chain: { block: string | null }
  stateDigest: Hex | null
}

async function info(url: string): Promise<Info> {
  return (await (await fetch(`${url}/v1/info`)).json()) as Info
}

describe('crash safety', () => {
  let cluster: TestCluster
  let victim: WorkerProcess | undefined
  const operatorKey = toHex(devAccount(8).getHdKey().privateKey ?? new Uint8Array(32))

  beforeAll(async () => {
    cluster = await startTestCluster({ workers: 1 })
  }, 120_000)
  afterAll(async () => {
    delete process.env.VEIL_SIM_PLATFORM_SECRET_FILE
    await victim?.stop()
    await cluster?.stop()
  })

  it('a worker killed with SIGKILL during a burst restarts at a committed block and converges, skipping and repeating nothing', async () => {
    const networkPath = join(cluster.root, 'network.json')
    writeFileSync(networkPath, JSON.stringify(cluster.network))
    // The child's simulated TEE: a platform secret of this test, not the user's ~/.veil one.
    const platformFile = join(cluster.root, 'platform.key')
    process.env.VEIL_SIM_PLATFORM_SECRET_FILE = platformFile
    const dataDir = join(cluster.root, 'victim')
    const start = () =>
      spawnWorker({
        index: 9,
        veil: defaultVeilCommand(),
        networkPath,
        dataDir,
        operatorKey,
        logLevel: 'warn',
        onLog: () => {},
      })
    victim = await start()
    const counter = await cluster.deploy(CONTRACTS.counter, { start: 0 })

    const txs: Hex[] = []
    let killedAfter = -1
    for (let i = 1; i <= 60; i++) {
      const { txHash } = await cluster.submit(counter, 'add', [i])
      txs.push(txHash)
      if (i === 25) {
        victim.child.kill('SIGKILL')
        killedAfter = i
      }
    }
    expect(await victim.exited).toBe('SIGKILL')
    expect(killedAfter).toBe(25)

    victim = await start()
    const head = await cluster.settle()
    const deadline = Date.now() + 30_000
    let restarted = await info(victim.url)
    while (restarted.chain.block !== String(head) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
      restarted = await info(victim.url)
    }
    const peer = cluster.workers[0] as TestWorker
    expect(restarted.chain.block).toBe(String(head))
    await victim.stop()

    // Audit the victim's own store: one receipt per command, seq 1..60 in order, the sum applied once.
    const tee = createSimulatedTee({ measurement: new Uint8Array(32), platformSecretFile: platformFile })
    const clusterSecret = await unsealClusterSecret(dataDir, 1n, new SealedFiles(tee))
    if (!clusterSecret) throw new Error('the victim kept no cluster secret')
    const store = StateStore.open({
      path: join(dataDir, 'state'),
      secrets: new ClusterContractSecrets(clusterSecret),
    })
    try {
      const seqs = txs.map((tx) => {
        const stored = store.getReceipt(tx)
        expect(stored, `receipt of ${tx}`).toBeDefined()
        const list = decodeValue(stored?.receiptText ?? '[]') as CommandReceipt[]
        if (process.env.VEIL_TEST_LOG) {
          const mine = peer.receipts.find((r) => r.txHash === tx)
          if (
            JSON.stringify(mine, (_k, v) => (typeof v === 'bigint' ? String(v) : v)) !==
            JSON.stringify(list[0], (_k, v) => (typeof v === 'bigint' ? String(v) : v))
          ) {
            console.log(
              'DIFF',
              tx,
              JSON.stringify(mine, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
              JSON.stringify(list[0], (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
            )
          }
        }
        expect(list).toHaveLength(1)
        expect(list[0]?.ok).toBe(true)
        return list[0]?.seq
      })
      expect(seqs).toEqual(txs.map((_, i) => BigInt(i + 1)))
      expect(decodeValue(store.get(String(counter), 'n') ?? 'null')).toBe((60 * 61) / 2)
      expect(restarted.stateDigest).toBe(peer.worker.stateStore?.stateDigest())
    } finally {
      await store.close()
    }
  })
})
