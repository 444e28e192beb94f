import { secp256k1 } from '@noble/curves/secp256k1.js'
import { encodeValue } from '@veil/protocol'
import fc from 'fast-check'
import {
  type Address,
  getAddress,
  type Hex,
  hashStruct,
  hashTypedData,
  recoverTypedDataAddress,
  toHex,
  hashDomain as viemHashDomain,
  keccak256 as viemKeccak256,
  recoverAddress as viemRecoverAddress,
} from 'viem'
import { privateKeyToAccount, privateKeyToAddress as viemPrivateKeyToAddress } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import {
  type AnswerMessage,
  hashAnswer,
  hashAnswerBatch,
  hashAnswerStruct,
  hashDomain,
  hashQueryAuth,
  hashQueryCall,
  hashQueryRequest,
  hashSession,
  type QueryAuthMessage,
  recoverAnswerSigner,
  recoverQueryAuth,
  recoverQueryCaller,
  recoverSession,
  type SessionMessage,
  signAnswer,
  signAnswerBatch,
  signQueryAuth,
  signSession,
  VEIL_EIP712_TYPES,
  type VeilDomain,
  veilTypedDataDomain,
} from './eip712.js'
import {
  checksumAddress,
  createTypedHashSigner,
  keccak256,
  privateKeyToAddress,
  publicKeyToAddress,
  recoverAddress,
  SignatureInputError,
  SignatureInvalidError,
  signTypedHash,
} from './ethereum.js'
import { merkleTree } from './merkle.js'

const N = secp256k1.Point.Fn.ORDER
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const hex32 = bytes(32).map((b) => toHex(b))
const address = bytes(20).map((b) => getAddress(toHex(b)))
const uint64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
const privateKey = bytes(32)
  .map((b) => toHex(b))
  .filter((h) => BigInt(h) > 0n && BigInt(h) < N)
const domain = fc.record({
  chainId: fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }), fc.bigInt({ min: 1n, max: (1n << 256n) - 1n })),
  verifyingContract: address,
})
const answer = fc.record({ request: hex32, response: hex32, contractId: uint64, block: uint64 })
const queryAuth = fc.record({
  contractId: uint64,
  call: hex32,
  nonce: bytes(16).map((b) => toHex(b)),
  timestamp: uint64,
  worker: address,
})
const session = fc.record({ key: address, expires: uint64 })
const RUNS = { numRuns: 60 }

const hexOf = (b: Uint8Array) => toHex(b)
const viemDomain = (d: VeilDomain) => ({
  name: 'Veil',
  version: '1',
  chainId: BigInt(d.chainId),
  verifyingContract: d.verifyingContract,
})

