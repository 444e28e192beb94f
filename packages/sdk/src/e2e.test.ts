import { fileURLToPath } from 'node:url'
import { buildContract } from '@veil/contract/build'
import { nodeHpke } from '@veil/crypto'
import { devAccount, Registry } from '@veil/ledger'
import type { ContractLogEntry } from '@veil/protocol'
import { getTransaction, getTransactionReceipt, readContract } from 'viem/actions'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import type Counter from '../../runtime/src/testing/contracts/counter.js'
import {
  AccountRequiredError,
  ContractCallError,
  type ContractEventMessage,
  ContractNotFoundError,
  createClient,
  InvalidArgumentError,
  type VeilClient,
  WorkerRequestError,
} from './node.js'
import { CLIENT_ACCOUNT, CONTRACTS, startSdkCluster, type TestCluster } from './test-support/cluster.js'
import type Notes from './test-support/contracts/notes.js'

const NOTES = fileURLToPath(new URL('./test-support/contracts/notes.ts', import.meta.url))

describe('SDK end to end (two workers, sealed commands and queries)', () => {
  let cluster: TestCluster
  let client: VeilClient
  let counterId: bigint
  let notesId: bigint

  beforeAll(async () => {
    cluster = await startSdkCluster(2)
    client = createClient({ network: cluster.network, account: CLIENT_ACCOUNT })
    const counter = await buildContract({ entry: CONTRACTS.counter })
    counterId = (await client.deploy(counter.code, { init: { start: 1 } })).contractId
    const notes = await buildContract({ entry: NOTES })
    notesId = (await client.deploy(notes.code, { init: { title: 'notes' } })).contractId
  }, 120_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('deploys: returns the id, code hash and transaction, and the ledger records the client as owner', async () => {
    const bundle = await buildContract({ entry: CONTRACTS.counter })
    const deployed = await client.deploy(bundle.code, { init: { start: 7 }, upgradeDelay: 60 })
    expect(deployed.contractId).toBeGreaterThan(notesId)
    // The same code was uploaded before: no second upload.
    expect(deployed.uploadTxHash).toBeUndefined()
    const info = await client.getContractInfo(deployed.contractId)
    expect(info).toMatchObject({
      id: deployed.contractId,
      owner: CLIENT_ACCOUNT.address,
      cluster: 1n,
      codeHash: deployed.codeHash,
      upgradeDelay: 60n,
      pendingUpgrade: null,
    })
    const key = await client.waitForContractKey({ contractId: deployed.contractId })
    expect(key).toHaveLength(32)
    const receipt = await getTransactionReceipt(client.chainClient, { hash: deployed.txHash })
    expect(receipt.status).toBe('success')
  })

  it('answers a query right after deployment, waiting for workers that have not executed it yet', async () => {
    const bundle = await buildContract({ entry: CONTRACTS.counter })
    const { contractId } = await client.deploy(bundle.code, { init: { start: 3 } })
    expect(await client.contract<typeof Counter>(contractId).query.get()).toBe(3)
  })

  it('runs typed commands and queries: deploy → command → query', async () => {
    const counter = client.contract<typeof Counter>(counterId)
    expectTypeOf(counter.command.add).toEqualTypeOf<(by: number) => Promise<number>>()
    expectTypeOf(counter.query.get).toEqualTypeOf<() => Promise<number>>()
    const before = await counter.query.get()
    expect(await counter.command.add(5)).toBe(before + 5)
    expect(await counter.query.get()).toBe(before + 5)
  })

  it('returns the full outcome of a command: fuel, events, position, state digest, worker', async () => {
    const result = await client.contract<typeof Notes>(notesId).send('add', ['first', ['a', 'b']])
    expect(result).toMatchObject({
      ok: true,
      result: 1n,
      method: 'add',
      contractId: notesId,
      seq: 1n,
      events: [
        { name: 'added', data: { id: 1n, text: 'first' } },
        { name: 'count', data: 1n },
      ],
    })
    expect(result.fuel).toBeGreaterThan(0)
    expect(result.stateDigest).toMatch(/^0x[0-9a-f]{64}$/)
    expect(cluster.workers.map((w) => w.worker.address)).toContain(result.worker.address)
    // The ledger carries only the sealed payload: neither the method nor the text is visible on chain.
    const tx = await getTransaction(client.chainClient, { hash: result.txHash })
    expect(tx.input).not.toContain(Buffer.from('first').toString('hex'))
    expect(tx.input).not.toContain(Buffer.from('"add"').toString('hex'))
  })

  it('round-trips bigints, bytes and objects through commands and queries', async () => {
    const notes = client.contract<typeof Notes>(notesId)
    const id = await notes.command.add('typed', ['x'])
    expectTypeOf(id).toEqualTypeOf<bigint>()
    expect(await notes.query.note(id)).toEqual({ text: 'typed', tags: ['x'], author: CLIENT_ACCOUNT.address })
    const blob = Uint8Array.from([0, 1, 2, 254, 255])
    expect(await notes.command.store(blob)).toBe(5)
    expect(await notes.query.blob()).toEqual(blob)
  })

  it('throws ContractCallError with the contract’s code and message when a command fails, and changes nothing', async () => {
    const notes = client.contract<typeof Notes>(notesId)
    const count = await notes.query.count()
    const error = await notes.command.add('').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ContractCallError)
    const callError = error as ContractCallError
    expect(callError.code).toBe('CONTRACT_ERROR')
    expect(callError.kind).toBe('command')
    expect(callError.error.message).toContain('a note needs text')
    expect(callError.txHash).toMatch(/^0x[0-9a-f]{64}$/)
    expect(await notes.query.count()).toBe(count)
    const outcome = await notes.send('add', [''])
    expect(outcome).toMatchObject({ ok: false, error: { code: 'CONTRACT_ERROR' }, events: [] })
  })

  it('reports a query’s contract error as ContractCallError, and as ok: false from call()', async () => {
    const notes = client.contract<typeof Notes>(notesId)
    const error = await notes.query.note(999n).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ContractCallError)
    expect((error as ContractCallError).error.message).toContain('no note 999')
    const unknown = await notes.call('nope')
    expect(unknown).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } })
  })

  it('signs every answer: each worker by its registered identity, checkable on chain with Registry.verifyAnswer', async () => {
    const seen = new Set<string>()
    for (const worker of [0, 1]) {
      const answer = await client.query({ contractId: counterId, method: 'get', worker })
      expect(answer.ok).toBe(true)
      expect(answer.signatureValid).toBe(true)
      seen.add(answer.worker.address)
      const signer = await readContract(client.chainClient, {
        address: cluster.network.contracts.registry,
        abi: Registry.abi,
        functionName: 'verifyAnswer',
        args: [answer.request, answer.response, counterId, answer.block, answer.signature],
      })
      expect(signer).toBe(answer.worker.address)
    }
    expect(seen.size).toBe(2)
  })

  it('spreads queries round-robin over the cluster’s workers', async () => {
    const served = new Set<string>()
    for (let i = 0; i < 4; i++)
      served.add((await client.query({ contractId: counterId, method: 'get' })).worker.url)
    expect(served.size).toBe(2)
  })

  it('proves the caller with a wallet signature or a session key; anonymous queries see null', async () => {
    const notes = client.contract<typeof Notes>(notesId)
    expect(await notes.query.whoami()).toBeNull()
    expect(await client.contract<typeof Notes>(notesId, { auth: 'wallet' }).query.whoami()).toBe(
      CLIENT_ACCOUNT.address,
    )
    const session = await client.createSession({ expiresInSeconds: 600 })
    expect(session.wallet).toBe(CLIENT_ACCOUNT.address)
    expect(await client.contract<typeof Notes>(notesId, { auth: session }).query.whoami()).toBe(
      CLIENT_ACCOUNT.address,
    )
  })

  it('delivers a contract’s events over WebSocket', async () => {
    const events: ContractEventMessage[] = []
    let opened!: () => void
    const open = new Promise<void>((resolve) => {
      opened = resolve
    })
    const unwatch = client.contract<typeof Notes>(notesId).watchEvents({
      onEvent: (event) => events.push(event),
      onOpen: () => opened(),
      names: ['added'],
    })
    try {
      await open
      const result = await client.contract<typeof Notes>(notesId).send('add', ['evented'])
      await expect.poll(() => events.length, { timeout: 5_000 }).toBe(1)
      expect(events[0]).toMatchObject({
        contractId: notesId,
        name: 'added',
        data: { text: 'evented' },
        txHash: result.txHash,
        block: result.blockNumber,
        logIndex: result.logIndex,
      })
    } finally {
      unwatch()
    }
  })

  it('reads the ledger without an account, and refuses commands with AccountRequiredError', async () => {
    const reader = createClient({ network: cluster.network })
    expect(await reader.contract<typeof Counter>(counterId).query.get()).toBeGreaterThan(0)
    const { total, contracts } = await reader.listContracts()
    expect(total).toBeGreaterThanOrEqual(2n)
    expect(contracts.map((c) => c.id)).toContain(notesId)
    const workers = await reader.getWorkers()
    expect(workers).toHaveLength(2)
    expect(workers.every((w) => w.status === 'active' && w.cluster === 1n && w.measurementAllowed)).toBe(true)
    await expect(reader.contract<typeof Counter>(counterId).command.add(1)).rejects.toBeInstanceOf(
      AccountRequiredError,
    )
    await expect(reader.deploy('x')).rejects.toBeInstanceOf(AccountRequiredError)
    await expect(
      reader.contract<typeof Notes>(notesId, { auth: 'wallet' }).query.whoami(),
    ).rejects.toBeInstanceOf(AccountRequiredError)
  })

  it('reads a contract’s logs for its owner only: commands on every worker, a query’s lines where it ran', async () => {
    const notes = client.contract<typeof Notes>(notesId)
    const added = await notes.send('add', ['logged', ['x']])
    const failed = await notes.send('add', [''])
    expect(failed.ok).toBe(false)
    const asked = await client.query({ contractId: notesId, method: 'title', worker: 1 })
    const hasAll = (entries: ContractLogEntry[]) =>
      entries.some((e) => e.txHash === failed.txHash) && entries.some((e) => e.kind === 'query')
    // Query lines are kept in the background, and worker 1 may commit the last block a moment later.
    await expect
      .poll(async () => hasAll((await client.getLogs({ contractId: notesId, worker: 1 })).entries), {
        timeout: 5_000,
      })
      .toBe(true)
    const one = await client.getLogs({ contractId: notesId, worker: 1 })
    expect(one.worker.url).toBe(asked.worker.url)
    expect(one.entries.map((e) => e.seq)).toEqual(one.entries.map((_, i) => BigInt(i + 1)))
    expect(one.last).toBe(BigInt(one.entries.length))
    expect(one.entries[0]).toMatchObject({
      kind: 'init',
      method: 'init',
      level: 'info',
      message: 'created notes',
    })
    // Commands were sealed, so the owner sees their lines but not which method ran.
    const adding = one.entries.find((e) => e.txHash === added.txHash)
    expect(adding).toMatchObject({ kind: 'command', level: 'info', block: added.blockNumber })
    expect(adding?.method).toBeUndefined()
    expect(adding?.message).toBe('adding note { text: "logged", tags: ["x"] }')
    // A failed command's lines are kept: they say why.
    expect(one.entries.find((e) => e.txHash === failed.txHash)).toMatchObject({
      level: 'warn',
      message: `refusing an empty note from ${CLIENT_ACCOUNT.address}`,
    })
    expect(one.entries.at(-1)).toMatchObject({
      kind: 'query',
      method: 'title',
      level: 'error',
      message: 'title asked by null',
      block: asked.block,
    })
    // Worker 0 ran the same commands but not that query.
    const zero = await client.getLogs({ contractId: notesId, worker: 0 })
    expect(zero.entries.some((e) => e.txHash === failed.txHash)).toBe(true)
    expect(zero.entries.some((e) => e.kind === 'query' && e.message === 'title asked by null')).toBe(false)
    // Paging with a cursor.
    const page = await client.getLogs({ contractId: notesId, worker: 1, after: 1n, limit: 2 })
    expect(page.entries.map((e) => e.seq)).toEqual([2n, 3n])

    // Anyone else is refused, and so is an unsigned request.
    const stranger = createClient({ network: cluster.network, account: devAccount(7) })
    const refused = await stranger.getLogs({ contractId: notesId }).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(ContractCallError)
    expect((refused as ContractCallError).code).toBe('NOT_OWNER')
    const anonymous = await client.query({ contractId: notesId, method: '$logs', args: [{}] })
    expect(anonymous).toMatchObject({ ok: false, error: { code: 'AUTH_REQUIRED' } })
    const bad = await client.query({
      contractId: notesId,
      method: '$logs',
      args: [{ after: -1n }],
      auth: 'wallet',
    })
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENTS' } })
    await expect(client.getLogs({ contractId: notesId, limit: 0 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    )
  })

  it('names unknown contracts, bad ids and unencodable arguments before sending anything', async () => {
    await expect(client.contract<typeof Counter>(9999).query.get()).rejects.toBeInstanceOf(
      ContractNotFoundError,
    )
    await expect(client.contract(9999).send('add', [1])).rejects.toBeInstanceOf(ContractNotFoundError)
    expect(() => client.contract(0)).toThrow(InvalidArgumentError)
    expect(() => client.contract('x1')).toThrow(InvalidArgumentError)
    await expect(client.contract(counterId).send('add', [() => 1])).rejects.toBeInstanceOf(
      InvalidArgumentError,
    )
    await expect(client.contract(counterId).call('get', [new Map()])).rejects.toBeInstanceOf(
      InvalidArgumentError,
    )
    await expect(client.query({ contractId: counterId, method: 'get', worker: 5 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    )
  })

  it('passes a worker’s refusal through as WorkerRequestError with its code', async () => {
    // Seal to some other X25519 key: the worker cannot open the request.
    const otherKey = (await nodeHpke.generateKeyPair()).publicKey
    const misdirected = createClient({
      network: cluster.network,
      hpke: {
        ...nodeHpke,
        setupBaseS: (params) => nodeHpke.setupBaseS({ ...params, recipientPublicKey: otherKey }),
      },
    })
    const error = await misdirected
      .query({ contractId: counterId, method: 'get', worker: 0 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerRequestError)
    expect((error as WorkerRequestError).code).toBe('DECRYPT_FAILED')
    expect((error as WorkerRequestError).status).toBe(400)
  })
})
