import { aeadSeal, generateX25519KeyPair, hpkeCommandInfo, nodeHpke, setupBaseR } from '@veil/crypto'
import { webHpke } from '@veil/crypto/web'
import { decodeValue, type Hex, PayloadFormat } from '@veil/protocol'
import fc from 'fast-check'
import { bytesToHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { sealReceipt } from '../../../runtime/src/follower/executor.js'
import { InvalidArgumentError } from '../errors.js'
import { openCommandReceipt, sealCommand } from './command.js'

const contracts: Hex = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const sender: Hex = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const txHash: Hex = `0x${'ab'.repeat(32)}`

/** What a worker does with a sealed payload (docs/protocol.md), with @veil/crypto's node:crypto HPKE. */
function openAsWorker(payload: Uint8Array, privateKey: Uint8Array, from: Hex, contractId = 7n) {
  expect(payload[0]).toBe(PayloadFormat.sealed)
  expect(payload[1]).toBe(0x01) // AES-128-GCM
  const context = setupBaseR({
    recipientPrivateKey: privateKey,
    enc: payload.subarray(2, 34),
    info: hpkeCommandInfo({ chainId: 31337, contracts, contractId }),
    aead: 'aes-128-gcm',
  })
  const plaintext = context.open(payload.subarray(34), Buffer.from(from.slice(2), 'hex'))
  return {
    call: decodeValue(new TextDecoder().decode(plaintext)),
    receiptKey: context.export('veil/v1/receipt', 16),
  }
}

describe('sealed commands', () => {
  const contractKey = generateX25519KeyPair()
  const seal = (method: string, args: unknown[], contractId = 7n) =>
    sealCommand({
      hpke: webHpke,
      contractPublicKey: contractKey.publicKey,
      chainId: 31337,
      contracts,
      contractId,
      sender,
      method,
      args,
    })

  it('seals { method, args } to the contract key; the worker opens it and derives the same receipt key', async () => {
    const sealed = await seal('add', [5, 'x', 10n, Uint8Array.of(1, 2)])
    const opened = openAsWorker(sealed.payload, contractKey.privateKey, sender)
    expect(opened.call).toEqual({ method: 'add', args: [5, 'x', 10n, Uint8Array.of(1, 2)] })
    expect(bytesToHex(opened.receiptKey)).toBe(bytesToHex(sealed.receiptKey))
  })

  it('does not open in a transaction from another account, nor for another contract', async () => {
    const sealed = await seal('add', [1])
    expect(() =>
      openAsWorker(sealed.payload, contractKey.privateKey, '0x0000000000000000000000000000000000000001'),
    ).toThrow()
    expect(() => openAsWorker(sealed.payload, contractKey.privateKey, sender, 8n)).toThrow()
  })

  it('refuses a bad method name or an unencodable argument with InvalidArgumentError', async () => {
    await expect(seal('not a method', [])).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(seal('add', [new Date()])).rejects.toThrow(/Date/)
    await expect(seal('add', [Number.NaN])).rejects.toBeInstanceOf(InvalidArgumentError)
  })

  it('round-trips any Veil value (property)', async () => {
    const value = fc.letrec((tie) => ({
      leaf: fc.oneof(
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.bigInt(),
        fc.uint8Array(),
      ),
      node: fc.oneof(
        { depthSize: 'small' },
        tie('leaf'),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(fc.string({ maxLength: 5 }), tie('node'), { maxKeys: 3 }),
      ),
    })).node
    await fc.assert(
      fc.asyncProperty(fc.array(value, { maxLength: 4 }), async (args) => {
        const sealed = await seal('m', args)
        expect(openAsWorker(sealed.payload, contractKey.privateKey, sender).call).toEqual({
          method: 'm',
          args,
        })
      }),
      { numRuns: 40 },
    )
  })
})

describe('sealed receipts', () => {
  const receiptKey = Uint8Array.from({ length: 16 }, (_, i) => i)
  const receipt = {
    version: 1 as const,
    kind: 'command' as const,
    txHash,
    blockNumber: 5n,
    blockHash: txHash,
    logIndex: 2,
    contractId: '7',
    seq: 3n,
    sender,
    method: 'add',
    events: [],
    fuel: 10,
    stateDigest: txHash,
  }

  it('opens what the worker seals (runtime sealReceipt): result and error', async () => {
    const ok = sealReceipt({ ...receipt, ok: true, result: { n: 6n } }, receiptKey)
    const sealedOk = Buffer.from(ok.sealed ?? []).toString('base64url')
    expect(
      await openCommandReceipt({ hpke: nodeHpke, receiptKey, txHash, logIndex: 2, sealed: sealedOk }),
    ).toEqual({
      ok: true,
      method: 'add',
      result: { n: 6n },
      events: undefined,
    })
    const failed = sealReceipt(
      { ...receipt, ok: false, error: { code: 'CONTRACT_ERROR', message: 'no' } },
      receiptKey,
    )
    const sealedFailed = Buffer.from(failed.sealed ?? []).toString('base64url')
    expect(
      await openCommandReceipt({ hpke: nodeHpke, receiptKey, txHash, logIndex: 2, sealed: sealedFailed }),
    ).toMatchObject({
      ok: false,
      error: { code: 'CONTRACT_ERROR', message: 'no' },
    })
  })

  it('binds the receipt to its transaction and position, and to the key', async () => {
    const body = new TextEncoder().encode('{"events":[],"method":"add","ok":true,"result":1}')
    const sealed = Buffer.from(
      aeadSeal({
        aead: 'aes-128-gcm',
        key: receiptKey,
        nonce: new Uint8Array(12),
        aad: new TextEncoder().encode(`${txHash}:2`),
        plaintext: body,
      }),
    ).toString('base64url')
    expect(
      await openCommandReceipt({ hpke: nodeHpke, receiptKey, txHash, logIndex: 2, sealed }),
    ).toMatchObject({
      ok: true,
      result: 1,
    })
    await expect(
      openCommandReceipt({ hpke: nodeHpke, receiptKey, txHash, logIndex: 3, sealed }),
    ).rejects.toThrow()
    await expect(
      openCommandReceipt({ hpke: nodeHpke, receiptKey: new Uint8Array(16), txHash, logIndex: 2, sealed }),
    ).rejects.toThrow()
  })
})
