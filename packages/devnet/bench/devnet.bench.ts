import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnVeil } from '../../cli/src/testing.js'
import { LocalNetwork } from '../src/local-network.js'

type Reporter = (row: { bench: string } & Record<string, number | string>) => void

/** Time from `new LocalNetwork().start()` to ready: cold (fresh dir, deploys) and warm (reuses). */
export async function run(report: Reporter): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'veil-bench-devnet-'))
  try {
    const rounds = 5
    for (let i = 0; i < rounds; i++) {
      const dir = join(root, `net-${i}`)
      const cold = await timeStart(dir)
      const warm = await timeStart(dir)
      report({
        bench: 'devnet_ready',
        round: i + 1,
        cold_ms: round(cold),
        warm_ms: round(warm),
        target_cold_ms: 15_000,
      })
    }
    // What a user sees: `veil dev` as a process, from spawn to its ready line (includes Node start-up).
    for (let i = 0; i < 3; i++) {
      const dir = join(root, `cli-${i}`)
      const cold = await timeCli(dir)
      const warm = await timeCli(dir)
      report({
        bench: 'veil_dev_ready',
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
  await veil.waitFor(/"event":"ready"/, 30_000)
  const ms = performance.now() - started
  veil.child.kill('SIGINT')
  await veil.exited
  return ms
}

async function timeStart(dir: string): Promise<number> {
  const started = performance.now()
  const net = new LocalNetwork({ dir, port: 0 })
  await net.start()
  const ms = performance.now() - started
  await net.dispose()
  return ms
}

const round = (ms: number) => Math.round(ms * 10) / 10
