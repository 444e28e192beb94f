/**
 * keccak256 on the hot paths: hash-wasm's WebAssembly Keccak once it has loaded (≈ 1.2 µs for 160 bytes
 * here, against ≈ 10 µs for `@noble/hashes`), `@noble/hashes` before that and wherever WebAssembly is
 * unavailable (a page whose CSP forbids it). Both are the same function; a test holds them byte-equal.
 *
 * A query answer hashes four times (request, response, the EIP-712 struct and digest), so this was a
 * tenth of a worker's time per query.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'
import { createKeccak, type IHasher } from 'hash-wasm'

let wasm: IHasher | undefined

/**
 * Resolves once the WebAssembly hasher is in use (or when it could not load: hashing then stays on
 * noble). Long-running services await it before serving; everything else just hashes.
 */
export const keccakReady: Promise<void> = createKeccak(256).then(
  (hasher) => {
    wasm = hasher
  },
  () => {
    // No WebAssembly here: noble serves every call.
  },
)

/** Which implementation hashes now (for benchmarks and tests). */
export function keccakImplementation(): 'wasm' | 'noble' {
  return wasm ? 'wasm' : 'noble'
}

/** keccak256 of `data`, unchecked (callers validate). */
export function keccak256Unchecked(data: Uint8Array): Uint8Array {
  const hasher = wasm
  if (hasher === undefined) return keccak_256(data)
  // One shared hasher: init, update and digest run back to back in one synchronous call, so no other
  // caller can interleave.
  hasher.init()
  hasher.update(data)
  return hasher.digest('binary')
}

/** TEST ONLY: hash with noble regardless of the WebAssembly hasher. */
export const nobleKeccak256: (data: Uint8Array) => Uint8Array = keccak_256
