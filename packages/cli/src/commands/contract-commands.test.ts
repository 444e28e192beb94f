import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { devAccount } from '@veil/ledger'
import { bytesToHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONTRACTS, startSdkCluster, type TestCluster } from '../../../sdk/src/test-support/cluster.js'
import { runCli, spawnVeil } from '../testing.js'

const NOTES = fileURLToPath(new URL('../../../sdk/src/test-support/contracts/notes.ts', import.meta.url))

/** The private key of dev account `index`, as VEIL_PRIVATE_KEY takes it. */
function devKey(index: number): string {
  const key = devAccount(index).getHdKey().privateKey
  if (!key) throw new Error('dev account without a private key')
  return bytesToHex(key)
}

describe('veil deploy, call, query, contracts, workers (against a two-worker cluster)', () => {
  let cluster: TestCluster
  let dir: string
  /** A network file marked as a local devnet: commands default to dev account 1. */
  let devnetFile: string
  /** The same network without the devnet marker: an account must come from VEIL_PRIVATE_KEY. */
  let publicFile: string
  let counterId: string

  const veil = (args: string[], env: Record<string, string> = {}) =>
    runCli([...args, '--network', devnetFile], { cwd: dir, env })
  const json = async (args: string[], env: Record<string, string> = {}) => {
    const result = await veil([...args, '--json'], env)
    return { ...result, body: JSON.parse(result.stdout) as Record<string, unknown> }
  }

  beforeAll(async () => {
    cluster = await startSdkCluster(2)
    dir = mkdtempSync(join(tmpdir(), 'veil-cli-contracts-'))
    devnetFile = join(dir, 'network.json')
    publicFile = join(dir, 'public.json')
    writeFileSync(devnetFile, JSON.stringify({ ...cluster.network, devnet: { cluster: 1 } }))
    writeFileSync(publicFile, JSON.stringify(cluster.network))
  }, 120_000)
  afterAll(async () => {
    await cluster?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('deploys a .ts contract from dev account 1 and prints { contractId, codeHash, txHash }', async () => {
    const { code, body } = await json(['deploy', CONTRACTS.counter, '--init', '{"start":1}'])
    expect(code).toBe(0)
    expect(body).toMatchObject({ ok: true, cluster: 1 })
    expect(body.contractId).toMatch(/^\d+$/)
    expect(body.codeHash).toMatch(/^0x[0-9a-f]{64}$/)
    expect(body.txHash).toMatch(/^0x[0-9a-f]{64}$/)
    counterId = String(body.contractId)
    const listed = await json(['contracts'])
    expect(listed.body.contracts).toContainEqual(
      expect.objectContaining({ id: counterId, owner: devAccount(1).address, cluster: '1' }),
    )
  })

  it('calls a command and queries the result: deploy → call → query', async () => {
    const call = await json(['call', counterId, 'add', '5'])
    expect(call.code).toBe(0)
    expect(call.body).toMatchObject({
      ok: true,
      result: 6,
      events: [{ name: 'added', data: { by: 5, n: 6 } }],
    })
    expect(call.body.txHash).toMatch(/^0x[0-9a-f]{64}$/)
    expect(call.body.fuel).toBeGreaterThan(0)
    const query = await json(['query', counterId, 'get'])
    expect(query.code).toBe(0)
    expect(query.body).toMatchObject({ ok: true, result: 6, signatureValid: true })
    expect(cluster.workers.map((w) => w.worker.address)).toContain(query.body.worker)
    expect(query.body.block).toMatch(/^\d+$/)
  })

  it('prints results for people: the value on stdout, the receipt on stderr', async () => {
    const call = await veil(['call', counterId, 'add', '1'])
    expect(call).toMatchObject({ code: 0, stdout: '7\n' })
    expect(call.stderr).toMatch(/event added \{"by":1,"n":7\}/)
    expect(call.stderr).toMatch(/tx 0x[0-9a-f]{64} · block \d+ · fuel \d+/)
    const query = await veil(['query', counterId, 'get'])
    expect(query).toMatchObject({ code: 0, stdout: '7\n' })
    expect(query.stderr).toMatch(/answered by 0x[0-9a-fA-F]{40} .* signature valid/)
  })

  it('exits 1 with the contract’s error when a command fails', async () => {
    const human = await veil(['call', counterId, 'add', '0.5'])
    expect(human.code).toBe(1)
    expect(human.stderr).toMatch(/error: add failed: CONTRACT_ERROR: .*by must be an integer, got 0\.5/)
    expect(human.stderr).toMatch(/at add \(counter\.ts:\d+:\d+\)/)
    expect(human.stderr).toContain('(nothing changed)')
    const machine = await json(['call', counterId, 'add', '0.5'])
    expect(machine.code).toBe(1)
    expect(machine.body).toMatchObject({ ok: false, error: { code: 'CONTRACT_ERROR' } })
    expect(machine.body.txHash).toMatch(/^0x/)
    const unknown = await json(['query', counterId, 'nope'])
    expect(unknown.code).toBe(1)
    expect(unknown.body).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' }, signatureValid: true })
  })

  it('asks the worker given by --worker (index or URL)', async () => {
    for (const [index, entry] of cluster.workers.entries()) {
      const byIndex = await json(['query', counterId, 'get', '--worker', String(index)])
      const byUrl = await json(['query', counterId, 'get', '--worker', entry.worker.url])
      expect(byIndex.body.worker).toBe(byUrl.body.worker)
      expect(byUrl.body.url).toBe(entry.worker.url)
    }
    const missing = await veil(['query', counterId, 'get', '--worker', '9'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('there is no worker 9 in cluster 1')
  })

  it('passes JSON, bigint, bytes and bare-word arguments, and prints tagged values', async () => {
    const deployed = await json(['deploy', NOTES, '--init', '{"title":"t"}'])
    const notes = String(deployed.body.contractId)
    const added = await json(['call', notes, 'add', 'hello', '["a","b"]'])
    expect(added.body).toMatchObject({ ok: true, result: { $bigint: '1' } })
    const note = await json(['query', notes, 'note', '1n'])
    expect(note.body).toMatchObject({ ok: true, result: { text: 'hello', tags: ['a', 'b'] } })
    const tagged = await json(['query', notes, 'note', '{"$bigint":"1"}'])
    expect(tagged.body.result).toEqual(note.body.result)
    expect((await json(['call', notes, 'store', '{"$bytes":"AQID"}'])).body).toMatchObject({ result: 3 })
    expect((await json(['query', notes, 'blob'])).body).toMatchObject({ result: { $bytes: 'AQID' } })
    expect((await json(['query', notes, 'whoami'])).body).toMatchObject({ result: null })
    expect((await json(['query', notes, 'whoami', '--as-wallet'])).body).toMatchObject({
      result: devAccount(1).address,
    })
  })

  it('deploys a prebuilt bundle and uses VEIL_PRIVATE_KEY as the account', async () => {
    const bundle = join(dir, 'counter.js')
    expect((await runCli(['build', CONTRACTS.counter, '-o', bundle], { cwd: dir })).code).toBe(0)
    const key = devKey(4)
    const deployed = await runCli(['deploy', bundle, '--network', publicFile, '--json'], {
      cwd: dir,
      env: { VEIL_PRIVATE_KEY: key },
    })
    expect(deployed.code).toBe(0)
    const id = String(JSON.parse(deployed.stdout).contractId)
    const contracts = await json(['contracts'])
    expect(contracts.body.contracts).toContainEqual(
      expect.objectContaining({ id, owner: devAccount(4).address }),
    )
  })

  it('refuses to send without an account on a network that is not a devnet', async () => {
    const { code, stderr } = await runCli(['call', counterId, 'add', '1', '--network', publicFile], {
      cwd: dir,
    })
    expect(code).toBe(1)
    expect(stderr).toContain('no account is configured')
    expect(stderr).toContain('VEIL_PRIVATE_KEY')
    const bad = await runCli(['call', counterId, 'add', '1', '--network', publicFile], {
      cwd: dir,
      env: { VEIL_PRIVATE_KEY: '0x12' },
    })
    expect(bad.code).toBe(2)
    // Queries need no account.
    expect((await runCli(['query', counterId, 'get', '--network', publicFile], { cwd: dir })).code).toBe(0)
  })

  it('sets and deletes secrets (owner only), from arguments or the environment, never printing values', async () => {
    const set = await json(['secrets', 'set', counterId, 'API_KEY=sk-cli-123', 'FROM_ENV'], {
      FROM_ENV: 'sk-env-456',
    })
    expect(set.code).toBe(0)
    expect(set.body).toMatchObject({ contractId: counterId, set: ['API_KEY', 'FROM_ENV'], deleted: [] })
    expect(set.stdout).not.toContain('sk-')
    const human = await veil(['secrets', 'delete', counterId, 'FROM_ENV', 'NOPE'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/deleted FROM_ENV on contract/)
    const stranger = await veil(['secrets', 'set', counterId, 'API_KEY=x'], { VEIL_PRIVATE_KEY: devKey(7) })
    expect(stranger.code).toBe(1)
    expect(stranger.stderr).toMatch(/NOT_OWNER|only the contract's owner/)
    for (const args of [
      ['secrets', 'set', counterId],
      ['secrets', 'set', counterId, '1BAD=x'],
      ['secrets', 'set', counterId, 'UNSET_VARIABLE_FOR_TEST'],
      ['secrets', 'delete', counterId],
    ]) {
      const refused = await veil(args)
      expect(refused.code, args.join(' ')).toBe(2)
    }
  })

  it('names usage mistakes with exit code 2', async () => {
    expect((await veil(['call', 'x', 'add'])).code).toBe(2)
    expect((await veil(['call', counterId])).stderr).toContain('which command?')
    expect((await veil(['query', counterId, 'get', '{"a":'])).stderr).toContain('not valid JSON')
    expect((await veil(['deploy'])).code).toBe(2)
    const missing = await runCli(['contracts', '--network', join(dir, 'nope.json')], { cwd: dir })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('no Veil network at')
  })

  it('lists workers with their cluster index, health and verification', async () => {
    const { code, body } = await json(['workers'])
    expect(code).toBe(0)
    const workers = body.workers as Record<string, unknown>[]
    expect(workers).toHaveLength(2)
    expect(workers.map((w) => w.index).sort()).toEqual([0, 1])
    for (const worker of workers) {
      expect(worker).toMatchObject({
        status: 'active',
        cluster: '1',
        measurementAllowed: true,
        health: { reachable: true, phase: 'following' },
        verified: { ok: true },
      })
    }
    const table = await veil(['workers'])
    expect(table.stdout).toMatch(/^#\s+ADDRESS\s+STATUS\s+CLUSTER\s+URL\s+HEALTH/)
    expect(table.stdout).toMatch(/following, \d+ behind/)
    const offline = await json(['workers', '--offline'])
    expect((offline.body.workers as Record<string, unknown>[])[0]).not.toHaveProperty('health')
  })

  it('prints a contract’s logs to its owner, follows new lines, and refuses anyone else', async () => {
    const deployed = await json(['deploy', NOTES, '--init', '{"title":"cli notes"}'])
    const notesId = String(deployed.body.contractId)
    expect((await veil(['call', notesId, 'add', '"first"'])).code).toBe(0)
    const lines = async () => {
      const result = await veil(['logs', notesId, '--json'])
      expect(result.code).toBe(0)
      return result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
    }
    await expect.poll(async () => (await lines()).length, { timeout: 5_000 }).toBe(2)
    const [init, added] = await lines()
    expect(init).toMatchObject({ seq: '1', kind: 'init', method: 'init', message: 'created cli notes' })
    expect(added).toMatchObject({ seq: '2', kind: 'command', level: 'info' })
    expect(added?.message).toContain('adding note')

    const human = await veil(['logs', notesId, '--tail', '1'])
    expect(human.code).toBe(0)
    expect(human.stdout.trim().split('\n')).toHaveLength(1)
    expect(human.stdout).toMatch(
      /^\d{4}-\d\d-\d\dT\S+Z info {2}command \(sealed\) 0x[0-9a-f]{8}… +adding note/,
    )
    expect(human.stderr).toMatch(/1 line from 0x[0-9a-fA-F]{40} \(http:\/\/127\.0\.0\.1:\d+\) at block \d+/)

    const follow = spawnVeil(['logs', notesId, '--follow', '--interval', '200', '--network', devnetFile], {
      cwd: dir,
    })
    try {
      await follow.waitFor(/following http/)
      expect((await veil(['call', notesId, 'add', '"second"'])).code).toBe(0)
      await follow.waitFor(/second/, 10_000)
      follow.child.kill('SIGINT')
      expect(await follow.exited).toBe(0)
    } finally {
      follow.child.kill('SIGKILL')
    }

    const stranger = await runCli(['logs', notesId, '--network', publicFile], {
      cwd: dir,
      env: { VEIL_PRIVATE_KEY: devKey(4) },
    })
    expect(stranger.code).toBe(1)
    expect(stranger.stderr).toContain('only the owner of contract')
    expect((await veil(['logs', notesId, '--after', '1', '--tail', '1'])).code).toBe(2)
    expect((await veil(['logs', notesId, '--after', '-1'])).code).toBe(2)
    expect((await veil(['logs'])).code).toBe(2)
  })

  it('runs as a real process (the bundled bin) with the SDK', async () => {
    const child = spawnVeil(['query', counterId, 'get', '--network', devnetFile, '--json'], { cwd: dir })
    expect(await child.exited).toBe(0)
    expect(JSON.parse(child.stdout())).toMatchObject({ ok: true, signatureValid: true })
  })
})
