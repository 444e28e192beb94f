/**
 * Binary Merkle trees over 32-byte leaves, with the node hash OpenZeppelin's `MerkleProof` uses:
 * `keccak256(min(a, b) ‖ max(a, b))` (the pair sorted bytewise), so a proof is just the sibling hashes
 * from the leaf up, checked without positions, on chain by `MerkleProof.processProof`.
 *
 * Levels are built left to right; a node without a sibling moves up unchanged (and adds nothing to the
 * proofs below it). Workers use it to sign one root for the answers of one event-loop turn.
 *
 * Leaves must be hashes of typed data the verifier computes itself (Veil's are EIP-712 struct hashes of
 * `Answer`): a verifier never accepts a leaf value given to it, so an inner node (a hash of 64 bytes)
 * cannot be passed off as a leaf without a keccak preimage.
 */
import { concat } from './bytes.js'
import { keccak256, SignatureInputError } from './ethereum.js'

/** The largest proof accepted: 2^32 leaves is far beyond any batch. */
export const MAX_MERKLE_PROOF_LENGTH = 32

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

/** keccak256 of the two hashes in byte order (OpenZeppelin's commutative `Hashes.commutativeKeccak256`). */
export function hashMerklePair(a: Uint8Array, b: Uint8Array): Uint8Array {
  return keccak256(compare(a, b) <= 0 ? concat(a, b) : concat(b, a))
}

function checkNode(fn: string, argument: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== 32)
    throw new SignatureInputError(fn, argument, 'must be 32 bytes')
  return value
}

/**
 * The root of `leaves` and each leaf's proof (sibling hashes, leaf level first).
 *
 * @example
 * const { root, proofs } = merkleTree([a, b, c])
 * processMerkleProof(b, proofs[1]) // equals root
 */
export function merkleTree(leaves: readonly Uint8Array[]): { root: Uint8Array; proofs: Uint8Array[][] } {
  const fn = 'merkleTree'
  if (!Array.isArray(leaves) || leaves.length === 0)
    throw new SignatureInputError(fn, 'leaves', 'must be a non-empty array')
  leaves.forEach((leaf, i) => {
    checkNode(fn, `leaves[${i}]`, leaf)
  })
  const proofs: Uint8Array[][] = leaves.map(() => [])
  // members[k]: the leaf indexes under node k of the current level.
  let level: Uint8Array[] = [...leaves]
  let members: number[][] = leaves.map((_, i) => [i])
  while (level.length > 1) {
    const nextLevel: Uint8Array[] = []
    const nextMembers: number[][] = []
    for (let k = 0; k < level.length; k += 2) {
      const left = level[k] as Uint8Array
      const right = level[k + 1]
      const under = members[k] as number[]
      if (right === undefined) {
        nextLevel.push(left)
        nextMembers.push(under)
        continue
      }
      const rightUnder = members[k + 1] as number[]
      for (const i of under) proofs[i]?.push(right)
      for (const i of rightUnder) proofs[i]?.push(left)
      nextLevel.push(hashMerklePair(left, right))
      nextMembers.push(under.concat(rightUnder))
    }
    level = nextLevel
    members = nextMembers
  }
  return { root: level[0] as Uint8Array, proofs }
}

/** The root a leaf and its proof lead to (OpenZeppelin's `MerkleProof.processProof`). */
export function processMerkleProof(leaf: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  const fn = 'processMerkleProof'
  let node = checkNode(fn, 'leaf', leaf)
  if (!Array.isArray(proof) || proof.length > MAX_MERKLE_PROOF_LENGTH) {
    throw new SignatureInputError(
      fn,
      'proof',
      `must be an array of at most ${MAX_MERKLE_PROOF_LENGTH} hashes`,
    )
  }
  proof.forEach((sibling, i) => {
    node = hashMerklePair(node, checkNode(fn, `proof[${i}]`, sibling))
  })
  return node
}
