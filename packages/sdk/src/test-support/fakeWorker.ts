/**
 * TEST SUPPORT. A worker that lives in an injected `fetch`: it speaks the wire protocol with real crypto
 * but can be told to misbehave (sign with the wrong key, garble answers, never have a receipt), for the
 * failure paths a real worker does not produce. Registered on a real ledger by `registerFakeWorker`.
 */

import { createSimulatedQuote, reportDataFromHash } from '@veil/attestation'
import {
  aeadSeal,
  generateX25519KeyPair,
  hashAnswer,
  hashQueryRequest,
  hpkeQueryInfo,
  keccak256,
  setupBaseR,
} from '@veil/crypto'
import { reportData } from '@veil/ledger'
import type { TestLedger } from '@veil/ledger/testing'
import { base64urlToBytes, bytesToBase64url, decodeValue, encodeValue, type Hex } from '@veil/protocol'
import { bytesToHex, hexToBytes } from 'viem'
import type { LocalAccount } from 'viem/accounts'
import type { FetchFn } from '../workers/http.js'

export interface FakeWorkerBehaviour {
  /** What queries return (default `{ ok: true, result: 1, fuel: 1 }`). */
  answer?: unknown
  /** Sign answers with this account instead of the worker's identity. */
  signWith?: LocalAccount | undefined
  /** Replace the sealed answer with random bytes. */
  garble?: boolean | undefined
  /** Answer every request with this status and protocol error. */
  fail?: { status: number; code: string } | undefined
  /** The receipts JSON for a transaction (default: 404 RECEIPT_NOT_FOUND). */
  receipts?: ((txHash: string) => unknown) | undefined
  /** X25519 key reported by /v1/info (default: the real one). */
  reportKey?: Hex | undefined
}

export interface FakeWorker {
  url: string
  identity: LocalAccount
  x25519PublicKey: Hex
  /** Its simulated quote, binding its keys (registered, and served at /v1/info). */
  quote: Uint8Array
  behaviour: FakeWorkerBehaviour
  requests: string[]
}

const MEASUREMENT: Hex = `0x${'5e'.repeat(32)}`

/** Registers `identity` as an active worker of `cluster` (creating clusters as needed) on a test ledger. */
export async function registerFakeWorker(
  ledger: TestLedger,
  identityIndex: number,
  url: string,
  cluster = 1n,
): Promise<FakeWorker> {
  const x25519 = generateX25519KeyPair()
  const owner = ledger.owner
  const wait = async (hash: Hex) => {
    await ledger.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 })
  }
  const ownerAddress = ledger.as(0).account.address
  if (!(await owner.registry.read.isKmsSigner([ownerAddress])))
    await wait(await owner.registry.write.addKmsSigner([ownerAddress]))
  if (!(await owner.registry.read.measurementAllowed([MEASUREMENT])))
    await wait(await owner.registry.write.allowMeasurement([MEASUREMENT]))
  while ((await owner.registry.read.clusterCount()) < cluster)
    await wait(await owner.registry.write.createCluster())
  const { account, ledger: as } = ledger.as(identityIndex)
  const binding = reportData(account.address, x25519.publicKey, 31337, ledger.addresses.registry)
  const quote = createSimulatedQuote(hexToBytes(MEASUREMENT), reportDataFromHash(hexToBytes(binding)))
  await wait(
    await as.registry.write.registerWorker([
      bytesToHex(x25519.publicKey),
      url,
      MEASUREMENT,
      account.address,
      bytesToHex(quote),
    ]),
  )
  await wait(await owner.registry.write.approveWorker([account.address]))
  await wait(await owner.registry.write.addClusterMember([cluster, account.address]))
  const worker: FakeWorker & { privateKey: Uint8Array } = {
    url,
    identity: account,
    x25519PublicKey: bytesToHex(x25519.publicKey),
    quote,
    privateKey: x25519.privateKey,
    behaviour: {},
    requests: [],
  }
  workers.set(url, worker)
  return worker
}

const workers = new Map<string, FakeWorker & { privateKey: Uint8Array }>()

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

/** A `fetch` that routes to the fake workers registered with `registerFakeWorker` (by URL). */
export function fakeWorkersFetch(chainId: number, registry: Hex): FetchFn {
  return async (input, init) => {
    const url = new URL(input)
    const worker = workers.get(url.origin)
    if (!worker) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } })
    worker.requests.push(`${init?.method ?? 'GET'} ${url.pathname}`)
    const { behaviour } = worker
    if (url.pathname === '/v1/info') {
      return json(200, {
        version: 'fake',
        address: worker.identity.address,
        x25519: behaviour.reportKey ?? worker.x25519PublicKey,
        measurement: MEASUREMENT,
        cluster: '1',
        chain: { block: '1', hash: null },
        stateDigest: null,
        tee: 'simulated',
        quote: bytesToBase64url(worker.quote),
      })
    }
    if (behaviour.fail)
      return json(behaviour.fail.status, { ok: false, error: { code: behaviour.fail.code, message: 'fake' } })
    if (url.pathname.startsWith('/v1/receipts/')) {
      const txHash = url.pathname.slice('/v1/receipts/'.length)
      const receipts = behaviour.receipts?.(txHash)
      return receipts === undefined
        ? json(404, { ok: false, error: { code: 'RECEIPT_NOT_FOUND', message: 'not yet' } })
        : json(200, receipts)
    }
    if (url.pathname === '/v1/query') {
      const body = JSON.parse(String(init?.body)) as { contract: string; enc: string; ct: string }
      const enc = base64urlToBytes(body.enc)
      const ct = base64urlToBytes(body.ct)
      const context = setupBaseR({
        recipientPrivateKey: worker.privateKey,
        enc,
        info: hpkeQueryInfo({
          chainId,
          registry,
          worker: worker.identity.address,
          contractId: body.contract,
        }),
        aead: 'aes-128-gcm',
      })
      decodeValue(new TextDecoder().decode(context.open(ct)))
      const request = hashQueryRequest(enc, ct)
      let sealed = aeadSeal({
        aead: 'aes-128-gcm',
        key: context.export('veil/v1/response', 16),
        nonce: new Uint8Array(12),
        aad: request,
        plaintext: new TextEncoder().encode(
          encodeValue(behaviour.answer ?? { ok: true, result: 1, fuel: 1 }),
        ),
      })
      if (behaviour.garble) sealed = crypto.getRandomValues(new Uint8Array(sealed.length))
      const message = { request, response: keccak256(sealed), contractId: BigInt(body.contract), block: 7n }
      const signer = behaviour.signWith ?? worker.identity
      if (!signer.sign) throw new Error('the signer cannot sign hashes')
      const signature = await signer.sign({
        hash: bytesToHex(hashAnswer({ chainId, verifyingContract: registry }, message)),
      })
      return json(200, {
        v: 1,
        worker: worker.identity.address,
        block: '7',
        ct: Buffer.from(sealed).toString('base64url'),
        signature,
      })
    }
    return json(404, { ok: false, error: { code: 'NOT_FOUND', message: 'no route' } })
  }
}
