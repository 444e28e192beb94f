import { x25519 } from '@noble/curves/ed25519.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  HPKE_EXPORT_LABELS,
  HpkeInputError,
  HpkeOpenError,
  hpkeAeadFromId,
  hpkeCommandInfo,
  hpkeQueryInfo,
} from './hpke.js'
import {
  aeadOpen,
  aeadSeal,
  deriveX25519KeyPair,
  generateX25519KeyPair,
  hpkeOpen,
  hpkeSeal,
  setupBaseR,
  setupBaseS,
  x25519PublicKey,
} from './hpke-node.js'

const text = (s: string) => new TextEncoder().encode(s)

describe('node HPKE, synchronous API', () => {
  it('opens a query and seals its answer without a single await (the worker path)', () => {
    const worker = generateX25519KeyPair()
    const info = hpkeQueryInfo({
      chainId: 31337,
      registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      worker: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      contractId: '1',
    })
    const client = setupBaseS({ recipientPublicKey: worker.publicKey, info, aead: 'aes-128-gcm' })
    const ct = client.seal(text('{"args":[],"method":"get"}'))

    const request = setupBaseR({
      recipientPrivateKey: worker.privateKey,
      enc: client.enc,
      info,
      aead: 'aes-128-gcm',
    })
    expect(request.open(ct)).toEqual(text('{"args":[],"method":"get"}'))
    const key = request.export(HPKE_EXPORT_LABELS.response, 16)
    const answer = aeadSeal({
      aead: 'aes-128-gcm',
      key,
      nonce: new Uint8Array(12),
      plaintext: text('{"ok":true}'),
    })

    const clientKey = client.export(HPKE_EXPORT_LABELS.response, 16)
    expect(
      aeadOpen({ aead: 'aes-128-gcm', key: clientKey, nonce: new Uint8Array(12), ciphertext: answer }),
    ).toEqual(text('{"ok":true}'))
  })

  it('single-shot hpkeSeal / hpkeOpen', () => {
    const key = generateX25519KeyPair()
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom('aes-128-gcm', 'chacha20-poly1305' as const),
        (plaintext, aead) => {
          const sealed = hpkeSeal({ recipientPublicKey: key.publicKey, info: 'one', aead, plaintext })
          expect(hpkeOpen({ recipientPrivateKey: key.privateKey, info: 'one', aead, ...sealed })).toEqual(
            plaintext,
          )
        },
      ),
      { numRuns: 50 },
    )
  })

  it('X25519 keys agree with an independent implementation (@noble/curves)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (privateKey) => {
        expect(x25519PublicKey(privateKey)).toEqual(x25519.getPublicKey(privateKey))
      }),
      { numRuns: 50 },
    )
    const pair = generateX25519KeyPair()
    expect(x25519.getPublicKey(pair.privateKey)).toEqual(pair.publicKey)
    const derived = deriveX25519KeyPair(new Uint8Array(32))
    expect(x25519.getPublicKey(derived.privateKey)).toEqual(derived.publicKey)
  })

  it('a private key array overwritten in place is re-imported, never served stale from the cache', () => {
    const a = generateX25519KeyPair()
    const b = generateX25519KeyPair()
    const key = Uint8Array.from(a.privateKey)
    const toA = hpkeSeal({
      recipientPublicKey: a.publicKey,
      info: '',
      aead: 'aes-128-gcm',
      plaintext: text('a'),
    })
    const toB = hpkeSeal({
      recipientPublicKey: b.publicKey,
      info: '',
      aead: 'aes-128-gcm',
      plaintext: text('b'),
    })
    expect(hpkeOpen({ recipientPrivateKey: key, info: '', aead: 'aes-128-gcm', ...toA })).toEqual(text('a'))
    key.set(b.privateKey)
    expect(hpkeOpen({ recipientPrivateKey: key, info: '', aead: 'aes-128-gcm', ...toB })).toEqual(text('b'))
    expect(() => hpkeOpen({ recipientPrivateKey: key, info: '', aead: 'aes-128-gcm', ...toA })).toThrow(
      HpkeOpenError,
    )
    expect(x25519PublicKey(key)).toEqual(b.publicKey)
  })

  it('does not alias caller buffers: outputs are fresh, inputs are left as they were', () => {
    const key = generateX25519KeyPair()
    const plaintext = text('hello')
    const aad = text('aad')
    const sealed = hpkeSeal({
      recipientPublicKey: key.publicKey,
      info: '',
      aead: 'chacha20-poly1305',
      plaintext,
      aad,
    })
    const ciphertext = Uint8Array.from(sealed.ciphertext)
    const opened = hpkeOpen({
      recipientPrivateKey: key.privateKey,
      info: '',
      aead: 'chacha20-poly1305',
      ...sealed,
      aad,
    })
    opened.fill(0)
    expect(plaintext).toEqual(text('hello'))
    expect(sealed.ciphertext).toEqual(ciphertext)
    expect(aad).toEqual(text('aad'))
  })
})

describe('Veil labels', () => {
  it('builds the query and command info strings of docs/protocol.md', () => {
    expect(
      hpkeQueryInfo({
        chainId: 31337n,
        registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
        worker: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
        contractId: 12,
      }),
    ).toBe(
      'veil/v1/query/31337/0x5fbdb2315678afecb367f032d93f642f64180aa3/0x70997970c51812dc3a010c7d01b50e0d17dc79c8/12',
    )
    expect(
      hpkeCommandInfo({
        chainId: '1',
        contracts: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
        contractId: 3n,
      }),
    ).toBe('veil/v1/command/1/0xe7f1725e7734ce288f8367e1bb143e90bb3f0512/3')
    expect(HPKE_EXPORT_LABELS).toEqual({ receipt: 'veil/v1/receipt', response: 'veil/v1/response' })
  })

  it('maps the sealed-payload AEAD byte', () => {
    expect(hpkeAeadFromId(0x01)).toBe('aes-128-gcm')
    expect(hpkeAeadFromId(0x03)).toBe('chacha20-poly1305')
    expect(hpkeAeadFromId(0xffff)).toBe('export-only')
    expect(hpkeAeadFromId(0x02)).toBeUndefined()
  })

  it('names the bad argument', () => {
    const registry = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
    const cases: Array<[() => unknown, string]> = [
      [() => hpkeQueryInfo({ chainId: -1, registry, worker: registry, contractId: 1 }), 'chainId'],
      [() => hpkeQueryInfo({ chainId: 1, registry: '0x12', worker: registry, contractId: 1 }), 'registry'],
      [() => hpkeQueryInfo({ chainId: 1, registry, worker: 'me' as never, contractId: 1 }), 'worker'],
      [() => hpkeQueryInfo({ chainId: 1, registry, worker: registry, contractId: '01' }), 'contractId'],
      [() => hpkeCommandInfo({ chainId: 1.5, contracts: registry, contractId: 1 }), 'chainId'],
      [() => hpkeCommandInfo({ chainId: 1, contracts: registry, contractId: 'a/b' }), 'contractId'],
    ]
    for (const [call, argument] of cases) {
      expect(call).toThrow(HpkeInputError)
      try {
        call()
      } catch (error) {
        expect((error as HpkeInputError).argument).toBe(argument)
      }
    }
  })
})