describe('EIP-712 hashes equal viem hashTypedData', () => {
  it('domain separator', () => {
    fc.assert(
      fc.property(domain, (d) => {
        expect(hexOf(hashDomain(d))).toBe(
          viemHashDomain({
            domain: viemDomain(d),
            types: {
              EIP712Domain: [
                { name: 'name', type: 'string' },
                { name: 'version', type: 'string' },
                { name: 'chainId', type: 'uint256' },
                { name: 'verifyingContract', type: 'address' },
              ],
            },
          }),
        )
      }),
      RUNS,
    )
  })

  it('Answer', () => {
    fc.assert(
      fc.property(domain, answer, (d, m) => {
        const theirs = hashTypedData({
          domain: viemDomain(d),
          types: VEIL_EIP712_TYPES,
          primaryType: 'Answer',
          message: m,
        })
        expect(hexOf(hashAnswer(d, m))).toBe(theirs)
      }),
      RUNS,
    )
  })

  it('AnswerBatch, and an Answer struct hash (the batch leaf)', () => {
    fc.assert(
      fc.property(domain, answer, hex32, (d, m, root) => {
        const batch = hashTypedData({
          domain: viemDomain(d),
          types: VEIL_EIP712_TYPES,
          primaryType: 'AnswerBatch',
          message: { root },
        })
        expect(hexOf(hashAnswerBatch(d, root))).toBe(batch)
        expect(hexOf(hashAnswerStruct(m))).toBe(
          hashStruct({ types: VEIL_EIP712_TYPES, primaryType: 'Answer', data: m }),
        )
      }),
      RUNS,
    )
  })

  it('QueryAuth', () => {
    fc.assert(
      fc.property(domain, queryAuth, (d, m) => {
        const theirs = hashTypedData({
          domain: viemDomain(d),
          types: VEIL_EIP712_TYPES,
          primaryType: 'QueryAuth',
          message: m,
        })
        expect(hexOf(hashQueryAuth(d, m))).toBe(theirs)
      }),
      RUNS,
    )
  })

  it('Session', () => {
    fc.assert(
      fc.property(domain, session, (d, m) => {
        const theirs = hashTypedData({
          domain: viemDomain(d),
          types: VEIL_EIP712_TYPES,
          primaryType: 'Session',
          message: m,
        })
        expect(hexOf(hashSession(d, m))).toBe(theirs)
      }),
      RUNS,
    )
  })

  it('accepts bytes as well as hex, numbers as well as bigints, any address case', () => {
    const d: VeilDomain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' }
    const m: AnswerMessage = {
      request: `0x${'ab'.repeat(32)}`,
      response: `0x${'cd'.repeat(32)}`,
      contractId: 1n,
      block: 42n,
    }
    const asBytes = {
      ...m,
      request: new Uint8Array(32).fill(0xab),
      response: new Uint8Array(32).fill(0xcd),
      contractId: 1,
      block: 42,
    }
    expect(hashAnswer(d, asBytes)).toEqual(hashAnswer(d, m))
    const lower = { ...d, verifyingContract: d.verifyingContract.toLowerCase() as Address }
    expect(hashAnswer(lower, m)).toEqual(hashAnswer(d, m))
    expect(veilTypedDataDomain(d)).toEqual({
      name: 'Veil',
      version: '1',
      chainId: 31337n,
      verifyingContract: d.verifyingContract,
    })
  })

  it('pins the Answer type hash Registry.sol uses', () => {
    expect(
      hexOf(
        keccak256(
          new TextEncoder().encode('Answer(bytes32 request,bytes32 response,uint64 contractId,uint64 block)'),
        ),
      ),
    ).toBe(viemKeccak256(toHex('Answer(bytes32 request,bytes32 response,uint64 contractId,uint64 block)')))
  })
})

