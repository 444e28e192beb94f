import { hkdfSync } from 'node:crypto'
import { extract } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  DERIVATION_SALT,
  deriveClusterSecret,
  deriveContractEncryptionSeed,
  deriveContractRandomSeed,
  deriveContractSecret,
  deriveContractSigningSeed,
  deriveContractStateKey,
  deriveContractUserKey,
  deriveSecret,
  hkdfSha256,
  isContractUserKeyPath,
  KeyDerivationInputError,
  MAX_USER_PATH_LENGTH,
} from './derive.js'

const hex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'))
const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i)
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const secret = fc.uint8Array({ minLength: 32, maxLength: 32 })

// RFC 5869, Appendix A, test cases 1–3 (HKDF-SHA256).
const RFC5869 = [
  {
    name: 'A.1 basic',
    ikm: new Uint8Array(22).fill(0x0b),
    salt: range(0x00, 0x0c),
    info: range(0xf0, 0xf9),
    length: 42,
    prk: '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5',
    okm: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  },
  {
    name: 'A.2 longer inputs and outputs',
    ikm: range(0x00, 0x4f),
    salt: range(0x60, 0xaf),
    info: range(0xb0, 0xff),
    length: 82,
    prk: '06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244',
    okm:
      'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f' +
      '09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87',
  },
  {
    name: 'A.3 zero-length salt and info',
    ikm: new Uint8Array(22).fill(0x0b),
    salt: new Uint8Array(0),
    info: new Uint8Array(0),
    length: 42,
    prk: '19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04',
    okm: '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
  },
]

describe('hkdfSha256', () => {
  it.each(RFC5869)('matches RFC 5869 $name', ({ ikm, salt, info, length, prk, okm }) => {
    expect(toHex(extract(sha256, ikm, salt))).toBe(prk)
    expect(toHex(hkdfSha256(ikm, salt, info, length))).toBe(okm)
  })

  it('names the bad argument', () => {
    const ok = new Uint8Array(32)
    expect(() => hkdfSha256(ok, ok, ok, 0)).toThrow(/invalid length/)
    expect(() => hkdfSha256(ok, ok, ok, 255 * 32 + 1)).toThrow(/invalid length/)
    expect(() => hkdfSha256('x' as unknown as Uint8Array, ok, ok, 32)).toThrow(/invalid ikm/)
  })
})

describe('deriveSecret', () => {
  it('is HKDF-SHA256 with salt veil/v1 and the label as info', () => {
    fc.assert(
      fc.property(secret, fc.string({ minLength: 1 }), (parent, label) => {
        fc.pre(!/\p{Cs}/u.test(label))
        const expected = hkdfSha256(
          parent,
          new TextEncoder().encode(DERIVATION_SALT),
          new TextEncoder().encode(label),
          32,
        )
        expect(deriveSecret(parent, label)).toEqual(expected)
      }),
    )
  })

  it('agrees with an independent implementation (node:crypto)', () => {
    fc.assert(
      fc.property(secret, fc.string({ minLength: 1 }), (parent, label) => {
        fc.pre(!/\p{Cs}/u.test(label))
        const theirs = new Uint8Array(hkdfSync('sha256', parent, DERIVATION_SALT, label, 32))
        expect(deriveSecret(parent, label)).toEqual(theirs)
      }),
    )
  })

  it('is deterministic and 32 bytes', () => {
    fc.assert(
      fc.property(secret, fc.string({ minLength: 1 }), (parent, label) => {
        fc.pre(!/\p{Cs}/u.test(label))
        const a = deriveSecret(parent, label)
        expect(a).toHaveLength(32)
        expect(deriveSecret(Uint8Array.from(parent), label)).toEqual(a)
      }),
    )
  })

  it('separates labels and parents', () => {
    fc.assert(
      fc.property(
        secret,
        secret,
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        (p1, p2, l1, l2) => {
          fc.pre(!/\p{Cs}/u.test(l1 + l2))
          if (l1 !== l2) expect(toHex(deriveSecret(p1, l1))).not.toBe(toHex(deriveSecret(p1, l2)))
          if (toHex(p1) !== toHex(p2))
            expect(toHex(deriveSecret(p1, l1))).not.toBe(toHex(deriveSecret(p2, l1)))
        },
      ),
    )
  })

  it('rejects bad inputs and names the argument', () => {
    const cases: Array<[() => unknown, string]> = [
      [() => deriveSecret(new Uint8Array(31), 'x'), 'parent'],
      [() => deriveSecret(new Uint8Array(33), 'x'), 'parent'],
      [() => deriveSecret(new Uint8Array(32), ''), 'label'],
      [() => deriveSecret(new Uint8Array(32), 'a\uD800'), 'label'],
      [() => deriveClusterSecret(new Uint8Array(16), '1'), 'masterSecret'],
      [() => deriveClusterSecret(new Uint8Array(32), ''), 'clusterId'],
      [() => deriveClusterSecret(new Uint8Array(32), 'a/b'), 'clusterId'],
      [() => deriveContractSecret(new Uint8Array(32), 'x'.repeat(129)), 'contractId'],
      [() => deriveContractSecret(new Uint8Array(32), 'has space'), 'contractId'],
      [() => deriveContractStateKey(new Uint8Array(0)), 'contractSecret'],
      [() => deriveContractUserKey(new Uint8Array(32), 'a//b'), 'path'],
      [() => deriveContractUserKey(new Uint8Array(32), '/a'), 'path'],
    ]
    for (const [fn, argument] of cases) {
      try {
        fn()
        expect.unreachable(`expected ${argument} to be rejected`)
      } catch (error) {
        expect(error).toBeInstanceOf(KeyDerivationInputError)
        expect((error as KeyDerivationInputError).argument).toBe(argument)
        expect((error as KeyDerivationInputError).code).toBe('KDF_INVALID_INPUT')
        expect((error as Error).message).toContain(argument)
      }
    }
  })

  it('accepts exactly the user key paths isContractUserKeyPath accepts', () => {
    const good = ['a', 'wallets/0', 'oracle/eth-usd', '~!@#$%^&*()', 'x'.repeat(MAX_USER_PATH_LENGTH)]
    const bad = [
      '',
      '/',
      'a/',
      '/a',
      'a//b',
      'has space',
      'é',
      'tab\t',
      'x'.repeat(MAX_USER_PATH_LENGTH + 1),
      7,
    ]
    for (const path of good) {
      expect(isContractUserKeyPath(path), path).toBe(true)
      expect(deriveContractUserKey(new Uint8Array(32), path)).toHaveLength(32)
    }
    for (const path of bad) {
      expect(isContractUserKeyPath(path), String(path)).toBe(false)
      expect(() => deriveContractUserKey(new Uint8Array(32), path as string)).toThrow(KeyDerivationInputError)
    }
  })
})

