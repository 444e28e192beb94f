/**
 * State store benchmark: encrypted writes and reads through `StateStore`, the digest's cost per change,
 * and a plain (unencrypted, undigested) LMDB baseline with the same block shape in the same run.
 *
 * Every block is one fsync'd LMDB transaction in both the store and the baseline.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeValue, type Hex } from '@veil/protocol'
import { open as openLmdb } from 'lmdb'
import { LtHash, ltHashElement } from '../src/state/lthash.js'
import { StateStore } from '../src/state/store.js'
import { chainHeader, testSecrets } from '../src/state/testing.js'

type Report = (row: { bench: string } & Record<string, number | string>) => void

const BLOCKS = 60
const WRITES_PER_BLOCK = 100
const CONTRACTS = ['1', '2', '3', '4']
const READS = 30_000

function value(i: number): string {
  return encodeValue({
    owner: `0x${(i * 2654435761).toString(16).padStart(40, '0')}`,
    balance: BigInt(i) * 10n ** 18n,
    n: i,
  })
}

function perSecond(count: number, ms: number): number {
  return Math.round((count / ms) * 1000)
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

export async function run(report: Report): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'veil-state-bench-'))
  try {
    await benchStore(join(root, 'store'), report)
    await benchBaseline(join(root, 'baseline'), report)
    benchDigest(report)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

async function benchStore(path: string, report: Report): Promise<void> {
  const store = StateStore.open({ path, secrets: testSecrets() })
  const total = BLOCKS * WRITES_PER_BLOCK
  const key = (i: number) => `balance:${i}`
  let next = 1n

  const writeBlocks = (label: string, valueFor: (i: number) => string) => {
    let setMs = 0
    let commitMs = 0
    for (let b = 0; b < BLOCKS; b++, next++) {
      const t0 = performance.now()
      const writer = store.beginBlock(chainHeader(next))
      for (let w = 0; w < WRITES_PER_BLOCK; w++) {
        const i = b * WRITES_PER_BLOCK + w
        writer.set(CONTRACTS[i % CONTRACTS.length] as string, key(i), valueFor(i))
      }
      const t1 = performance.now()
      writer.commit()
      const t2 = performance.now()
      setMs += t1 - t0
      commitMs += t2 - t1
    }
    report({
      bench: `state.encrypted.${label}`,
      writesPerSec: perSecond(total, setMs + commitMs),
      blocks: BLOCKS,
      writesPerBlock: WRITES_PER_BLOCK,
      setUsPerWrite: round((setMs / total) * 1000),
      commitMsPerBlock: round(commitMs / BLOCKS),
    })
  }

  writeBlocks('insert', value)
  writeBlocks('overwrite', (i) => value(i + 1))

  const order = Array.from({ length: READS }, (_, i) => (i * 7919) % total)
  let hits = 0
  const t0 = performance.now()
  for (const i of order)
    if (store.get(CONTRACTS[i % CONTRACTS.length] as string, key(i)) !== undefined) hits++
  const readMs = performance.now() - t0
  report({
    bench: 'state.encrypted.read',
    readsPerSec: perSecond(READS, readMs),
    usPerRead: round((readMs / READS) * 1000),
    hits,
  })

  const t1 = performance.now()
  const digest: Hex = store.recomputeDigest()
  const recomputeMs = performance.now() - t1
  if (digest !== store.stateDigest()) throw new Error('digest mismatch')
  report({
    bench: 'state.recomputeDigest',
    entries: total,
    ms: round(recomputeMs),
    usPerEntry: round((recomputeMs / total) * 1000),
  })

  const depth = 100
  const t2 = performance.now()
  store.rollbackTo((store.cursor()?.number ?? 0n) - BigInt(depth))
  const rollbackMs = performance.now() - t2
  report({
    bench: 'state.rollback',
    blocks: depth,
    writesUndone: depth * WRITES_PER_BLOCK,
    ms: round(rollbackMs),
  })
  await store.close()
}

async function benchBaseline(path: string, report: Report): Promise<void> {
  const env = openLmdb<Buffer, Buffer>({ path, maxDbs: 2, encoding: 'binary', keyEncoding: 'binary' })
  const db = env.openDB<Buffer, Buffer>({ name: 'plain', encoding: 'binary', keyEncoding: 'binary' })
  const total = BLOCKS * WRITES_PER_BLOCK
  const key = (i: number) => Buffer.from(`${CONTRACTS[i % CONTRACTS.length]}\0balance:${i}`)

  const writeBlocks = (label: string, valueFor: (i: number) => string) => {
    const t0 = performance.now()
    for (let b = 0; b < BLOCKS; b++) {
      env.transactionSync(() => {
        for (let w = 0; w < WRITES_PER_BLOCK; w++) {
          const i = b * WRITES_PER_BLOCK + w
          db.putSync(key(i), Buffer.from(valueFor(i)))
        }
      })
    }
    const ms = performance.now() - t0
    report({
      bench: `baseline.lmdb.${label}`,
      writesPerSec: perSecond(total, ms),
      commitMsPerBlock: round(ms / BLOCKS),
    })
  }
  writeBlocks('insert', value)
  writeBlocks('overwrite', (i) => value(i + 1))

  const order = Array.from({ length: READS }, (_, i) => (i * 7919) % total)
  let hits = 0
  const t0 = performance.now()
  for (const i of order) {
    const raw = db.getBinary(key(i))
    if (raw !== undefined && raw.toString('utf8').length > 0) hits++
  }
  const ms = performance.now() - t0
  report({
    bench: 'baseline.lmdb.read',
    readsPerSec: perSecond(READS, ms),
    usPerRead: round((ms / READS) * 1000),
    hits,
  })
  await env.close()
}

function benchDigest(report: Report): void {
  const n = 20_000
  const inputs = Array.from({ length: n }, (_, i) => Buffer.from(`veil/v1/lthash/state\0${i}\0${value(i)}`))
  const lattice = LtHash.empty()
  const t0 = performance.now()
  for (const input of inputs) lattice.add(ltHashElement(input))
  const addMs = performance.now() - t0
  const t1 = performance.now()
  for (let i = 0; i < 2000; i++) lattice.digest()
  const digestMs = performance.now() - t1
  report({
    bench: 'state.digest',
    usPerElement: round((addMs / n) * 1000),
    usPerOverwrite: round((addMs / n) * 2 * 1000),
    usPerDigestCall: round((digestMs / 2000) * 1000),
  })
}
