/**
 * A Node-only secp256k1 signer for the worker's hot path: ECDSA with precomputed nonces.
 *
 * Almost all of an ECDSA signature's cost is the scalar multiplication R = k·G, and k does not depend on
 * the message. This signer computes (k, R) pairs ahead of time — in OpenSSL (`createECDH('secp256k1')`,
 * a constant-time ladder), in the background between requests — so signing a hash only costs a few
 * modular multiplications: `s = k⁻¹ (m + r·d) mod n`. Output is the same format as `signTypedHash`
 * (65 bytes `r ‖ s ‖ v`, v ∈ {27, 28}, low s) and recovers with `recoverAddress`, viem or
 * `Registry.verifyAnswer`; it is not byte-identical to RFC 6979 signatures, because k is random.
 *
 * Security invariants:
 * - A nonce signs at most one message: it is removed from the pool before its signature is computed and
 *   never put back. Two messages under one k reveal the private key.
 * - k = HMAC-SHA384(d, 48 fresh random bytes ‖ counter) mapped into [1, n-1]: unpredictable without d
 *   even if the RNG is weak. What no precomputation can do (unlike RFC 6979) is bind k to the message:
 *   a process image that is duplicated with its pool (a VM snapshot restored twice) would reuse nonces.
 *   Do not use this signer where the worker's memory can be snapshotted and resumed more than once.
 * - k itself is never stored. A pool entry holds r, R's y parity and, as in `@noble/curves`, values
 *   blinded by a random b: (b·k)⁻¹ and b·d, so the variable-time BigInt inversion never sees k.
 */

