import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stopOrphan } from '@veil/devnet'
import { silentLogger } from '@veil/protocol'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnVeil } from '../testing.js'

const root = mkdtempSync(join(tmpdir(), 'veil-cli-dev-'))
/** The simulated TEE's platform secret of these tests, not the user's ~/.veil one. */
const env = { VEIL_SIM_PLATFORM_SECRET_FILE: join(root, 'platform.key') }
afterAll(async () => {
  // A test that failed midway may have SIGKILLed `veil dev`, orphaning its chain: reap it.
  for (const name of readdirSync(root))
    await stopOrphan(join(root, name, 'anvil.pid'), join(root, name), silentLogger)
  rmSync(root, { recursive: true, force: true })
})

describe('veil dev (as a process)', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'runs until %s, then stops cleanly within 5 s and exits 0',
    async (signal) => {
      const dir = join(root, signal)
      const veil = spawnVeil(['dev', '--dir', dir, '--port', '0', '--workers', '0'], { env })
      try {
        await veil.waitFor(/Press Ctrl-C to stop/)
        expect(veil.stderr()).toMatch(/✓ chain {2}http:\/\/127\.0\.0\.1:\d+/)
        expect(veil.stderr()).toMatch(/✓ ledger {2}deployed/)
        const network = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'))
        expect(veil.stdout()).toContain(network.contracts.registry)
        expect(veil.stdout()).toContain(network.rpcUrl)
        const stopAt = Date.now()
        veil.child.kill(signal)
        expect(await veil.exited).toBe(0)
        expect(Date.now() - stopAt).toBeLessThan(5_000)
        expect(veil.stderr()).toContain('veil dev: stopped')
        // The chain is gone after shutdown.
        await expect(fetch(network.rpcUrl, { method: 'POST', body: '{}' })).rejects.toThrow()
      } finally {
        veil.child.kill('SIGKILL')
      }
    },
  )

  it('runs two workers by default: registered, healthy, listed in network.json, stopped with it', async () => {
    const dir = join(root, 'workers')
    const veil = spawnVeil(['dev', '--dir', dir, '--port', '0'], { env })
    try {
      await veil.waitFor(/Press Ctrl-C to stop/, 60_000)
      expect(veil.stderr()).toMatch(/✓ workers {2}2 ready/)
      const network = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'))
      expect(network.workers).toHaveLength(2)
      const counter = network.devnet.examples.counter as string
      expect(veil.stdout()).toContain(`npx veil call ${counter} add 5`)
      expect(veil.stdout()).toContain(`npx veil query ${counter} get`)
      // The example is funded on the devnet's Billing contract, so its commands can pay for fuel.
      expect(veil.stderr()).toMatch(/✓ billing {2}counter funded with 100 VEIL/)
      const balance = spawnVeil(
        ['contract', 'balance', counter, '--json', '--network', join(dir, 'network.json')],
        { env },
      )
      expect(await balance.exited).toBe(0)
      expect(JSON.parse(balance.stdout())).toMatchObject({ balance: String(100n * 10n ** 18n) })
      for (const worker of network.workers as { url: string; address: string }[]) {
        expect(veil.stdout()).toContain(worker.url)
        // The example is deployed and each worker runs it.
        let described: Response | undefined
        for (let i = 0; i < 100 && described?.status !== 200; i++) {
          described = await fetch(`${worker.url}/v1/contracts/${counter}`)
          if (described.status !== 200) await new Promise((r) => setTimeout(r, 50))
        }
        expect(await described?.json()).toMatchObject({
          id: counter,
          methods: { commands: ['add', 'reset'], queries: ['get'] },
        })
        const health = await fetch(`${worker.url}/healthz`)
        expect(health.status).toBe(200)
        const info = (await (await fetch(`${worker.url}/v1/info`)).json()) as Record<string, unknown>
        expect(info).toMatchObject({ address: worker.address, cluster: '1' })
        expect(info.stateDigest).toMatch(/^0x[0-9a-f]{64}$/)
      }
      const stopAt = Date.now()
      veil.child.kill('SIGINT')
      expect(await veil.exited).toBe(0)
      expect(Date.now() - stopAt).toBeLessThan(5_000)
      for (const worker of network.workers as { url: string }[]) {
        await expect(fetch(`${worker.url}/healthz`)).rejects.toThrow()
      }
    } finally {
      veil.child.kill('SIGKILL')
    }
  })

  it('prints the network as JSON with --json and reuses it on restart', async () => {
    const dir = join(root, 'json')
    const first = spawnVeil(['dev', '--dir', dir, '--port', '0', '--workers', '0', '--json'], { env })
    await first.waitFor(/"event":"ready"/)
    const ready = JSON.parse(first.stdout().trim())
    expect(ready).toMatchObject({ event: 'ready', network: { chainId: 31337, workers: [] } })
    expect(ready.network.kms.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    first.child.kill('SIGINT')
    expect(await first.exited).toBe(0)

    const second = spawnVeil(['dev', '--dir', dir, '--port', '0', '--workers', '0', '--json'], { env })
    await second.waitFor(/"event":"ready"/)
    expect(second.stderr()).toMatch(/✓ ledger {2}reused/)
    expect(JSON.parse(second.stdout().trim()).network.contracts).toEqual(ready.network.contracts)
    second.child.kill('SIGINT')
    expect(await second.exited).toBe(0)
  })

  it('recovers after being killed hard: its worker exits, the next start stops the orphaned chain and reuses it', async () => {
    const dir = join(root, 'killed')
    const first = spawnVeil(['dev', '--dir', dir, '--port', '0', '--workers', '1', '--json'], { env })
    await first.waitFor(/"event":"ready"/, 60_000)
    const network = JSON.parse(first.stdout().trim()).network
    first.child.kill('SIGKILL')
    await first.exited
    // The worker notices its parent is gone (stdin closes) and stops by itself.
    const deadline = Date.now() + 5_000
    let workerUp = true
    while (workerUp && Date.now() < deadline) {
      workerUp = await fetch(`${network.workers[0].url}/healthz`).then(
        () => true,
        () => false,
      )
      if (workerUp) await new Promise((r) => setTimeout(r, 100))
    }
    expect(workerUp).toBe(false)

    const second = spawnVeil(['dev', '--dir', dir, '--port', '0', '--workers', '1', '--json'], { env })
    try {
      await second.waitFor(/"event":"ready"/, 60_000)
      expect(second.stderr()).toContain('stopping a chain left running by a previous veil dev')
      expect(JSON.parse(second.stdout().trim()).network.contracts).toEqual(network.contracts)
      // The orphaned chain is gone.
      await expect(fetch(network.rpcUrl, { method: 'POST', body: '{}' })).rejects.toThrow()
      second.child.kill('SIGINT')
      expect(await second.exited).toBe(0)
    } finally {
      second.child.kill('SIGKILL')
    }
  })

  it('exits 1 with the fix when the data dir is unusable', async () => {
    const dir = join(root, 'bad')
    const { mkdirSync, writeFileSync } = await import('node:fs')
    mkdirSync(dir)
    writeFileSync(join(dir, 'notes.txt'), 'mine')
    const veil = spawnVeil(['dev', '--dir', dir, '--port', '0', '--workers', '0'], { env })
    expect(await veil.exited).toBe(1)
    expect(veil.stderr()).toContain('is not a Veil devnet data dir')
    expect(veil.stderr()).toContain('fix: choose an empty or new directory with --dir')
  })
})
