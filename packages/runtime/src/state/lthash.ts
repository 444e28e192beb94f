/**
 * LtHash16: a lattice-based homomorphic multiset hash (Bellare–Micciancio; parameters as in Lewi et al.,
 * "Securing Update Propagation with Homomorphic Hashing", 2019).
 *
 * The state of a multiset is a vector of 1024 lanes of uint16. Each element is expanded by an XOF into
 * 1024 uint16 lanes; inserting adds the expansion lane-wise mod 2^16, removing subtracts it. Therefore:
 * - order-independent: the vector is a sum, so any order of the same inserts/removes gives the same vector;
 * - O(changes): one expansion per inserted or removed element, independent of the state size;
 * - collision resistance rests on the short-integer-solution problem over Z_{2^16}^1024 (≈200-bit
 *   estimate in the paper), not on a 256-bit modular sum, which generalized-birthday (Wagner) attacks break.
 *
 * Expansion uses SHAKE128 (2048 bytes). Its 128-bit generic security equals the collision resistance of the
 * SHA-256 that publishes the vector, so SHAKE256 would buy nothing, and it is ~40% cheaper (measured).
 * Callers must domain-separate element encodings so that no two distinct elements share bytes.
 */
import { createHash } from 'node:crypto'
import type { Hex } from '@veil/protocol'

/** Number of uint16 lanes in the lattice vector. */
export const LTHASH_LANES = 1024
/** Size in bytes of the vector (and of one element expansion). */
export const LTHASH_BYTES = LTHASH_LANES * 2

const DIGEST_DOMAIN = Buffer.from('veil/v1/state-digest\0', 'utf8')
const PLATFORM_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Expands one (already domain-separated) element encoding into its 1024-lane vector. */
export function ltHashElement(input: Uint8Array): Uint16Array {
  const expanded = createHash('shake128', { outputLength: LTHASH_BYTES }).update(input).digest()
  return lanesFromLittleEndian(expanded, false)
}

/** A lattice multiset hash. Mutable; {@link LtHash.clone} before sharing. */
export class LtHash {
  readonly #lanes: Uint16Array

  private constructor(lanes: Uint16Array) {
    this.#lanes = lanes
  }

  /** The hash of the empty multiset (all lanes zero). */
  static empty(): LtHash {
    return new LtHash(new Uint16Array(LTHASH_LANES))
  }

  /** Restores a vector written by {@link LtHash.toBytes}. */
  static fromBytes(bytes: Uint8Array): LtHash {
    if (bytes.length !== LTHASH_BYTES)
      throw new RangeError(`LtHash.fromBytes: expected ${LTHASH_BYTES} bytes, got ${bytes.length}`)
    return new LtHash(lanesFromLittleEndian(bytes, true))
  }

  clone(): LtHash {
    // slice() copies with one memcpy; Uint16Array.from would iterate lane by lane.
    return new LtHash(this.#lanes.slice())
  }

  /** Adds an element expansion (insert). Uint16Array stores wrap, which is exactly addition mod 2^16. */
  add(element: Uint16Array): void {
    const lanes = this.#lanes
    for (let i = 0; i < LTHASH_LANES; i++) lanes[i] = (lanes[i] as number) + (element[i] as number)
  }

  /** Subtracts an element expansion (delete, or the old value of an overwrite). */
  subtract(element: Uint16Array): void {
    const lanes = this.#lanes
    for (let i = 0; i < LTHASH_LANES; i++) lanes[i] = (lanes[i] as number) - (element[i] as number)
  }

  /** Inserts the element encoded by `input`. */
  insert(input: Uint8Array): void {
    this.add(ltHashElement(input))
  }

  /** Removes the element encoded by `input`. */
  remove(input: Uint8Array): void {
    this.subtract(ltHashElement(input))
  }

  equals(other: LtHash): boolean {
    const a = this.#lanes
    const b = other.#lanes
    for (let i = 0; i < LTHASH_LANES; i++) if (a[i] !== b[i]) return false
    return true
  }

  /** The vector as 2048 bytes, lanes little-endian (the same on every platform). */
  toBytes(): Uint8Array {
    return this.#littleEndianBytes().slice()
  }

  /** The published state digest: SHA-256 over a domain tag and the vector. */
  digest(): Hex {
    return `0x${createHash('sha256').update(DIGEST_DOMAIN).update(this.#littleEndianBytes()).digest('hex')}`
  }

  /**
   * The lanes as little-endian bytes: on little-endian platforms (all Node targets) a view of the lanes
   * themselves, without a copy. Callers must not keep or modify the result.
   */
  #littleEndianBytes(): Uint8Array {
    const lanes = this.#lanes
    if (PLATFORM_IS_LITTLE_ENDIAN) return new Uint8Array(lanes.buffer, lanes.byteOffset, LTHASH_BYTES)
    const out = new Uint8Array(LTHASH_BYTES)
    for (let i = 0; i < LTHASH_LANES; i++) {
      const lane = lanes[i] as number
      out[2 * i] = lane & 0xff
      out[2 * i + 1] = lane >>> 8
    }
    return out
  }
}

function lanesFromLittleEndian(bytes: Uint8Array, copy: boolean): Uint16Array {
  if (PLATFORM_IS_LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
    const view = new Uint16Array(bytes.buffer, bytes.byteOffset, LTHASH_LANES)
    return copy ? view.slice() : view
  }
  const lanes = new Uint16Array(LTHASH_LANES)
  for (let i = 0; i < LTHASH_LANES; i++)
    lanes[i] = (bytes[2 * i] as number) | ((bytes[2 * i + 1] as number) << 8)
  return lanes
}