describe('signatures equal viem signTypedData and recover like viem', () => {
  it('signAnswer / signQueryAuth / signSession are byte-identical to viem (RFC 6979) and recover', async () => {
    await fc.assert(
      fc.asyncProperty(privateKey, domain, answer, queryAuth, session, async (key, d, a, q, s) => {
        const account = privateKeyToAccount(key)
        const signer = createTypedHashSigner(key)
        expect(signer.address).toBe(account.address)
        const cases = [
          [signAnswer(key, d, a), 'Answer', a, recoverAnswerSigner(d, a, signAnswer(signer, d, a))],
          [signQueryAuth(key, d, q), 'QueryAuth', q, recoverQueryAuth(d, q, signQueryAuth(signer, d, q))],
          [signSession(key, d, s), 'Session', s, recoverSession(d, s, signSession(signer, d, s))],
        ] as const
        for (const [ours, primaryType, message, recovered] of cases) {
          const typed = {
            domain: viemDomain(d),
            types: VEIL_EIP712_TYPES,
            primaryType,
            message,
          } as Parameters<typeof account.signTypedData>[0]
          expect(ours).toBe(await account.signTypedData(typed))
          expect(recovered).toBe(account.address)
          expect(
            await recoverTypedDataAddress({ ...typed, signature: ours } as Parameters<
              typeof recoverTypedDataAddress
            >[0]),
          ).toBe(account.address)
        }
      }),
      { numRuns: 20 },
    )
  })

  it('a batch signature recovers for every answer of the batch with its proof, and for nothing else', async () => {
    const secret: Hex = `0x${'42'.repeat(32)}`
    const key = privateKeyToAccount(secret)
    const d: VeilDomain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' }
    fc.assert(
      fc.property(fc.array(answer, { minLength: 2, maxLength: 20 }), (answers) => {
        const { root, proofs } = merkleTree(answers.map(hashAnswerStruct))
        const signature = signAnswerBatch(secret, d, root)
        answers.forEach((m, i) => {
          const proof = proofs[i] ?? []
          expect(recoverAnswerSigner(d, m, signature, proof)).toBe(key.address)
          // Another block, or the proof of another answer: some other address (never the worker's).
          expect(recoverAnswerSigner(d, { ...m, block: BigInt(m.block) ^ 1n }, signature, proof)).not.toBe(
            key.address,
          )
          // Without its proof, a batch signature is no Answer signature.
          expect(recoverAnswerSigner(d, m, signature)).not.toBe(key.address)
        })
      }),
      { numRuns: 20 },
    )
    // viem agrees on what was signed.
    const m = {
      request: hexOf(new Uint8Array(32).fill(1)),
      response: hexOf(new Uint8Array(32).fill(2)),
      contractId: 1n,
      block: 9n,
    }
    const other = { ...m, block: 10n }
    const { root } = merkleTree([hashAnswerStruct(m), hashAnswerStruct(other)])
    const signature = signAnswerBatch(secret, d, root)
    expect(
      await recoverTypedDataAddress({
        domain: viemDomain(d),
        types: VEIL_EIP712_TYPES,
        primaryType: 'AnswerBatch',
        message: { root: hexOf(root) },
        signature,
      }),
    ).toBe(key.address)
    expect(() => recoverAnswerSigner(d, m, signature, ['0x12'])).toThrow(SignatureInputError)
    expect(() => recoverAnswerSigner(d, m, signature, new Array(33).fill(hexOf(root)))).toThrow(/at most 32/)
  })

  it('signTypedHash: 65 bytes, v ∈ {27, 28}, low s; recoverAddress agrees with viem', async () => {
    await fc.assert(
      fc.asyncProperty(privateKey, hex32, async (key, hash) => {
        const signature = signTypedHash(key, hash)
        expect(signature).toMatch(/^0x[0-9a-f]{130}$/)
        const v = Number.parseInt(signature.slice(130), 16)
        expect([27, 28]).toContain(v)
        expect(BigInt(`0x${signature.slice(66, 130)}`) <= N / 2n).toBe(true)
        expect(recoverAddress(hash, signature)).toBe(viemPrivateKeyToAddress(key))
        expect(await viemRecoverAddress({ hash, signature })).toBe(viemPrivateKeyToAddress(key))
        expect(await privateKeyToAccount(key).sign({ hash })).toBe(signature)
      }),
      { numRuns: 30 },
    )
  })

  it('recoverAddress rejects what OpenZeppelin ECDSA.recover rejects', () => {
    const key = `0x${'11'.repeat(32)}` as Hex
    const hash = `0x${'22'.repeat(32)}` as Hex
    const signature = signTypedHash(key, hash)
    const r = signature.slice(2, 66)
    const s = BigInt(`0x${signature.slice(66, 130)}`)
    const v = Number.parseInt(signature.slice(130), 16)
    // The malleable twin (r, n - s, v ^ 1) is a valid ECDSA signature, but not accepted.
    const twin = `0x${r}${(N - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}` as Hex
    expect(() => recoverAddress(hash, twin)).toThrow(SignatureInvalidError)
    expect(() => recoverAddress(hash, `${signature.slice(0, 130)}01` as Hex)).toThrow(/v must be 27 or 28/)
    expect(() => recoverAddress(hash, `0x${'00'.repeat(32)}${signature.slice(66)}` as Hex)).toThrow(
      /r is out of range/,
    )
    expect(() => recoverAddress(hash, `0x${r}${N.toString(16)}1b` as Hex)).toThrow(/s is out of range/)
    expect(() => recoverAddress(hash, signature.slice(0, 128) as Hex)).toThrow(SignatureInputError)
    expect(() => recoverAddress(`0x${'22'.repeat(31)}` as Hex, signature)).toThrow(SignatureInputError)
    // A different hash recovers someone else: callers must compare the address.
    expect(recoverAddress(`0x${'23'.repeat(32)}`, signature)).not.toBe(privateKeyToAddress(key))
  })
})

