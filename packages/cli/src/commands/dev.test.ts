import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnVeil } from '../testing.js'

const root = mkdtempSync(join(tmpdir(), 'veil-cli-dev-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('veil dev (as a process)', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'runs until %s, then stops cleanly within 5 s and exits 0',
    async (signal) => {
      const dir = join(root, signal)
      const veil = spawnVeil(['dev', '--dir', dir, '--port', '0', '--workers', '0'])
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

  it('prints the network as JSON with --json and reuses it on restart', async () => {
    const dir = join(root, 'json')
    const first = spawnVeil(['dev', '--dir', dir, '--port', '0', '--workers', '0', '--json'])
    await first.waitFor(/"event":"ready"/)
    const ready = JSON.parse(first.stdout().trim())
    expect(ready).toMatchObject({ event: 'ready', network: { chainId: 31337, kms: null, workers: [] } })
    first.child.kill('SIGINT')
    expect(await first.exited).toBe(0)

    const second = spawnVeil(['dev', '--dir', dir, '--port', '0', '--workers', '0', '--json'])
    await second.waitFor(/"event":"ready"/)
    expect(second.stderr()).toMatch(/✓ ledger {2}reused/)
    expect(JSON.parse(second.stdout().trim()).network.contracts).toEqual(ready.network.contracts)
    second.child.kill('SIGINT')
    expect(await second.exited).toBe(0)
  })

  it('exits 1 with the fix when the data dir is unusable', async () => {
    const dir = join(root, 'bad')
    const { mkdirSync, writeFileSync } = await import('node:fs')
    mkdirSync(dir)
    writeFileSync(join(dir, 'notes.txt'), 'mine')
    const veil = spawnVeil(['dev', '--dir', dir, '--port', '0', '--workers', '0'])
    expect(await veil.exited).toBe(1)
    expect(veil.stderr()).toContain('is not a Veil devnet data dir')
    expect(veil.stderr()).toContain('fix: choose an empty or new directory with --dir')
  })
})
