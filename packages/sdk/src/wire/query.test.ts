import {
  aeadSeal,
  generateX25519KeyPair,
  hashAnswerStruct,
  hashQueryCall,
  hashQueryRequest,
  hpkeQueryInfo,
  keccak256,
  merkleTree,
  nodeHpke,
  setupBaseR,
  signAnswer,
  signAnswerBatch,
} from '@veil/crypto'
import { webHpke } from '@veil/crypto/web'
import { base64urlToBytes, decodeValue, encodeValue, type Hex } from '@veil/protocol'
import { bytesToHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { answerSigner, openQueryAnswer, parseQueryAnswer, responseDigest, sealQuery } from './query.js'

const registry: Hex = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const workerKey: Hex = `0x${'11'.repeat(32)}`
const worker = privateKeyToAccount(workerKey)
const domain = { chainId: 31337, verifyingContract: registry }

describe('sealed queries', () => {
  const x25519 = generateX25519KeyPair()
  const nonce = Uint8Array.from({ length: 16 }, (_, i) => i)

  const seal = (extra: { auth?: { type: 'wallet'; address: Hex; signature: Hex } } = {}) =>
    sealQuery({
      hpke: webHpke,
      workerPublicKey: x25519.publicKey,
      chainId: 31337,
      registry,
      worker: worker.address,
      contractId: 3n,
      method: 'get',
      args: [1n, 'a'],
      nonce,
      timestamp: 1_700_000_000_000,
      ...extra,
    })

  const open = (sealed: Awaited<ReturnType<typeof seal>>, ct: string) =>
    openQueryAnswer({
      hpke: nodeHpke,
      responseKey: sealed.responseKey,
      requestDigest: sealed.requestDigest,
      ct,
    })

  /** The worker's side (docs/protocol.md, "Queries"), with @veil/crypto's node:crypto HPKE. */
  function answerAsWorker(body: { enc: string; ct: string }, answer: unknown, block = 42n) {
    const enc = base64urlToBytes(body.enc)
    const ct = base64urlToBytes(body.ct)
    const context = setupBaseR({
      recipientPrivateKey: x25519.privateKey,
      enc,
      info: hpkeQueryInfo({ chainId: 31337, registry, worker: worker.address, contractId: 3n }),
      aead: 'aes-128-gcm',
    })
    const request = decodeValue(new TextDecoder().decode(context.open(ct)))
    const requestDigest = hashQueryRequest(enc, ct)
    const sealed = aeadSeal({
      aead: 'aes-128-gcm',
      key: context.export('veil/v1/response', 16),
      nonce: new Uint8Array(12),
      aad: requestDigest,
      plaintext: new TextEncoder().encode(encodeValue(answer)),
    })
    const signature = signAnswer(workerKey, domain, {
      request: requestDigest,
      response: keccak256(sealed),
      contractId: 3n,
      block,
    })
    return {
      request,
      requestDigest: bytesToHex(requestDigest),
      answer: {
        v: 1,
        worker: worker.address,
        block: String(block),
        ct: Buffer.from(sealed).toString('base64url'),
        signature,
      },
    }
  }

  it('seals { method, args, nonce, timestamp } to the worker; the answer opens and its signature recovers to the worker', async () => {
    const sealed = await seal()
    expect(sealed.body).toMatchObject({ v: 1, contract: '3', aead: 'aes-128-gcm' })
    const { request, requestDigest, answer } = answerAsWorker(sealed.body, { ok: true, result: 7n, fuel: 12 })
    expect(request).toEqual({ method: 'get', args: [1n, 'a'], nonce, timestamp: 1_700_000_000_000 })
    expect(sealed.requestDigest).toBe(requestDigest)
    const parsed = parseQueryAnswer(answer)
    expect(await open(sealed, parsed.ct)).toEqual({ ok: true, result: 7n, fuel: 12 })
    const signer = answerSigner({
      chainId: 31337,
      registry,
      request: sealed.requestDigest,
      response: responseDigest(parsed.ct),
      contractId: 3n,
      block: 42n,
      signature: parsed.signature,
    })
    expect(signer).toBe(worker.address)
  })

  it('carries the caller proof inside the sealed request', async () => {
    const signature: Hex = `0x${'ab'.repeat(65)}`
    const sealed = await seal({ auth: { type: 'wallet', address: worker.address, signature } })
    expect(answerAsWorker(sealed.body, { ok: true, result: null, fuel: 0 }).request).toMatchObject({
      auth: { type: 'wallet', address: worker.address, signature },
    })
  })

  it('rejects an answer for another request, a tampered answer, and a signature over other data', async () => {
    const first = await seal()
    const second = await seal()
    const { answer } = answerAsWorker(first.body, {
      ok: false,
      error: { code: 'CONTRACT_ERROR', message: 'x' },
      fuel: 1,
    })
    await expect(open(second, answer.ct)).rejects.toThrow()
    const tampered = Buffer.from(base64urlToBytes(answer.ct))
    tampered[0] = (tampered[0] ?? 0) ^ 1
    await expect(open(first, tampered.toString('base64url'))).rejects.toThrow()
    const base = {
      chainId: 31337,
      registry,
      request: first.requestDigest,
      response: responseDigest(answer.ct),
      contractId: 3n,
      signature: answer.signature,
    }
    expect(answerSigner({ ...base, block: 43n })).not.toBe(worker.address) // not what was signed
    expect(answerSigner({ ...base, block: 42n, signature: '0x1234' })).toBeUndefined()
  })

  it('opens contract errors from the answer', async () => {
    const sealed = await seal()
    const { answer } = answerAsWorker(sealed.body, {
      ok: false,
      error: { code: 'OUT_OF_FUEL', message: 'fuel' },
      fuel: 9,
    })
    expect(await open(sealed, answer.ct)).toEqual({
      ok: false,
      error: { code: 'OUT_OF_FUEL', message: 'fuel' },
      fuel: 9,
    })
  })

  it('validates the answer envelope field by field', () => {
    const good = { v: 1, worker: worker.address, block: '1', ct: 'AA', signature: `0x${'11'.repeat(65)}` }
    expect(parseQueryAnswer(good)).toEqual(good)
    expect(() => parseQueryAnswer(null)).toThrow(/not an object/)
    expect(() => parseQueryAnswer({ ...good, v: 2 })).toThrow(/"v"/)
    expect(() => parseQueryAnswer({ ...good, worker: 'w' })).toThrow(/"worker"/)
    expect(() => parseQueryAnswer({ ...good, block: 1 })).toThrow(/"block"/)
    expect(() => parseQueryAnswer({ ...good, ct: undefined })).toThrow(/"ct"/)
    expect(() => parseQueryAnswer({ ...good, signature: '0x12' })).toThrow(/"signature"/)
    const proof = [`0x${'22'.repeat(32)}`, `0x${'33'.repeat(32)}`]
    expect(parseQueryAnswer({ ...good, proof })).toEqual({ ...good, proof })
    for (const bad of [[], 'x', ['0x12'], [5], new Array(33).fill(proof[0])]) {
      expect(() => parseQueryAnswer({ ...good, proof: bad })).toThrow(/"proof"/)
    }
  })

  it('verifies an answer signed as one of a batch, with its proof', async () => {
    const sealed = await seal()
    const other = await seal()
    const { answer } = answerAsWorker(sealed.body, { ok: true, result: 1, fuel: 1 })
    const { answer: otherAnswer } = answerAsWorker(other.body, { ok: true, result: 2, fuel: 1 })
    const message = (s: typeof sealed, a: typeof answer) => ({
      request: s.requestDigest,
      response: responseDigest(a.ct),
      contractId: 3n,
      block: 42n,
    })
    const { root, proofs } = merkleTree([
      hashAnswerStruct(message(sealed, answer)),
      hashAnswerStruct(message(other, otherAnswer)),
    ])
    const signature = signAnswerBatch(workerKey, domain, root)
    const proof = (proofs[0] ?? []).map((node) => bytesToHex(node))
    const parsed = parseQueryAnswer({ ...answer, signature, proof })
    const base = { chainId: 31337, registry, ...message(sealed, answer), signature: parsed.signature }
    expect(answerSigner({ ...base, proof: parsed.proof })).toBe(worker.address)
    expect(answerSigner(base)).not.toBe(worker.address) // a batch signature needs its proof
    expect(answerSigner({ ...base, proof: (proofs[1] ?? []).map((node) => bytesToHex(node)) })).not.toBe(
      worker.address,
    )
  })

  it('digests the call for QueryAuth as keccak256 of the canonical { method, args }', () => {
    expect(bytesToHex(hashQueryCall({ method: 'get', args: [1n] }))).toBe(
      bytesToHex(keccak256(new TextEncoder().encode('{"args":[{"$bigint":"1"}],"method":"get"}'))),
    )
  })
})
