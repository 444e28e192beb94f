import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestLedger, type TestLedger } from '@veil/ledger/testing'
import { type NetworkFile, silentLogger } from '@veil/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CliIO, CommandContext } from '../command.js'
import { kmsStartCommand } from './kms.js'

let t: TestLedger
let dir: string

beforeAll(async () => {
  t = await startTestLedger()
  dir = mkdtempSync(join(tmpdir(), 'veil-cli-kms-'))
})
afterAll(async () => {
  await t?.stop()
  rmSync(dir, { recursive: true, force: true })
})

function writeNetwork(name: string, devMode: boolean): string {
  const network: NetworkFile = {
    version: 1,
    chainId: 31337,
    rpcUrl: t.anvil.rpcUrl,
    devMode,
    deployBlock: 0,
    contracts: t.addresses,
    kms: null,
    workers: [],
  }
  const path = join(dir, name)
  writeFileSync(path, JSON.stringify(network))
  return path
}

/** Runs `veil kms start` in-process with captured output (the command is not registered yet). */
function start(options: Record<string, string | boolean>, signal: AbortSignal) {
  const out: string[] = []
  const err: string[] = []
  const io: CliIO = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    isTTY: false,
    env: { VEIL_SIM_PLATFORM_SECRET_FILE: join(dir, 'platform.key') },
    cwd: dir,
  }
  const ctx: CommandContext = {
    io,
    options: { host: '127.0.0.1', port: '0', tee: 'simulated', 'log-level': 'error', ...options },
    positionals: [],
    signal,
    logger: silentLogger,
  }
  return { exit: kmsStartCommand.run(ctx), out, err }
}

describe('veil kms start', () => {
  it('starts the KMS, reports it ready, waits to be made a signer, and stops on SIGINT', async () => {
    const abort = new AbortController()
    const run = start(
      { network: writeNetwork('dev.json', true), data: join(dir, 'kms'), json: true },
      abort.signal,
    )
    const started = Date.now()
    while (run.out.length === 0 && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 20))
    const ready = JSON.parse(run.out[0] ?? '{}') as { event: string; url: string; address: `0x${string}` }
    expect(ready).toMatchObject({ event: 'ready', tee: 'simulated', phase: 'waiting-for-signer' })
    const before = await fetch(`${ready.url}/healthz`)
    expect(before.status).toBe(503)
    expect(await before.json()).toMatchObject({ warning: { code: 'NOT_KMS_SIGNER' } })
    const hash = await t.owner.registry.write.addKmsSigner([ready.address])
    await t.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 })
    for (let i = 0; i < 200 && (await fetch(`${ready.url}/healthz`)).status !== 200; i++)
      await new Promise((r) => setTimeout(r, 25))
    expect(await (await fetch(`${ready.url}/healthz`)).json()).toMatchObject({ ok: true, phase: 'ready' })
    abort.abort()
    expect(await run.exit).toBe(0)
    await expect(fetch(`${ready.url}/healthz`)).rejects.toThrow()
  })

  it('refuses a simulated TEE on a production network, and unknown TEE kinds', async () => {
    const signal = new AbortController().signal
    const production = writeNetwork('prod.json', false)
    await expect(start({ network: production, data: join(dir, 'p') }, signal).exit).rejects.toMatchObject({
      code: 'USAGE',
    })
    await expect(
      start({ network: production, data: join(dir, 'p'), tee: 'sgx' }, signal).exit,
    ).rejects.toThrow(/--tee must be one of simulated, tdx/)
  })
})
