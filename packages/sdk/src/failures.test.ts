import { generateX25519KeyPair } from '@veil/crypto'
import { devAccount } from '@veil/ledger'
import { startTestLedger, type TestLedger } from '@veil/ledger/testing'
import { bytesToHex } from 'viem'
import { getTransactionReceipt } from 'viem/actions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lastCommandBlock, noteCommandBlock } from './client/writes.js'
import {
  AnswerSignatureError,
  ContractKeyTimeoutError,
  createClient,
  NoWorkersError,
  ReceiptTimeoutError,
  ResponseIntegrityError,
  type VeilClient,
  WorkersUnavailableError,
  WorkerVerificationError,
} from './node.js'
import { type FakeWorker, fakeWorkersFetch, registerFakeWorker } from './test-support/fakeWorker.js'

/**
 * Failure paths against a real ledger (anvil) and workers that misbehave on purpose: they live in an
 * injected `fetch` and speak the protocol with real crypto, except where told otherwise.
 */
describe('SDK failure paths', () => {
  let ledger: TestLedger
  let client: VeilClient
  let worker: FakeWorker
  let contractId: bigint
  const contractKey = generateX25519KeyPair()

  beforeAll(async () => {
    ledger = await startTestLedger()
    worker = await registerFakeWorker(ledger, 5, 'http://fake-worker-5.test')
    const options = {
      rpcUrl: ledger.anvil.rpcUrl,
      addresses: ledger.addresses,
      fetch: fakeWorkersFetch(31337, ledger.addresses.registry),
      pollingIntervalMs: 20,
    }
    client = createClient({ ...options, account: devAccount(1) })
    contractId = (await client.deploy('globalThis.__veilModule = { default: {} }')).contractId
  }, 60_000)
  afterAll(async () => {
    await ledger?.stop()
  })

  it('reads the chain id from the RPC when neither it nor a network file is given', async () => {
    expect(await client.getChainId()).toBe(31337)
  })

  it('throws ContractKeyTimeoutError when the contract’s key is never published', async () => {
    const started = Date.now()
    const error = await client
      .sendCommand({ contractId, method: 'add', args: [1], keyTimeoutMs: 150 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ContractKeyTimeoutError)
    expect((error as ContractKeyTimeoutError).code).toBe('CONTRACT_KEY_TIMEOUT')
    expect((error as Error).message).toContain(`contract ${contractId} has no published encryption key`)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('throws ReceiptTimeoutError when no worker ever has the receipt; the command is on chain', async () => {
    await ledger.publicClient.waitForTransactionReceipt({
      hash: await ledger.owner.contracts.write.setContractKeys([
        contractId,
        bytesToHex(contractKey.publicKey),
        devAccount(7).address,
      ]),
    })
    const error = await client
      .sendCommand({ contractId, method: 'add', args: [1], receiptTimeoutMs: 300 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ReceiptTimeoutError)
    const txHash = (error as ReceiptTimeoutError).txHash
    expect((await getTransactionReceipt(client.chainClient, { hash: txHash })).status).toBe('success')
    expect(worker.requests).toContain(`GET /v1/receipts/${txHash}`)
  })

  it('refuses a receipt that does not open with the command’s key (ResponseIntegrityError)', async () => {
    worker.behaviour.receipts = () => ({
      v: 1,
      receipts: [
        {
          logIndex: 0,
          contract: String(contractId),
          fuel: 1,
          stateDigest: '0x',
          sealed: 'AAAAAAAAAAAAAAAAAAAAAA',
        },
      ],
    })
    try {
      await expect(client.sendCommand({ contractId, method: 'add', args: [1] })).rejects.toBeInstanceOf(
        ResponseIntegrityError,
      )
    } finally {
      worker.behaviour.receipts = undefined
    }
  })

  it('rejects an answer signed by anyone but the worker (AnswerSignatureError), unless asked to report it', async () => {
    worker.behaviour.signWith = devAccount(8)
    try {
      const error = await client.query({ contractId, method: 'get' }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AnswerSignatureError)
      expect(error).toMatchObject({ code: 'ANSWER_SIGNATURE_INVALID', signer: devAccount(8).address })
      const reported = await client.query({ contractId, method: 'get', allowInvalidSignature: true })
      expect(reported).toMatchObject({ ok: true, result: 1, signatureValid: false })
    } finally {
      worker.behaviour.signWith = undefined
    }
    expect(await client.query({ contractId, method: 'get' })).toMatchObject({
      ok: true,
      signatureValid: true,
      block: 7n,
    })
  })

  it('does not let a query read from before the client’s own last command (read-your-writes)', async () => {
    const make = () =>
      createClient({
        rpcUrl: ledger.anvil.rpcUrl,
        addresses: ledger.addresses,
        fetch: fakeWorkersFetch(31337, ledger.addresses.registry),
        pollingIntervalMs: 20,
        requestTimeoutMs: 300,
      })
    // The fake worker answers at block 7.
    const caughtUp = make()
    noteCommandBlock(caughtUp, contractId, 7n)
    expect(await caughtUp.query({ contractId, method: 'get' })).toMatchObject({ ok: true, block: 7n })
    const ahead = make()
    noteCommandBlock(ahead, contractId, 8n)
    const started = Date.now()
    const error = await ahead.query({ contractId, method: 'get' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkersUnavailableError)
    expect((error as WorkersUnavailableError).attempts.map((a) => (a as { code?: string }).code)).toContain(
      'BEHIND',
    )
    expect(Date.now() - started).toBeGreaterThanOrEqual(250) // it waited for the worker to catch up
    // Another contract is not held back by this one's command.
    expect(lastCommandBlock(ahead, contractId + 1n)).toBeUndefined()
  })

  it('rejects an answer that does not decrypt (ResponseIntegrityError)', async () => {
    worker.behaviour.garble = true
    try {
      await expect(client.query({ contractId, method: 'get' })).rejects.toBeInstanceOf(ResponseIntegrityError)
    } finally {
      worker.behaviour.garble = false
    }
  })

  it('reports WorkersUnavailableError with the cause when every worker is down or overloaded', async () => {
    worker.behaviour.fail = { status: 503, code: 'OVERLOADED' }
    try {
      const error = await client.query({ contractId, method: 'get' }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(WorkersUnavailableError)
      expect((error as WorkersUnavailableError).attempts[0]?.message).toContain('OVERLOADED')
    } finally {
      worker.behaviour.fail = undefined
    }
  })

  it('does not use a worker whose endpoint reports other keys than the registry (WorkerVerificationError)', async () => {
    const strict = createClient({
      rpcUrl: ledger.anvil.rpcUrl,
      addresses: ledger.addresses,
      fetch: fakeWorkersFetch(31337, ledger.addresses.registry),
    })
    worker.behaviour.reportKey = `0x${'77'.repeat(32)}`
    try {
      const error = await strict.query({ contractId, method: 'get' }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(WorkersUnavailableError)
      const refusal = (error as WorkersUnavailableError).attempts[0]
      expect(refusal).toBeInstanceOf(WorkerVerificationError)
      expect(refusal?.details).toContain('X25519 key')
      expect(worker.requests.filter((r) => r === 'POST /v1/query').length).toBeGreaterThan(0)
    } finally {
      worker.behaviour.reportKey = undefined
    }
  })

  it('accepts a custom verifyWorker hook, and refuses workers it rejects', async () => {
    const seen: string[] = []
    const custom = createClient({
      rpcUrl: ledger.anvil.rpcUrl,
      addresses: ledger.addresses,
      fetch: fakeWorkersFetch(31337, ledger.addresses.registry),
      verifyWorker: ({ registered, info }) => {
        seen.push(`${registered.address}:${info.version}`)
        throw new Error('no quote')
      },
    })
    const error = await custom.query({ contractId, method: 'get' }).catch((e: unknown) => e)
    expect((error as WorkersUnavailableError).attempts[0]?.details).toBe('no quote')
    expect(seen).toEqual([`${worker.identity.address}:fake`])
  })

  it('throws NoWorkersError for a contract whose cluster has no workers', async () => {
    await ledger.publicClient.waitForTransactionReceipt({
      hash: await ledger.owner.registry.write.createCluster(),
    })
    const lonely = await client.deploy('globalThis.__veilModule = { default: {} }', { cluster: 2 })
    const error = await client
      .query({ contractId: lonely.contractId, method: 'get' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NoWorkersError)
    expect(error).toMatchObject({ code: 'NO_WORKERS', cluster: 2n })
  })
})