import { createECDH, createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto'
import { Worker } from 'node:worker_threads'
import { mapHashToField } from '@noble/curves/abstract/modular.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { type Address, type Hex, VeilError } from '@veil/protocol'
import {
  type Bytes32,
  checkHash,
  checkPrivateKey,
  encodeSignature,
  privateKeyToAddress,
  SignatureInputError,
  type TypedHashSigner,
  toBigInt,
} from './ethereum.js'

const Fn = secp256k1.Point.Fn
const N = Fn.ORDER
const HALF_N = N >> 1n

/** Options of {@link createPrecomputedSigner}. */
export interface PrecomputedSignerOptions {
  /** Nonces kept ready (default 64). Each costs one scalar multiplication to make. */
  poolSize?: number
  /** Refill the pool in the background (setImmediate, a few nonces per turn) when it runs low. Default true. */
  background?: boolean
  /**
   * Make the background nonces in a worker thread instead of on the event loop (each costs a scalar
   * multiplication, ~0.1–0.9 ms depending on the machine). For a server that signs under sustained load.
   * Falls back to event-loop refills if the thread fails. Default false.
   */
  thread?: boolean
}

/** A {@link TypedHashSigner} with a pool of precomputed nonces. */
export interface PrecomputedSigner extends TypedHashSigner {
  /** Nonces ready now. When none is, a signature computes its own (the cost of an ordinary signature). */
  readonly available: number
  /** Synchronously fills the pool to `poolSize` (e.g. at startup, before taking traffic). */
  fill(): void
  /** Stops background refills and drops every nonce; signing afterwards throws. */
  dispose(): void
}

interface Nonce {
  readonly r: bigint
  /** y parity of R = k·G (the recovery id before low-s normalization). */
  readonly parity: number
  /** Random blind b ∈ [1, n-1] and the blinded values (b·k)⁻¹ and b·d. */
  readonly b: bigint
  readonly ibk: bigint
  readonly bd: bigint
}

const REFILL_BATCH = 4
/** Nonces a refill thread makes per message: large enough to amortize the message, small enough to stream. */
const THREAD_BATCH = 16
/** Counters of thread-made nonces have the top bit set, so they never equal the event loop's counters. */
const THREAD_COUNTER_BASE = 1n << 63n

/**
 * The refill thread (evaluated as a CommonJS script): the same derivation as `makeNonce` below, with the
 * curve order and the modular arithmetic written out, as the thread cannot import this package.
 * `workerData.key` is a copy of the signing key, transferred (detached on this side) and zeroed once
 * imported: k = HMAC-SHA384(d, random ‖ counter) needs it, and so does the blinded b·d. k itself never
 * leaves the thread.
 */
const NONCE_THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { createECDH, createHmac, createSecretKey, randomBytes } = require('node:crypto')
const N = ${N}n
const big = (bytes) => BigInt('0x' + Buffer.from(bytes).toString('hex'))
const mod = (a) => ((a % N) + N) % N
const field = (bytes) => (big(bytes) % (N - 1n)) + 1n
const word = (value) => Buffer.from(value.toString(16).padStart(64, '0'), 'hex')
function invert(a) {
  // Extended Euclid, tracking r ≡ t·a (mod N); a is blinded (b·k), so its variable time reveals nothing.
  let [r0, r1] = [N, mod(a)]
  let [t0, t1] = [0n, 1n]
  while (r1 !== 0n) {
    const q = r0 / r1
    ;[r0, r1] = [r1, r0 - q * r1]
    ;[t0, t1] = [t1, t0 - q * t1]
  }
  if (r0 !== 1n) throw new Error('not invertible')
  return mod(t0)
}
const key = Buffer.from(workerData.key)
const nonceKey = createSecretKey(key)
const d = big(key)
key.fill(0)
workerData.key.fill(0)
const ecdh = createECDH('secp256k1')
let counter = ${THREAD_COUNTER_BASE}n
function makeNonce() {
  for (;;) {
    counter++
    const mac = createHmac('sha384', nonceKey)
    mac.update(randomBytes(48))
    const c = Buffer.alloc(8)
    c.writeBigUInt64BE(counter)
    mac.update(c)
    const k = field(mac.digest())
    const kBytes = word(k)
    ecdh.setPrivateKey(kBytes)
    const point = ecdh.getPublicKey()
    kBytes.fill(0)
    const x = big(point.subarray(1, 33))
    if (x >= N || x === 0n) continue
    const b = field(randomBytes(48))
    return { r: x, parity: point[64] & 1, b, ibk: invert(mod(b * k)), bd: mod(b * d) }
  }
}
parentPort.on('message', (count) => {
  const nonces = []
  for (let i = 0; i < count; i++) nonces.push(makeNonce())
  parentPort.postMessage(nonces)
})
`

/**
 * Creates a precomputing signer for a long-lived key (the worker identity).
 *
 * @example
 * const signer = createPrecomputedSigner(identityKey)
 * signer.fill()
 * const signature = signAnswer(signer, domain, answer) // ~µs while the pool lasts
 */
export function createPrecomputedSigner(
  privateKey: Bytes32,
  options: PrecomputedSignerOptions = {},
): PrecomputedSigner {
  const fn = 'createPrecomputedSigner'
  const keyBytes = checkPrivateKey(fn, privateKey)
  const poolSize = options.poolSize ?? 64
  if (!Number.isSafeInteger(poolSize) || poolSize < 1 || poolSize > 65_536) {
    throw new SignatureInputError(fn, 'options.poolSize', 'must be an integer in 1..65536')
  }
  const background = options.background ?? true
  let thread: Worker | undefined
  /** A thread batch is on its way: ask for the next one only when it arrives. */
  let threadBusy = false
  const address: Address = privateKeyToAddress(keyBytes)
  const d = toBigInt(keyBytes)
  const keyCopy = Buffer.from(keyBytes)
  const nonceKey: KeyObject = createSecretKey(keyCopy) // copies into the KeyObject
  keyCopy.fill(0)
  const ecdh = createECDH('secp256k1')
  const pool: Nonce[] = []
  let counter = 0n
  let scheduled: NodeJS.Immediate | undefined
  let disposed = false

  function makeNonce(): Nonce {
    for (;;) {
      counter++
      const mac = createHmac('sha384', nonceKey)
      mac.update(randomBytes(48))
      mac.update(counterBytes(counter))
      const kBytes = mapHashToField(mac.digest(), N) // uniform in [1, n-1], bias < 2^-128
      ecdh.setPrivateKey(kBytes) // OpenSSL computes R = k·G (constant-time ladder)
      const point = ecdh.getPublicKey() // 0x04 ‖ X ‖ Y
      const k = toBigInt(kBytes)
      kBytes.fill(0)
      const x = toBigInt(point.subarray(1, 33))
      // R.x ≥ n (probability ~2^-128) would need recovery id 2/3, which Ethereum's v cannot express.
      if (x >= N || x === 0n) continue
      const b = toBigInt(mapHashToField(randomBytes(48), N))
      return { r: x, parity: (point[64] ?? 0) & 1, b, ibk: Fn.inv(Fn.mul(b, k)), bd: Fn.mul(b, d) }
    }
  }

  function refill(): void {
    scheduled = undefined
    if (disposed) return
    for (let i = 0; i < REFILL_BATCH && pool.length < poolSize; i++) pool.push(makeNonce())
    if (pool.length < poolSize) schedule()
  }

  function schedule(): void {
    if (!background || disposed) return
    if (thread !== undefined) {
      if (!threadBusy) {
        threadBusy = true
        thread.postMessage(Math.min(THREAD_BATCH, poolSize - pool.length))
      }
      return
    }
    if (scheduled !== undefined) return
    scheduled = setImmediate(refill)
    // Refilling is opportunistic; it must not keep a process alive that has nothing else to do.
    scheduled.unref()
  }

  function startThread(): void {
    const key = Uint8Array.from(keyBytes)
    const worker = new Worker(NONCE_THREAD_SOURCE, {
      eval: true,
      workerData: { key },
      transferList: [key.buffer],
    })
    worker.unref() // like the setImmediate refills: never what keeps a process alive
    worker.on('message', (nonces: Nonce[]) => {
      threadBusy = false
      if (disposed) return
      // Nonce uniqueness: each entry arrives once, from a thread that never sends one twice.
      for (const nonce of nonces) if (pool.length < poolSize) pool.push(nonce)
      if (pool.length < poolSize) schedule()
    })
    const fallBack = () => {
      if (thread !== worker) return
      thread = undefined
      threadBusy = false
      schedule() // back to refills on the event loop
    }
    worker.on('error', fallBack)
    worker.on('exit', fallBack)
    thread = worker
  }

  function signTypedHash(hash: Bytes32): Hex {
    if (disposed) throw new VeilError('signer disposed', { code: 'SIGNER_DISPOSED' })
    const m = Fn.create(toBigInt(checkHash('signTypedHash', hash))) // bits2int_modN for a 256-bit hash
    for (;;) {
      // Nonce uniqueness: pop() removes the entry before it is used; nothing ever pushes it back.
      const nonce = pool.pop() ?? makeNonce()
      if (pool.length < poolSize / 2) schedule()
      // s = (b·k)⁻¹ · (b·m + b·d·r) = k⁻¹ (m + r·d) mod n
      let s = Fn.mul(nonce.ibk, Fn.add(Fn.mul(nonce.b, m), Fn.mul(nonce.bd, nonce.r)))
      if (s === 0n) continue
      let recovery = nonce.parity
      if (s > HALF_N) {
        // EIP-2 low s: (r, n - s) is the same signature for R's negation, whose y parity is flipped.
        s = N - s
        recovery ^= 1
      }
      return encodeSignature(word(nonce.r), word(s), recovery)
    }
  }

  if (background && options.thread) startThread()
  schedule()
  return {
    address,
    signTypedHash,
    get available() {
      return pool.length
    },
    fill() {
      if (disposed) throw new VeilError('signer disposed', { code: 'SIGNER_DISPOSED' })
      while (pool.length < poolSize) pool.push(makeNonce())
    },
    dispose() {
      disposed = true
      if (scheduled !== undefined) clearImmediate(scheduled)
      scheduled = undefined
      const worker = thread
      thread = undefined
      void worker?.terminate()
      pool.length = 0
    },
  }
}

function word(value: bigint): Uint8Array {
  return Fn.toBytes(value)
}

function counterBytes(counter: bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, counter)
  return out
}
