import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildContract } from '@veil/contract/build'
import { encodeCommandPayload, encodeInitPayload, type Hex, silentLogger } from '@veil/protocol'
import { keccak256, toHex } from 'viem'
import { EngineRegistry } from '../src/follower/engines.js'
import { BlockExecutor, type PositionedEvent } from '../src/follower/executor.js'
import { DevContractSecrets, StateStore } from '../src/state/index.js'
import { DEV_MASTER_SECRET } from '../src/worker/dev.js'

type Reporter = (row: { bench: string } & Record<string, number | string>) => void

const counterFile = fileURLToPath(new URL('../src/testing/contracts/counter.ts', import.meta.url))
const sender: Hex = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const hash = (): Hex => toHex(randomBytes(32))

/**
 * Commands per second executed by one worker, excluding chain time: ledger events are synthesized and
 * fed to the real executor, sandbox and encrypted store, one store transaction per block.
 */
export async function run(report: Reporter): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'veil-bench-worker-'))
  const bundle = await buildContract({ entry: counterFile })
  const code = toHex(new TextEncoder().encode(bundle.code))
  const codeHash = keccak256(code)
  const secrets = new DevContractSecrets({ devMasterSecret: DEV_MASTER_SECRET, clusterId: '1' })
  const store = StateStore.open({ path: join(dir, 'state'), secrets })
  const engines = new EngineRegistry({ logger: silentLogger })
  const executor = new BlockExecutor({ cluster: '1', secrets, engines, logger: silentLogger })
  let number = 1n
  let parent = hash()
  let seq = 0n
  const block = async (events: Omit<PositionedEvent, 'transactionHash' | 'logIndex'>[]) => {
    const header = { number, hash: hash(), parentHash: parent, timestamp: 1_800_000_000n + number }
    const writer = store.beginBlock(header)
    await executor.execute(
      header,
      events.map((e, i) => ({ ...e, transactionHash: hash(), logIndex: i }) as PositionedEvent),
      writer,
    )
    writer.commit()
    parent = header.hash
    number++
  }
  const command = (): Omit<PositionedEvent, 'transactionHash' | 'logIndex'> =>
    ({
      eventName: 'Command',
      args: {
        contractId: 1n,
        seq: ++seq,
        sender,
        payload: toHex(encodeCommandPayload({ method: 'add', args: [1] })),
      },
    }) as unknown as Omit<PositionedEvent, 'transactionHash' | 'logIndex'>

  try {
    await block([
      { eventName: 'CodeUploaded', args: { codeHash, uploader: sender, code } },
      {
        eventName: 'ContractDeployed',
        args: {
          contractId: 1n,
          cluster: 1n,
          owner: sender,
          codeHash,
          upgradeDelay: 0n,
          initPayload: toHex(encodeInitPayload({ start: 0 })),
        },
      },
    ] as unknown as Omit<PositionedEvent, 'transactionHash' | 'logIndex'>[])
    for (let i = 0; i < 20; i++) await block([command()]) // warm-up

    for (const perBlock of [1, 10, 100]) {
      const total = perBlock === 1 ? 300 : 2_000
      const started = performance.now()
      for (let done = 0; done < total; done += perBlock)
        await block(Array.from({ length: perBlock }, command))
      const seconds = (performance.now() - started) / 1000
      report({
        bench: 'commands',
        commands_per_block: perBlock,
        commands: total,
        commands_per_s: Math.round(total / seconds),
        ms_per_command: (seconds * 1000) / total,
        target_per_s: 500,
      })
    }
  } finally {
    await engines.dispose()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
