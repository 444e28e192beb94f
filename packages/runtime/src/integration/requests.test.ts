import {
  aeadOpen,
  hashQueryCall,
  hashQueryRequest,
  hpkeCommandInfo,
  hpkeQueryInfo,
  keccak256,
  recoverAnswerSigner,
  setupBaseS,
  signQueryAuth,
} from '@veil/crypto'
import { Registry } from '@veil/ledger'
import { base64urlToBytes, bytesToBase64url, decodeValue, encodeValue, type Hex } from '@veil/protocol'
import { concat, hexToBytes, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONTRACTS, startTestCluster, type TestCluster, type TestWorker } from '../testing/cluster.js'

const utf8 = new TextEncoder()
const text = new TextDecoder()

interface Info {
  address: Hex
  x25519: Hex
}

describe('confidential requests against live workers', () => {
  let cluster: TestCluster
  let counter: bigint
  let a: Info & { url: string }
  let b: Info & { url: string }

  beforeAll(async () => {
    cluster = await startTestCluster({ workers: 2 })
    counter = await cluster.deploy(CONTRACTS.counter, { start: 7 })
    await cluster.settle()
    const infos = await Promise.all(
      cluster.workers.map(async (w) => ({
        url: w.worker.url,
        ...((await (await fetch(`${w.worker.url}/v1/info`)).json()) as Info),
      })),
    )
    ;[a, b] = infos as [typeof a, typeof b]
  }, 120_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  /** Seals a query for `to` (and sends it to `sendTo`, by default the same worker). */
  function sealQuery(
    to: Info,
    method: string,
    args: unknown[],
    extra: Record<string, unknown> = {},
    timestamp = Date.now(),
  ) {
    const nonce: Uint8Array = crypto.getRandomValues(new Uint8Array(16))
    const context = setupBaseS({
      recipientPublicKey: hexToBytes(to.x25519),
      info: hpkeQueryInfo({
        chainId: 31337,
        registry: cluster.ledger.addresses.registry,
        worker: to.address,
        contractId: String(counter),
      }),
      aead: 'aes-128-gcm',
    })
    const ct = context.seal(utf8.encode(encodeValue({ method, args, nonce, timestamp, ...extra })))
    const body = {
      v: 1,
      contract: String(counter),
      aead: 'aes-128-gcm',
      enc: bytesToBase64url(context.enc),
      ct: bytesToBase64url(ct),
    }
    return { body, context, nonce, enc: context.enc, ct }
  }

  async function post(url: string, body: unknown) {
    const response = await fetch(`${url}/v1/query`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    })
    return { status: response.status, json: (await response.json()) as Record<string, unknown> }
  }

  function openAnswer(sealed: ReturnType<typeof sealQuery>, answer: Record<string, unknown>) {
    const key = sealed.context.export('veil/v1/response', 16)
    const plain = aeadOpen({
      aead: 'aes-128-gcm',
      key,
      nonce: new Uint8Array(12),
      aad: hashQueryRequest(sealed.enc, sealed.ct),
      ciphertext: base64urlToBytes(answer.ct as string),
    })
    return decodeValue(text.decode(plain)) as {
      ok: boolean
      result?: unknown
      error?: { code: string }
      fuel: number
    }
  }

  /** The `Answer` a worker signed for `sealed` and its answer `json`. */
  function answerMessage(sealed: ReturnType<typeof sealQuery>, json: Record<string, unknown>) {
    return {
      request: toHex(hashQueryRequest(sealed.enc, sealed.ct)),
      response: toHex(keccak256(base64urlToBytes(json.ct as string))),
      contractId: counter,
      block: BigInt(json.block as string),
    }
  }

  /** `Registry.verifyAnswer`, or `verifyBatchedAnswer` given a proof: the signer, or a revert. */
  function verifyOnChain(message: ReturnType<typeof answerMessage>, signature: Hex, proof?: Hex[]) {
    const fields = [message.request, message.response, message.contractId, message.block] as const
    const call = { address: cluster.ledger.addresses.registry, abi: Registry.abi }
    return proof
      ? cluster.ledger.publicClient.readContract({
          ...call,
          functionName: 'verifyBatchedAnswer',
          args: [...fields, proof, signature],
        })
      : cluster.ledger.publicClient.readContract({
          ...call,
          functionName: 'verifyAnswer',
          args: [...fields, signature],
        })
  }

  const forged = (message: ReturnType<typeof answerMessage>) => ({
    ...message,
    response: toHex(keccak256(utf8.encode('forged'))),
  })

  it('answers a sealed query with a sealed result, signed by the worker, verifiable on chain', async () => {
    const sealed = sealQuery(a, 'get', [])
    const { status, json } = await post(a.url, sealed.body)
    expect(status).toBe(200)
    expect(json).toMatchObject({ v: 1, worker: a.address })
    expect(json.proof).toBeUndefined() // alone in its turn: a plain Answer signature
    expect(openAnswer(sealed, json)).toMatchObject({ ok: true, result: 7 })

    const message = answerMessage(sealed, json)
    const signature = json.signature as Hex
    const domain = { chainId: 31337, verifyingContract: cluster.ledger.addresses.registry }
    expect(recoverAnswerSigner(domain, message, signature).toLowerCase()).toBe(a.address.toLowerCase())
    expect((await verifyOnChain(message, signature)).toLowerCase()).toBe(a.address.toLowerCase())
    // A forged answer (another response digest) does not verify as an active worker.
    await expect(verifyOnChain(forged(message), signature)).rejects.toThrow(/NotActiveWorker/)
  })

  it('signs the answers of one turn once: each verifies with its proof, in TypeScript and on chain', async () => {
    const domain = { chainId: 31337, verifyingContract: cluster.ledger.addresses.registry }
    // Queries that arrive together are answered in one event-loop turn and signed as one batch.
    let batched: { sealed: ReturnType<typeof sealQuery>; json: Record<string, unknown> }[] = []
    for (let attempt = 0; attempt < 20 && batched.length < 2; attempt++) {
      const sent = Array.from({ length: 12 }, () => sealQuery(a, 'get', []))
      const answers = await Promise.all(sent.map((sealed) => post(a.url, sealed.body)))
      batched = answers
        .map(({ json }, i) => ({ sealed: sent[i] as ReturnType<typeof sealQuery>, json }))
        .filter(({ json }) => Array.isArray(json.proof))
    }
    expect(batched.length).toBeGreaterThanOrEqual(2)
    for (const { sealed, json } of batched) {
      expect(openAnswer(sealed, json)).toMatchObject({ ok: true, result: 7 })
      const proof = json.proof as Hex[]
      const signature = json.signature as Hex
      const message = answerMessage(sealed, json)
      expect(recoverAnswerSigner(domain, message, signature, proof).toLowerCase()).toBe(
        a.address.toLowerCase(),
      )
      expect((await verifyOnChain(message, signature, proof)).toLowerCase()).toBe(a.address.toLowerCase())
      // A batch signature is no Answer signature, and a forged response does not verify either.
      await expect(verifyOnChain(message, signature)).rejects.toThrow(/NotActiveWorker|ECDSA/)
      await expect(verifyOnChain(forged(message), signature, proof)).rejects.toThrow(/NotActiveWorker|ECDSA/)
    }
  })

  it('refuses tampered, replayed, stale and misdirected requests with clean codes', async () => {
    const tampered = sealQuery(a, 'get', [])
    const ct = base64urlToBytes(tampered.body.ct)
    ct[3] = (ct[3] ?? 0) ^ 1
    expect(await post(a.url, { ...tampered.body, ct: bytesToBase64url(ct) })).toMatchObject({
      status: 400,
      json: { error: { code: 'DECRYPT_FAILED' } },
    })

    const once = sealQuery(a, 'get', [])
    expect((await post(a.url, once.body)).status).toBe(200)
    expect(await post(a.url, once.body)).toMatchObject({ status: 400, json: { error: { code: 'REPLAYED' } } })

    const stale = sealQuery(a, 'get', [], {}, Date.now() - 5 * 60_000)
    expect(await post(a.url, stale.body)).toMatchObject({
      status: 400,
      json: { error: { code: 'STALE_REQUEST' } },
    })

    const forB = sealQuery(b, 'get', [])
    expect(await post(a.url, forB.body)).toMatchObject({
      status: 400,
      json: { error: { code: 'DECRYPT_FAILED' } },
    })

    expect(await post(a.url, { v: 1, contract: String(counter), enc: '!!', ct: 'AA' })).toMatchObject({
      status: 400,
      json: { error: { code: 'BAD_ENCODING' } },
    })
    expect(await post(a.url, { v: 2 })).toMatchObject({
      status: 400,
      json: { error: { code: 'BAD_REQUEST' } },
    })
    expect(await post(a.url, { ...sealQuery(a, 'get', []).body, contract: '999' })).toMatchObject({
      status: 404,
      json: { error: { code: 'UNKNOWN_CONTRACT' } },
    })
  })

  it('proves the caller with a wallet signature, and refuses a forged one', async () => {
    const wallet = cluster.ledger.as(3).account
    const domain = { chainId: 31337, verifyingContract: cluster.ledger.addresses.registry }
    const authFor = (nonce: Uint8Array, timestamp: number, signerKey: Hex) => ({
      type: 'wallet',
      address: wallet.address,
      signature: signQueryAuth(signerKey, domain, {
        contractId: counter,
        call: hashQueryCall({ method: 'whoami', args: [] }),
        nonce,
        timestamp: BigInt(timestamp),
        worker: a.address,
      }),
    })
    const key = toHex(wallet.getHdKey().privateKey ?? new Uint8Array(32))
    const timestamp = Date.now()
    const nonce = crypto.getRandomValues(new Uint8Array(16))
    const sealed = sealQueryWith(a, 'whoami', [], nonce, timestamp, { auth: authFor(nonce, timestamp, key) })
    const { status, json } = await post(a.url, sealed.body)
    expect(status).toBe(200)
    expect(openAnswer(sealed, json)).toMatchObject({ ok: true, result: wallet.address })

    const other = toHex(cluster.ledger.as(4).account.getHdKey().privateKey ?? new Uint8Array(32))
    const nonce2 = crypto.getRandomValues(new Uint8Array(16))
    const forged = sealQueryWith(a, 'whoami', [], nonce2, timestamp, {
      auth: authFor(nonce2, timestamp, other),
    })
    expect(await post(a.url, forged.body)).toMatchObject({
      status: 400,
      json: { error: { code: 'AUTH_INVALID' } },
    })

    const anonymous = sealQuery(a, 'whoami', [])
    expect(openAnswer(anonymous, (await post(a.url, anonymous.body)).json)).toMatchObject({
      ok: true,
      result: null,
    })
  })

  function sealQueryWith(
    to: Info,
    method: string,
    args: unknown[],
    nonce: Uint8Array,
    timestamp: number,
    extra: Record<string, unknown>,
  ) {
    const context = setupBaseS({
      recipientPublicKey: hexToBytes(to.x25519),
      info: hpkeQueryInfo({
        chainId: 31337,
        registry: cluster.ledger.addresses.registry,
        worker: to.address,
        contractId: String(counter),
      }),
      aead: 'aes-128-gcm',
    })
    const ct = context.seal(utf8.encode(encodeValue({ method, args, nonce, timestamp, ...extra })))
    return {
      body: {
        v: 1,
        contract: String(counter),
        aead: 'aes-128-gcm',
        enc: bytesToBase64url(context.enc),
        ct: bytesToBase64url(ct),
      },
      context,
      nonce,
      enc: context.enc,
      ct,
    }
  }

  it('runs a sealed command; only the sender can open its receipt; a copied payload does not open for another sender', async () => {
    const { ledger } = cluster
    let contractKey: Hex = `0x${'00'.repeat(32)}`
    for (let i = 0; i < 100 && /^0x0+$/.test(contractKey); i++) {
      contractKey = (await ledger.owner.contracts.read.getContract([counter])).x25519PublicKey
      if (/^0x0+$/.test(contractKey)) await new Promise((r) => setTimeout(r, 50))
    }
    expect(contractKey).not.toMatch(/^0x0+$/)
    const sender = ledger.as(1).account.address
    const context = setupBaseS({
      recipientPublicKey: hexToBytes(contractKey),
      info: hpkeCommandInfo({
        chainId: 31337,
        contracts: ledger.addresses.contracts,
        contractId: String(counter),
      }),
      aead: 'aes-128-gcm',
    })
    const ct = context.seal(utf8.encode(encodeValue({ method: 'add', args: [5] })), hexToBytes(sender))
    const payload = toHex(concat([new Uint8Array([0x01, 0x01]), context.enc, ct]))
    const submit = async (from: number) => {
      const hash = await ledger.as(from).ledger.commands.write.submit([counter, payload])
      await ledger.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 })
      return hash
    }
    const tx = await submit(1)
    await cluster.settle()
    const response = (await (await fetch(`${a.url}/v1/receipts/${tx}`)).json()) as {
      receipts: Record<string, unknown>[]
    }
    const entry = response.receipts[0] ?? {}
    expect(entry.result).toBeUndefined() // nothing in clear
    expect(entry.ok).toBeUndefined()
    const receiptKey = context.export('veil/v1/receipt', 16)
    const body = decodeValue(
      text.decode(
        aeadOpen({
          aead: 'aes-128-gcm',
          key: receiptKey,
          nonce: new Uint8Array(12),
          aad: utf8.encode(`${tx.toLowerCase()}:${entry.logIndex}`),
          ciphertext: base64urlToBytes(entry.sealed as string),
        }),
      ),
    )
    expect(body).toMatchObject({ ok: true, method: 'add', result: 12 })
    // Both workers serve identical bytes.
    const fromB = (await (await fetch(`${b.url}/v1/receipts/${tx}`)).json()) as typeof response
    expect(fromB.receipts[0]?.sealed).toBe(entry.sealed)

    const copied = await submit(2) // the same sealed payload, from someone else
    await cluster.settle()
    const copyReceipt = (cluster.workers[0] as TestWorker).receipts.find((r) => r.txHash === copied)
    expect(copyReceipt?.error?.code).toBe('INVALID_PAYLOAD')
  })
})
