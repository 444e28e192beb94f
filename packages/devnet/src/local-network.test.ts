import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { artifactsHash, Registry, Rewards } from '@veil/ledger'
import { VeilError } from '@veil/protocol'
import { createPublicClient, http } from 'viem'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { LocalNetwork, type LocalNetworkOptions } from './local-network.js'

const root = mkdtempSync(join(tmpdir(), 'veil-devnet-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
/** The simulated TEE's platform secret of these tests (never the user's ~/.veil one). */
const PLATFORM = join(root, 'platform.key')

async function expectVeilError(promise: Promise<unknown>, code: string, hint: RegExp): Promise<VeilError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(VeilError)
    const e = error as VeilError
    expect(e.code).toBe(code)
    expect(e.hint ?? '').toMatch(hint)
    return e
  }
  throw new Error(`expected ${code}`)
}

/** Every network a test makes is disposed after it, even when an assertion failed half-way (no orphan anvil). */
const opened: LocalNetwork[] = []
function tracked(options: LocalNetworkOptions): LocalNetwork {
  const net = new LocalNetwork(options)
  opened.push(net)
  return net
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((net) => net.dispose()))
})

describe('LocalNetwork', () => {
  const dir = join(root, 'net')

  it('starts, writes network.json and keeps the ledger across restarts', async () => {
    const events: string[] = []
    const first = tracked({
      platformSecretFile: PLATFORM,
      dir,
      port: 0,
      workers: 0,
      onProgress: (e) => events.push(`${e.step}:${e.phase}`),
    })
    const network = await first.start()
    expect(await first.ready).toBe(network)
    expect(events).toEqual([
      'chain:start',
      'chain:done',
      'ledger:start',
      'ledger:done',
      'mining:start',
      'mining:done',
      'kms:start',
      'kms:done',
    ])
    const onDisk = JSON.parse(readFileSync(join(dir, 'network.json'), 'utf8'))
    expect(onDisk).toEqual(network)
    expect(network).toMatchObject({ version: 1, chainId: 31337, devMode: true, workers: [] })
    expect(network.kms?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const kmsInfo = (await (await fetch(`${network.kms?.url}/v1/info`)).json()) as Record<string, unknown>
    expect(kmsInfo).toMatchObject({ address: network.kms?.address, tee: 'simulated' })
    expect(network.devnet.artifactsHash).toBe(artifactsHash)

    const client = createPublicClient({ transport: http(network.rpcUrl) })
    expect(
      await client.readContract({
        address: network.contracts.registry,
        abi: Registry.abi,
        functionName: 'clusterCount',
      }),
    ).toBe(1n)
    expect(
      await client.readContract({
        address: network.contracts.registry,
        abi: Registry.abi,
        functionName: 'isKmsSigner',
        args: [network.kms?.address ?? '0x'],
      }),
    ).toBe(true)
    const code = await client.getCode({ address: network.contracts.commands })
    // The mining contracts, with the devnet's 10 s epochs.
    expect(network.mining).toBeDefined()
    expect(
      await client.readContract({
        address: network.mining?.rewards ?? '0x',
        abi: Rewards.abi,
        functionName: 'epochLength',
      }),
    ).toBe(10n)
    await first.dispose()
    await first.dispose() // idempotent

    const second = tracked({ platformSecretFile: PLATFORM, dir, port: 0, workers: 0 })
    const again = await second.start()
    expect(again.contracts).toEqual(network.contracts)
    expect(again.mining).toEqual(network.mining) // deployed once, reused
    // The KMS unsealed the same identity (and master secret) from its data dir.
    expect(again.kms?.address).toBe(network.kms?.address)
    expect(again.deployBlock).toBe(network.deployBlock)
    const client2 = createPublicClient({ transport: http(again.rpcUrl) })
    expect(await client2.getCode({ address: again.contracts.commands })).toBe(code)
    await second.dispose()
  })

  it('refuses a second network on the same dir', async () => {
    const a = tracked({
      platformSecretFile: PLATFORM,
      dir: join(root, 'locked'),
      port: 0,
      workers: 0,
    })
    await a.start()
    try {
      await expectVeilError(
        tracked({
          platformSecretFile: PLATFORM,
          dir: join(root, 'locked'),
          port: 0,
          workers: 0,
        }).start(),
        'DIR_IN_USE',
        /--dir/,
      )
    } finally {
      await a.dispose()
    }
  })

  it('--reset starts from scratch', async () => {
    const resetDir = join(root, 'reset')
    const a = tracked({ platformSecretFile: PLATFORM, dir: resetDir, port: 0, workers: 0 })
    await a.start()
    await a.dispose()
    writeFileSync(join(resetDir, 'leftover.txt'), 'x')
    const b = tracked({
      platformSecretFile: PLATFORM,
      dir: resetDir,
      port: 0,
      workers: 0,
      reset: true,
    })
    const network = await b.start()
    await b.dispose()
    expect(() => readFileSync(join(resetDir, 'leftover.txt'))).toThrow()
    expect(network.deployBlock).toBe(1)
  })

  it('names the fix for an unreadable network.json', async () => {
    const badDir = join(root, 'bad')
    const a = tracked({ platformSecretFile: PLATFORM, dir: badDir, port: 0, workers: 0 })
    await a.start()
    await a.dispose()
    writeFileSync(join(badDir, 'network.json'), '{ not json')
    const e = await expectVeilError(
      tracked({ platformSecretFile: PLATFORM, dir: badDir, port: 0, workers: 0 }).start(),
      'NETWORK_FILE_INVALID',
      /--reset/,
    )
    expect(e.message).toContain('network.json')
    writeFileSync(join(badDir, 'network.json'), JSON.stringify({ version: 1, chainId: 'x' }))
    await expectVeilError(
      tracked({ platformSecretFile: PLATFORM, dir: badDir, port: 0, workers: 0 }).start(),
      'NETWORK_FILE_INVALID',
      /veil dev/,
    )
  })

  it('detects a lost chain state', async () => {
    const lostDir = join(root, 'lost')
    const a = tracked({ platformSecretFile: PLATFORM, dir: lostDir, port: 0, workers: 0 })
    await a.start()
    await a.dispose()
    rmSync(join(lostDir, 'anvil-state.json'))
    await expectVeilError(
      tracked({ platformSecretFile: PLATFORM, dir: lostDir, port: 0, workers: 0 }).start(),
      'DEVNET_STATE_MISMATCH',
      /--reset/,
    )
  })

  it('names the fix for a taken port and releases the dir', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    const portDir = join(root, 'port')
    try {
      await expectVeilError(
        tracked({ platformSecretFile: PLATFORM, dir: portDir, port }).start(),
        'PORT_IN_USE',
        /--port/,
      )
    } finally {
      blocker.close()
    }
    const ok = tracked({ platformSecretFile: PLATFORM, dir: portDir, port: 0, workers: 0 })
    await ok.start() // the failed start released its lock
    await ok.dispose()
  })

  it('refuses to take over a directory that is not a devnet', async () => {
    const foreign = join(root, 'foreign')
    const net = tracked({ platformSecretFile: PLATFORM, dir: join(foreign), port: 0, workers: 0 })
    rmSync(foreign, { recursive: true, force: true })
    const { mkdirSync } = await import('node:fs')
    mkdirSync(foreign)
    writeFileSync(join(foreign, 'thesis.tex'), 'precious')
    await expectVeilError(net.start(), 'DIR_NOT_DEVNET', /--dir/)
    await expectVeilError(
      tracked({
        platformSecretFile: PLATFORM,
        dir: foreign,
        port: 0,
        workers: 0,
        reset: true,
      }).start(),
      'DIR_NOT_DEVNET',
      /--dir/,
    )
    expect(readFileSync(join(foreign, 'thesis.tex'), 'utf8')).toBe('precious')
  })
})
