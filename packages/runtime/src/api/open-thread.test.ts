import { generateX25519KeyPair, setupBaseR, setupBaseS } from '@veil/crypto'
import { silentLogger } from '@veil/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { OpenThread, RequestNotOpenedError } from './open-thread.js'
import type { OpenParams } from './request-opener.js'

const utf8 = new TextEncoder()
const INFO = 'veil/v1/query/31337/0xregistry/0xworker/1'

/** What the event loop does without the thread. */
function openHere(privateKey: Uint8Array, p: OpenParams) {
  const context = setupBaseR({
    recipientPrivateKey: privateKey,
    enc: p.enc,
    info: utf8.encode(p.infoKey),
    aead: p.aead,
  })
  return { plaintext: context.open(p.ct), key: context.export(p.keyLabel, p.keyLength) }
}

function opener(threads: OpenThread[], privateKey: Uint8Array, calls = { fallback: 0 }) {
  return OpenThread.start({
    x25519PrivateKey: privateKey,
    logger: silentLogger,
    fallback: (p: OpenParams) => {
      calls.fallback++
      return openHere(privateKey, p)
    },
  }).then((t) => {
    threads.push(t)
    return t
  })
}

function sealed(publicKey: Uint8Array, text: string) {
  const context = setupBaseS({ recipientPublicKey: publicKey, info: utf8.encode(INFO), aead: 'aes-128-gcm' })
  const ct = context.seal(utf8.encode(text))
  const params: OpenParams = {
    enc: context.enc,
    ct,
    infoKey: INFO,
    aead: 'aes-128-gcm',
    keyLabel: 'veil/v1/response',
    keyLength: 16,
  }
  return { params, key: context.export('veil/v1/response', 16) }
}

describe('OpenThread', () => {
  const threads: OpenThread[] = []
  afterEach(async () => {
    for (const t of threads.splice(0)) await t.stop()
  })

  it('opens on its thread exactly what the event loop opens', async () => {
    const { privateKey, publicKey } = generateX25519KeyPair()
    const calls = { fallback: 0 }
    const thread = await opener(threads, privateKey, calls)
    expect(thread.threaded).toBe(true)
    const requests = Array.from({ length: 50 }, (_, i) => sealed(publicKey, `query ${i}`))
    const opened = await Promise.all(requests.map((r) => thread.open(r.params)))
    opened.forEach((o, i) => {
      expect(new TextDecoder().decode(o.plaintext)).toBe(`query ${i}`)
      expect(Buffer.from(o.key).equals(Buffer.from(requests[i]?.key ?? []))).toBe(true)
    })
    expect(calls.fallback).toBe(0)
  })

  it('refuses what does not open (tampered, or sealed to another key) and goes on', async () => {
    const { privateKey, publicKey } = generateX25519KeyPair()
    const other = generateX25519KeyPair()
    const thread = await opener(threads, privateKey)
    const tampered = sealed(publicKey, 'x')
    tampered.params.ct[0] = (tampered.params.ct[0] ?? 0) ^ 1
    await expect(thread.open(tampered.params)).rejects.toBeInstanceOf(RequestNotOpenedError)
    await expect(thread.open(sealed(other.publicKey, 'x').params)).rejects.toBeInstanceOf(
      RequestNotOpenedError,
    )
    await expect(
      thread.open({ ...sealed(publicKey, 'x').params, enc: new Uint8Array(3) }),
    ).rejects.toBeInstanceOf(RequestNotOpenedError)
    const ok = await thread.open(sealed(publicKey, 'fine').params)
    expect(new TextDecoder().decode(ok.plaintext)).toBe('fine')
  })

  it('moves to the event loop when the thread dies, the opens in flight included', async () => {
    const { privateKey, publicKey } = generateX25519KeyPair()
    const calls = { fallback: 0 }
    const thread = await opener(threads, privateKey, calls)
    const inFlight = Array.from({ length: 20 }, (_, i) => thread.open(sealed(publicKey, `q${i}`).params))
    // The thread's own handle: terminate it as a crash would end it.
    await (thread as unknown as { thread: { terminate(): Promise<number> } }).thread.terminate()
    const opened = await Promise.all(inFlight)
    expect(opened.map((o) => new TextDecoder().decode(o.plaintext))).toEqual(inFlight.map((_, i) => `q${i}`))
    expect(thread.threaded).toBe(false)
    const after = await thread.open(sealed(publicKey, 'after').params)
    expect(new TextDecoder().decode(after.plaintext)).toBe('after')
    expect(calls.fallback).toBeGreaterThan(0)
  })

  it('finishes the opens in flight when stopped, then opens on the event loop', async () => {
    const { privateKey, publicKey } = generateX25519KeyPair()
    const thread = await opener(threads, privateKey)
    const inFlight = Array.from({ length: 20 }, (_, i) => thread.open(sealed(publicKey, `q${i}`).params))
    await thread.stop()
    expect((await Promise.all(inFlight)).length).toBe(20)
    expect(thread.threaded).toBe(false)
    const after = await thread.open(sealed(publicKey, 'late').params)
    expect(new TextDecoder().decode(after.plaintext)).toBe('late')
  })

  it('falls back to the event loop when the thread does not start in time', async () => {
    const { privateKey, publicKey } = generateX25519KeyPair()
    const thread = await OpenThread.start({
      x25519PrivateKey: privateKey,
      logger: silentLogger,
      startTimeoutMs: 0,
      fallback: (p) => openHere(privateKey, p),
    })
    threads.push(thread)
    expect(thread.threaded).toBe(false)
    const opened = await thread.open(sealed(publicKey, 'here').params)
    expect(new TextDecoder().decode(opened.plaintext)).toBe('here')
  })
})
