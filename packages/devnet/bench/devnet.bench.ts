import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnVeil } from '../../cli/src/testing.js'
import { LocalNetwork } from '../src/local-network.js'

type Reporter = (row: { bench: string } & Record<string, number | string>) => void

/**
 * Time to ready of the local network: in-process (`LocalNetwork.start()`) and as a user sees it
 * (`veil dev` from spawn to its ready line), cold (fresh dir: deploys, registers workers) and warm
 * (reuses the ledger and the workers' identities and state). Target: ≤ 15 s cold.
 */
export async function run(report: Reporter): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'veil-bench-devnet-'))
  try {
    for (const workers of [0, 2]) {
      for (let i = 0; i < 3; i++) {
        const dir = join(root, `net-${workers}-${i}`)
        const cold = await timeStart(dir, workers)
        const warm = await timeStart(dir, workers)
        report({
          bench: 'devnet_ready',
          workers,
          round: i + 1,
          cold_ms: round(cold),
          warm_ms: round(warm),
          target_cold_ms: 15_000,
        })
      }
    }
    for (let i = 0; i < 2; i++) {
      const dir = join(root, `cli-${i}`)
      const cold = await timeCli(dir)
      const warm = await timeCli(dir)
      report({
        bench: 'veil_dev_ready',
        workers: 2,
        round: i + 1,
        cold_ms: round(cold),
        warm_ms: round(warm),
        target_cold_ms: 15_000,
      })
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

async function timeCli(dir: string): Promise<number> {
  const started = performance.now()
  const veil = spawnVeil(['dev', '--dir', dir, '--port', '0', '--json'])
  await veil.waitFor(/"event":"ready"/, 60_000)
  const ms = performance.now() - started
  veil.child.kill('SIGINT')
  await veil.exited
  return ms
}

async function timeStart(dir: string, workers: number): Promise<number> {
  const started = performance.now()
  const net = new LocalNetwork({ dir, port: 0, workers })
  await net.start()
  const ms = performance.now() - started
  await net.dispose()
  return ms
}

const round = (ms: number) => Math.round(ms * 10) / 10