describe('addresses, keccak256 and the request/call digests', () => {
  it('derives addresses like viem, from private and public keys, EIP-55 checksummed', () => {
    fc.assert(
      fc.property(privateKey, (key) => {
        const expected = viemPrivateKeyToAddress(key)
        expect(privateKeyToAddress(key)).toBe(expected)
        const raw = Uint8Array.from(Buffer.from(key.slice(2), 'hex'))
        expect(publicKeyToAddress(secp256k1.getPublicKey(raw, true))).toBe(expected)
        expect(publicKeyToAddress(secp256k1.getPublicKey(raw, false))).toBe(expected)
        expect(checksumAddress(expected.toLowerCase() as Address)).toBe(expected)
        expect(checksumAddress(expected.toUpperCase().replace('0X', '0x') as Address)).toBe(
          getAddress(expected),
        )
      }),
      RUNS,
    )
  })

  it('keccak256 equals viem keccak256', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        expect(hexOf(keccak256(data))).toBe(viemKeccak256(data))
      }),
      RUNS,
    )
  })

  it('request = keccak256(enc ‖ ct); call = keccak256(canonical JSON of { method, args })', () => {
    const enc = new Uint8Array(32).fill(1)
    const ct = new Uint8Array(50).fill(2)
    expect(hexOf(hashQueryRequest(enc, ct))).toBe(viemKeccak256(new Uint8Array([...enc, ...ct])))
    const call = { method: 'balanceOf', args: [1n, { b: new Uint8Array([1]), a: 'x' }] }
    expect(hexOf(hashQueryCall(call))).toBe(
      viemKeccak256(toHex(encodeValue({ method: call.method, args: call.args }))),
    )
    // Canonical: key order does not matter.
    expect(hashQueryCall({ method: 'm', args: [{ a: 1, b: 2 }] })).toEqual(
      hashQueryCall({ method: 'm', args: [{ b: 2, a: 1 }] }),
    )
  })
})

describe('recoverQueryCaller (wallet and session auth)', () => {
  const d: VeilDomain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' }
  const wallet = privateKeyToAccount(`0x${'a1'.repeat(32)}`)
  const sessionKey = `0x${'b2'.repeat(32)}` as Hex
  const sessionAddress = viemPrivateKeyToAddress(sessionKey)
  const query = {
    contractId: 3n,
    call: hexOf(hashQueryCall({ method: 'balance', args: [] })),
    nonce: `0x${'0f'.repeat(16)}`,
    timestamp: 1_700_000_000_000n,
    worker: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  } as const satisfies QueryAuthMessage
  const now = 1_700_000_000

  it('wallet: the signer of the QueryAuth, signed by a real wallet (viem)', async () => {
    const signature = await wallet.signTypedData({
      domain: viemDomain(d),
      types: VEIL_EIP712_TYPES,
      primaryType: 'QueryAuth',
      message: query,
    })
    expect(
      recoverQueryCaller(d, { type: 'wallet', address: wallet.address, signature }, query, { now }),
    ).toBe(wallet.address)
    // Signed by someone else, or for another query: refused, never an arbitrary caller.
    const byOther = signQueryAuth(`0x${'c3'.repeat(32)}`, d, query)
    expect(() =>
      recoverQueryCaller(d, { type: 'wallet', address: wallet.address, signature: byOther }, query, { now }),
    ).toThrow(SignatureInvalidError)
    expect(() =>
      recoverQueryCaller(
        d,
        { type: 'wallet', address: wallet.address, signature },
        { ...query, contractId: 4n },
        { now },
      ),
    ).toThrow(/not made by the address the proof claims/)
  })

  it('session: the wallet behind an unexpired session whose key signed the QueryAuth', async () => {
    const grant = { key: sessionAddress, expires: BigInt(now + 3600) }
    const session = {
      ...grant,
      signature: await wallet.signTypedData({
        domain: viemDomain(d),
        types: VEIL_EIP712_TYPES,
        primaryType: 'Session',
        message: grant,
      }),
    }
    const signature = signQueryAuth(sessionKey, d, query)
    expect(
      recoverQueryCaller(d, { type: 'session', address: wallet.address, session, signature }, query, { now }),
    ).toBe(wallet.address)
    expect(() =>
      recoverQueryCaller(d, { type: 'session', address: wallet.address, session, signature }, query, {
        now: now + 3600,
      }),
    ).toThrow(/expired/)
    const byWallet = signQueryAuth(`0x${'a1'.repeat(32)}`, d, query)
    expect(() =>
      recoverQueryCaller(
        d,
        { type: 'session', address: wallet.address, session, signature: byWallet },
        query,
        { now },
      ),
    ).toThrow(/not signed by the session key/)
    // A session extended after the wallet signed it recovers to some other address (plain ecrecover
    // semantics); since the proof names the wallet, that is refused rather than becoming a caller.
    const longer = { ...session, expires: grant.expires + 1n }
    expect(recoverSession(d, longer, session.signature)).not.toBe(wallet.address)
    expect(() =>
      recoverQueryCaller(d, { type: 'session', address: wallet.address, session: longer, signature }, query, {
        now,
      }),
    ).toThrow(SignatureInvalidError)
  })

  it('names what is malformed', () => {
    const signature = signQueryAuth(sessionKey, d, query)
    const cases: Array<[unknown, string]> = [
      [null, 'auth'],
      [{ type: 'wallet', signature: '0x12' }, 'auth.signature'],
      [{ type: 'oauth', signature }, 'auth.type'],
      [{ type: 'wallet', signature }, 'auth.address'],
      [{ type: 'wallet', address: '0x12', signature }, 'auth.address'],
      [{ type: 'session', signature }, 'auth.session'],
      [{ type: 'session', signature, session: { key: 'k', expires: 1, signature } }, 'auth.session.key'],
      [
        { type: 'session', signature, session: { key: sessionAddress, expires: '1', signature } },
        'auth.session.expires',
      ],
      [
        { type: 'session', signature, session: { key: sessionAddress, expires: 1 } },
        'auth.session.signature',
      ],
    ]
    for (const [auth, argument] of cases) {
      expect(() => recoverQueryCaller(d, auth, query, { now }), argument).toThrow(SignatureInputError)
      try {
        recoverQueryCaller(d, auth, query, { now })
      } catch (error) {
        expect((error as SignatureInputError).argument).toBe(argument)
      }
    }
  })
})

