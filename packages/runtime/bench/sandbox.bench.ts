/**
 * Sandbox engine benchmarks:
 * 1. warm overhead of a trivial command (restore the snapshot, dispatch, encode, classify);
 * 2. throughput of a small storage-touching command against an in-memory StorageHost;
 * 3. a CPU-bound pure-JS SHA-256 of 1 MiB, the same source in the sandbox and in plain Node.
 */
import { createHash } from 'node:crypto'
import { encodeValue } from '@veil/protocol'
import { ContractEngine, type InvocationEnv, type InvocationHost } from '../src/sandbox/index.js'

type Reporter = (row: { bench: string } & Record<string, number | string>) => void

/** A straightforward SHA-256 over a Uint8Array (FIPS 180-4), the same text in both runtimes. */
const SHA256_SOURCE = `
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
])
function sha256Hex(message) {
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])
  const padded = new Uint8Array(((message.length + 9 + 63) >> 6) << 6)
  padded.set(message)
  padded[message.length] = 0x80
  const view = new DataView(padded.buffer)
  view.setUint32(padded.length - 8, Math.floor((message.length * 8) / 0x100000000))
  view.setUint32(padded.length - 4, (message.length * 8) >>> 0)
  const w = new Uint32Array(64)
  for (let block = 0; block < padded.length; block += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getUint32(block + 4 * t)
    for (let t = 16; t < 64; t++) {
      const a = w[t - 15]
      const b = w[t - 2]
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3)
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10)
      w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0
    }
    let [a, b, c, d, e, f, g, k] = h
    for (let t = 0; t < 64; t++) {
      const t1 = (k + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[t] + w[t]) | 0
      const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0
      k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k
  }
  let hex = ''
  for (let i = 0; i < 8; i++) hex += h[i].toString(16).padStart(8, '0')
  return hex
}
function sha256OfPattern(size) {
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = i & 0xff
  return sha256Hex(data)
}
`

const CONTRACT = `${SHA256_SOURCE}
var __veilModule = { default: {
  commands: {
    noop() { return 1 },
    bump(ctx, by) {
      const n = (ctx.storage.get('n') ?? 0) + by
      ctx.storage.set('n', n)
      ctx.emit('bumped', { n })
      return n
    },
    sha(ctx, size) { return sha256OfPattern(size) },
  },
} }`

const env: InvocationEnv = {
  kind: 'command',
  contractId: '1',
  caller: '0x00000000000000000000000000000000000000aa',
  block: { number: 1n, timestamp: 1_800_000_000_000, hash: `0x${'11'.repeat(32)}` },
  randomSeed: new Uint8Array(32),
}

function memoryHost(): InvocationHost {
  const store = new Map<string, string>()
  return {
    storage: {
      get: (key) => store.get(key),
      set: (key, value) => {
        store.set(key, value)
      },
      delete: (key) => store.delete(key),
    },
    emit: () => {},
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN
}

export async function run(report: Reporter): Promise<void> {
  const created = performance.now()
  const engine = await ContractEngine.create(CONTRACT, {
    limits: { command: { fuel: 50_000_000_000, deadlineMs: 120_000 } },
  })
  report({ bench: 'sandbox-create', ms: performance.now() - created })

  // 1. Warm overhead of a trivial command.
  const host = memoryHost()
  const noop = { env, method: 'noop', argsText: '[]', host }
  for (let i = 0; i < 300; i++) await engine.invoke(noop)
  const samples: number[] = []
  for (let i = 0; i < 3000; i++) {
    const started = performance.now()
    await engine.invoke(noop)
    samples.push((performance.now() - started) * 1000)
  }
  samples.sort((a, b) => a - b)
  report({
    bench: 'sandbox-noop',
    p50_us: percentile(samples, 0.5),
    p99_us: percentile(samples, 0.99),
    fuel: (await engine.invoke(noop)).fuel,
  })

  // 2. Throughput of a small command that reads and writes storage and emits an event.
  const bump = { env, method: 'bump', argsText: encodeValue([1]), host }
  for (let i = 0; i < 300; i++) await engine.invoke(bump)
  const count = 5000
  const started = performance.now()
  for (let i = 0; i < count; i++) await engine.invoke(bump)
  const seconds = (performance.now() - started) / 1000
  report({ bench: 'sandbox-storage', ops_per_s: count / seconds, fuel: (await engine.invoke(bump)).fuel })

  // 3. CPU-bound pure JS: SHA-256 of 1 MiB.
  const size = 1024 * 1024
  const expected = createHash('sha256')
    .update(Uint8Array.from({ length: size }, (_, i) => i & 0xff))
    .digest('hex')
  const nodeSha = new Function(`${SHA256_SOURCE}; return sha256OfPattern`)() as (size: number) => string
  nodeSha(size) // warm up V8
  let nodeMs = Number.POSITIVE_INFINITY
  for (let i = 0; i < 3; i++) {
    const t = performance.now()
    if (nodeSha(size) !== expected) throw new Error('node sha256 mismatch')
    nodeMs = Math.min(nodeMs, performance.now() - t)
  }
  const sha = { env, method: 'sha', argsText: encodeValue([size]), host }
  await engine.invoke(sha) // warm up the WebAssembly tiers
  let sandboxMs = Number.POSITIVE_INFINITY
  let fuel = 0
  for (let i = 0; i < 3; i++) {
    const t = performance.now()
    const outcome = await engine.invoke(sha)
    if (!outcome.ok || outcome.resultText !== JSON.stringify(expected))
      throw new Error('sandbox sha256 mismatch')
    sandboxMs = Math.min(sandboxMs, performance.now() - t)
    fuel = outcome.fuel
  }
  report({
    bench: 'sandbox-sha256',
    sandbox_ms: sandboxMs,
    node_ms: nodeMs,
    ratio: sandboxMs / nodeMs,
    fuel,
    fuel_per_ms: fuel / sandboxMs,
  })
  engine.dispose()
}
