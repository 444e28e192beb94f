import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { concat } from './bytes.js'
import { keccak256, SignatureInputError } from './ethereum.js'
import { hashMerklePair, merkleTree, processMerkleProof } from './merkle.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const leaf = fc.uint8Array({ minLength: 32, maxLength: 32 })

/** An independent reference: the same levels, written plainly. */
function referenceRoot(leaves: Uint8Array[]): Uint8Array {
  let level = leaves
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) {
      const a = level[i] as Uint8Array
      const b = level[i + 1]
      if (!b) next.push(a)
      else
        next.push(
          keccak256(Buffer.compare(Buffer.from(a), Buffer.from(b)) <= 0 ? concat(a, b) : concat(b, a)),
        )
    }
    level = next
  }
  return level[0] as Uint8Array
}

describe('Merkle trees (OpenZeppelin MerkleProof hashing)', () => {
  it('every leaf proves to the root, for any number of leaves', () => {
    fc.assert(
      fc.property(fc.array(leaf, { minLength: 1, maxLength: 70 }), (leaves) => {
        const { root, proofs } = merkleTree(leaves)
        expect(hex(root)).toBe(hex(referenceRoot(leaves)))
        leaves.forEach((l, i) => {
          const proof = proofs[i] ?? []
          expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(leaves.length)))
          expect(hex(processMerkleProof(l, proof))).toBe(hex(root))
        })
      }),
      { numRuns: 100 },
    )
  })

  it('a single leaf is its own root, with an empty proof', () => {
    const l = new Uint8Array(32).fill(7)
    expect(merkleTree([l])).toEqual({ root: l, proofs: [[]] })
  })

  it('pairs hash in byte order, so the order of the two does not matter', () => {
    const a = new Uint8Array(32).fill(1)
    const b = new Uint8Array(32).fill(2)
    expect(hex(hashMerklePair(a, b))).toBe(hex(hashMerklePair(b, a)))
    expect(hex(hashMerklePair(a, b))).toBe(hex(keccak256(concat(a, b))))
  })

  it('a changed leaf or sibling leads elsewhere', () => {
    fc.assert(
      fc.property(fc.array(leaf, { minLength: 2, maxLength: 20 }), fc.nat(), (leaves, pick) => {
        const { root, proofs } = merkleTree(leaves)
        const i = pick % leaves.length
        const proof = proofs[i] ?? []
        const changed = Uint8Array.from(leaves[i] as Uint8Array)
        changed[0] = (changed[0] ?? 0) ^ 1
        expect(hex(processMerkleProof(changed, proof))).not.toBe(hex(root))
        const bent = proof.map((p) => Uint8Array.from(p))
        const first = bent[0] as Uint8Array
        first[31] = (first[31] ?? 0) ^ 1
        expect(hex(processMerkleProof(leaves[i] as Uint8Array, bent))).not.toBe(hex(root))
      }),
      { numRuns: 50 },
    )
  })

  it('names bad input', () => {
    expect(() => merkleTree([])).toThrow(SignatureInputError)
    expect(() => merkleTree([new Uint8Array(31)])).toThrow(/leaves\[0\]/)
    expect(() => processMerkleProof(new Uint8Array(32), [new Uint8Array(5)])).toThrow(/proof\[0\]/)
    expect(() => processMerkleProof(new Uint8Array(32), new Array(33).fill(new Uint8Array(32)))).toThrow(
      /at most 32/,
    )
  })
})