describe('the DESIGN §4 tree', () => {
  const master = hex(`${'00'.repeat(31)}01`)

  it('follows the labelled path master → cluster → contract → children', () => {
    const cluster = deriveClusterSecret(master, '7')
    expect(cluster).toEqual(deriveSecret(master, 'veil/v1/cluster/7'))
    const contract = deriveContractSecret(cluster, '42')
    expect(contract).toEqual(deriveSecret(cluster, 'veil/v1/contract/42'))
    expect(deriveContractStateKey(contract)).toEqual(deriveSecret(contract, 'veil/v1/state'))
    expect(deriveContractRandomSeed(contract)).toEqual(deriveSecret(contract, 'veil/v1/random'))
    expect(deriveContractEncryptionSeed(contract)).toEqual(deriveSecret(contract, 'veil/v1/x25519'))
    expect(deriveContractSigningSeed(contract)).toEqual(deriveSecret(contract, 'veil/v1/secp256k1'))
    expect(deriveContractUserKey(contract, 'wallets/0')).toEqual(
      deriveSecret(contract, 'veil/v1/user/wallets/0'),
    )
  })

  it('gives every purpose and every id its own key', () => {
    fc.assert(
      fc.property(secret, (contract) => {
        const keys = [
          deriveContractStateKey(contract),
          deriveContractRandomSeed(contract),
          deriveContractEncryptionSeed(contract),
          deriveContractSigningSeed(contract),
          deriveContractUserKey(contract, 'a'),
          deriveContractUserKey(contract, 'b'),
          contract,
        ].map(toHex)
        expect(new Set(keys).size).toBe(keys.length)
      }),
      { numRuns: 50 },
    )
    const ids = ['1', '2', '10', '01']
    const cluster = deriveClusterSecret(master, '1')
    expect(new Set(ids.map((id) => toHex(deriveContractSecret(cluster, id)))).size).toBe(ids.length)
    // The same id at two levels of the tree is two different labels.
    expect(toHex(deriveClusterSecret(master, '1'))).not.toBe(toHex(deriveContractSecret(master, '1')))
  })

  it('pins one known value so the tree never changes silently', () => {
    // Cross-checked with node:crypto's hkdfSync; a change here would orphan every contract's stored state.
    const contract = deriveContractSecret(deriveClusterSecret(master, '1'), '1')
    expect(toHex(deriveContractStateKey(contract))).toBe(
      'f3bdad41ff5b11af3602aafefa77f1eae617a4b8bb0421226cfbf5b7c4b35b67',
    )
  })
})