describe('input validation names the argument', () => {
  const d: VeilDomain = { chainId: 1, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' }
  const a: AnswerMessage = {
    request: `0x${'00'.repeat(32)}`,
    response: `0x${'00'.repeat(32)}`,
    contractId: 1n,
    block: 1n,
  }
  const q: QueryAuthMessage = {
    contractId: 1n,
    call: `0x${'00'.repeat(32)}`,
    nonce: `0x${'00'.repeat(16)}`,
    timestamp: 1n,
    worker: d.verifyingContract,
  }
  const s: SessionMessage = { key: d.verifyingContract, expires: 1n }
  const key = `0x${'01'.repeat(32)}` as Hex

  it.each([
    [() => hashAnswer(d, { ...a, contractId: 1n << 64n }), 'message.contractId'],
    [() => hashAnswer(d, { ...a, block: -1n }), 'message.block'],
    [() => hashAnswer(d, { ...a, block: 1.5 }), 'message.block'],
    [() => hashAnswer(d, { ...a, request: '0x1234' }), 'message.request'],
    [() => hashAnswer({ ...d, chainId: -1 }, a), 'domain.chainId'],
    [
      () => hashAnswer({ ...d, verifyingContract: '0x5fbdB2315678afecb367f032d93F642f64180aa3' }, a),
      'domain.verifyingContract',
    ],
    [() => hashAnswer({ ...d, verifyingContract: '0x1234' }, a), 'domain.verifyingContract'],
    [() => hashAnswer(d, null as never), 'message'],
    [() => hashQueryAuth(d, { ...q, nonce: `0x${'00'.repeat(32)}` }), 'message.nonce'],
    [() => hashQueryAuth(d, { ...q, worker: 'worker' as Address }), 'message.worker'],
    [() => hashSession(d, { ...s, key: '0x' as Address }), 'message.key'],
    [() => hashQueryCall({ method: 1 as never, args: [] }), 'call.method'],
    [() => signAnswer(new Uint8Array(31), d, a), 'privateKey'],
    [() => signAnswer(`0x${'00'.repeat(32)}`, d, a), 'privateKey'],
    [() => signAnswer(`0x${N.toString(16)}`, d, a), 'privateKey'],
    [() => signAnswer({} as never, d, a), 'signer'],
    [() => signTypedHash(key, '0x00'), 'hash'],
    [() => publicKeyToAddress(new Uint8Array(33)), 'publicKey'],
    [() => keccak256('abc' as never), 'data'],
  ] as const)('%#: %s', (call, argument) => {
    try {
      call()
      expect.unreachable(`expected ${argument} to be rejected`)
    } catch (error) {
      expect(error).toBeInstanceOf(SignatureInputError)
      expect((error as SignatureInputError).argument).toBe(argument)
      expect((error as SignatureInputError).code).toBe('SIGNATURE_INVALID_INPUT')
    }
  })
})
