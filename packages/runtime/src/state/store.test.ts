import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeValue, type Hex } from '@veil/protocol'
import fc from 'fast-check'
import { open as openLmdb } from 'lmdb'
import { describe, expect, it } from 'vitest'
import { CommittedStateCache } from './committed-cache.js'
import {
  BlockInProgressError,
  BlockSequenceError,
  BlockWriterClosedError,
  InvalidSavepointError,
  RewindTooDeepError,
  StateArgumentError,
  StateFormatError,
  StateIntegrityError,
  StateStoreClosedError,
} from './errors.js'
import { LtHash } from './lthash.js'
import { StateStore, type StateStoreOptions } from './store.js'
import { useTempStores } from './temp-stores.js'
import { chainHeader, hashOf, testSecrets } from './testing.js'
import type { BlockWriter } from './writer.js'

const EMPTY_DIGEST = LtHash.empty().digest()

const stores = useTempStores()
const openStore = (options: Partial<StateStoreOptions> = {}) => stores.open(options)

/** Commits `count` blocks after the cursor on chain `fork`; `write` fills each block. */
function commitBlocks(
  store: StateStore,
  count: number,
  write: (writer: BlockWriter, n: bigint) => void,
  fork = 'main',
): Hex[] {
  const digests: Hex[] = []
  let next = (store.cursor()?.number ?? 0n) + 1n
  for (let i = 0; i < count; i++, next++) {
    const writer = store.beginBlock(chainHeader(next, fork))
    write(writer, next)
    digests.push(writer.commit().stateDigest)
  }
  return digests
}

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}

describe('StateStore basics', () => {
  it('starts empty', () => {
    const store = openStore()
    expect(store.cursor()).toBeUndefined()
    expect(store.stateDigest()).toBe(EMPTY_DIGEST)
    expect(store.get('1', 'n')).toBeUndefined()
    expect(store.getPlain('code', 'abc')).toBeUndefined()
    expect(store.getReceipt(hashOf('tx'))).toBeUndefined()
    expect(store.recomputeDigest()).toBe(EMPTY_DIGEST)
  })

  it('round-trips state, public tables and receipts through one commit', () => {
    const store = openStore()
    const writer = store.beginBlock(chainHeader(1n))
    writer.set('1', 'n', encodeValue(5))
    writer.set('1', 'profile', encodeValue({ name: 'ada', tags: ['x'], big: 2n ** 70n }))
    writer.set('2', 'n', encodeValue('other contract'))
    writer.set('1', 'emoji 🔑 key', encodeValue('✓'))
    writer.putPlain('code', '0xabc', Uint8Array.of(1, 2, 3))
    writer.putReceipt(hashOf('tx1'), '1', encodeValue({ ok: true, result: 5 }))
    const { stateDigest } = writer.commit()

    expect(store.cursor()).toEqual({ number: 1n, hash: chainHeader(1n).hash })
    expect(store.get('1', 'n')).toBe('5')
    expect(store.get('1', 'profile')).toBe(encodeValue({ name: 'ada', tags: ['x'], big: 2n ** 70n }))
    expect(store.get('2', 'n')).toBe('"other contract"')
    expect(store.get('1', 'emoji 🔑 key')).toBe('"✓"')
    expect(store.get('3', 'n')).toBeUndefined()
    expect(store.getPlain('code', '0xabc')).toEqual(Buffer.of(1, 2, 3))
    expect(store.getReceipt(hashOf('tx1'))).toEqual({
      contractId: '1',
      receiptText: '{"ok":true,"result":5}',
    })
    expect(store.getReceipt(hashOf('tx1').toUpperCase().replace('0X', '0x') as Hex)?.contractId).toBe('1')
    expect(stateDigest).not.toBe(EMPTY_DIGEST)
    expect(store.stateDigest()).toBe(stateDigest)
    expect(store.recomputeDigest()).toBe(stateDigest)
  })

  it('reads its own writes over committed state, which stays unchanged until commit', () => {
    const store = openStore()
    commitBlocks(store, 1, (w) => w.set('1', 'a', '1'))
    const writer = store.beginBlock(chainHeader(2n))
    expect(writer.get('1', 'a')).toBe('1')
    writer.set('1', 'a', '2')
    writer.set('1', 'b', '3')
    expect(writer.get('1', 'a')).toBe('2')
    expect(writer.get('1', 'b')).toBe('3')
    expect(store.get('1', 'a')).toBe('1')
    expect(store.get('1', 'b')).toBeUndefined()
    expect(writer.delete('1', 'a')).toBe(true)
    expect(writer.delete('1', 'a')).toBe(false)
    expect(writer.delete('1', 'never')).toBe(false)
    expect(writer.get('1', 'a')).toBeUndefined()
    writer.putPlain('meta', 'k', Uint8Array.of(9))
    expect(writer.getPlain('meta', 'k')).toEqual(Uint8Array.of(9))
    expect(writer.deletePlain('meta', 'k')).toBe(true)
    expect(writer.getPlain('meta', 'k')).toBeUndefined()
    writer.putReceipt(hashOf('t'), '1', 'r')
    expect(writer.getReceipt(hashOf('t'))).toEqual({ contractId: '1', receiptText: 'r' })
    writer.commit()
    expect(store.get('1', 'a')).toBeUndefined()
    expect(store.get('1', 'b')).toBe('3')
    expect(store.recomputeDigest()).toBe(store.stateDigest())
  })

  it('lists the committed keys of one public table only', () => {
    const store = openStore()
    const writer = store.beginBlock(chainHeader(1n))
    for (const key of ['12', '3', '$price']) writer.putPlain('billing', key, Uint8Array.of(1))
    writer.putPlain('billinh', 'neighbour', Uint8Array.of(1)) // the next table name up
    writer.putPlain('billin', 'shorter', Uint8Array.of(1))
    writer.putPlain('code', 'x', Uint8Array.of(1))
    expect(store.plainKeys('billing')).toEqual([]) // not committed yet
    writer.commit()
    expect(store.plainKeys('billing')).toEqual(['$price', '12', '3'])
    expect(store.plainKeys('billin')).toEqual(['shorter'])
    expect(store.plainKeys('nothing')).toEqual([])
  })

  it('copies caller buffers so later mutation cannot change the block', () => {
    const store = openStore()
    const bytes = Uint8Array.of(1, 2)
    const writer = store.beginBlock(chainHeader(1n))
    writer.putPlain('code', 'x', bytes)
    bytes[0] = 99
    const read = writer.getPlain('code', 'x')
    expect(read).toEqual(Uint8Array.of(1, 2))
    if (read) read[1] = 42
    writer.commit()
    expect(store.getPlain('code', 'x')).toEqual(Buffer.of(1, 2))
  })

  it('abort leaves the store at its cursor', () => {
    const store = openStore()
    const [digest] = commitBlocks(store, 1, (w) => w.set('1', 'a', '1'))
    const writer = store.beginBlock(chainHeader(2n))
    writer.set('1', 'a', '2')
    writer.abort()
    expect(writer.status).toBe('aborted')
    expect(store.get('1', 'a')).toBe('1')
    expect(store.stateDigest()).toBe(digest)
    expect(store.cursor()?.number).toBe(1n)
    commitBlocks(store, 1, (w) => w.set('1', 'a', '3'))
    expect(store.get('1', 'a')).toBe('3')
  })

  it('reopens with everything intact, undo log included', async () => {
    const first = openStore()
    const digests = commitBlocks(first, 5, (w, n) => {
      w.set('1', `k${n}`, encodeValue(Number(n)))
      w.putPlain('blocks', `${n}`, Uint8Array.of(Number(n)))
      w.putReceipt(hashOf(`tx${n}`), '2', `receipt ${n}`)
    })
    await first.close()
    expect(() => first.get('1', 'k1')).toThrow(StateStoreClosedError)

    const second = openStore()
    expect(second.cursor()).toEqual({ number: 5n, hash: chainHeader(5n).hash })
    expect(second.stateDigest()).toBe(digests[4])
    expect(second.recomputeDigest()).toBe(digests[4])
    expect(second.get('1', 'k3')).toBe('3')
    expect(second.getPlain('blocks', '4')).toEqual(Buffer.of(4))
    expect(second.getReceipt(hashOf('tx2'))).toEqual({ contractId: '2', receiptText: 'receipt 2' })
    second.rollbackTo(2n)
    expect(second.stateDigest()).toBe(digests[1])
    expect(second.get('1', 'k3')).toBeUndefined()
    commitBlocks(second, 1, (w) => w.set('1', 'k3', '"again"'))
    expect(second.get('1', 'k3')).toBe('"again"')
  })
})

describe('StateStore lifecycle', () => {
  it('warns when state is protected only by development secrets', () => {
    const warnings: string[] = []
    const logger = {
      debug() {},
      info() {},
      warn(message: string) {
        warnings.push(message)
      },
      error() {},
      forComponent() {
        return logger
      },
    }
    openStore({ logger })
    expect(warnings.join('\n')).toMatch(/DEVELOPMENT secrets/)
  })

  it('close() aborts an open writer and is idempotent', async () => {
    const store = openStore()
    const writer = store.beginBlock(chainHeader(1n))
    writer.set('1', 'a', '1')
    await store.close()
    await store.close()
    expect(writer.status).toBe('aborted')
    expect(() => store.cursor()).toThrow(StateStoreClosedError)
    const reopened = openStore()
    expect(reopened.cursor()).toBeUndefined()
  })

  it('refuses directories holding other LMDB data or another format version', async () => {
    const env = openLmdb<Buffer, Buffer>({
      path: stores.dir,
      maxDbs: 8,
      encoding: 'binary',
      keyEncoding: 'binary',
    })
    const meta = env.openDB<Buffer, Buffer>({ name: 'meta', encoding: 'binary', keyEncoding: 'binary' })
    env.transactionSync(() => meta.putSync(Buffer.from('something'), Buffer.from('else')))
    await env.close()
    expect(catchError(() => StateStore.open({ path: stores.dir, secrets: testSecrets() }))).toBeInstanceOf(
      StateFormatError,
    )

    const env2 = openLmdb<Buffer, Buffer>({
      path: stores.dir,
      maxDbs: 8,
      encoding: 'binary',
      keyEncoding: 'binary',
    })
    const meta2 = env2.openDB<Buffer, Buffer>({ name: 'meta', encoding: 'binary', keyEncoding: 'binary' })
    env2.transactionSync(() => meta2.putSync(Buffer.from('format'), Buffer.of(0, 0, 0, 99)))
    await env2.close()
    const error = catchError(() =>
      StateStore.open({ path: stores.dir, secrets: testSecrets() }),
    ) as StateFormatError
    expect(error.code).toBe('STATE_FORMAT_UNSUPPORTED')
    expect(error.message).toContain('expected version 1')
  })
})

describe('block sequencing', () => {
  it('lets the first block start anywhere, then requires number + 1 and the cursor as parent', () => {
    const store = openStore()
    const writer = store.beginBlock(chainHeader(1000n))
    expect(() => store.beginBlock(chainHeader(1001n))).toThrow(BlockInProgressError)
    expect(() => store.rollbackTo(5n)).toThrow(BlockInProgressError)
    writer.commit()
    expect(() => writer.set('1', 'a', '1')).toThrow(BlockWriterClosedError)
    expect(() => writer.commit()).toThrow(BlockWriterClosedError)

    const gap = catchError(() => store.beginBlock(chainHeader(1002n))) as BlockSequenceError
    expect(gap).toBeInstanceOf(BlockSequenceError)
    expect(gap.code).toBe('BLOCK_NUMBER_MISMATCH')
    expect(gap.message).toContain('expected block number 1001, got 1002')

    const fork = catchError(() => store.beginBlock(chainHeader(1001n, 'other'))) as BlockSequenceError
    expect(fork.code).toBe('BLOCK_PARENT_MISMATCH')
    expect(fork.expected).toBe(chainHeader(1000n).hash)
    expect(fork.hint).toContain('roll the store back')

    const upper = chainHeader(1001n)
    const writer2 = store.beginBlock({
      ...upper,
      parentHash: upper.parentHash.toUpperCase().replace('0X', '0x') as Hex,
    })
    writer2.commit()
    expect(store.cursor()?.number).toBe(1001n)
  })

  it('validates arguments and names them', () => {
    const store = openStore()
    const writer = store.beginBlock(chainHeader(1n))
    const cases: Array<[() => unknown, string]> = [
      [() => store.get('', 'k'), 'contractId'],
      [() => store.get('a/b', 'k'), 'contractId'],
      [() => writer.set('1', 'k\uD800', '1'), 'key'],
      [() => writer.set('1', 'k', 'v\uDC00'), 'valueText'],
      [() => writer.set('1', 'k', 5 as unknown as string), 'valueText'],
      [() => writer.putPlain('Bad Table', 'k', Uint8Array.of()), 'table'],
      [() => writer.putPlain('code', 'x'.repeat(2000), Uint8Array.of()), 'key'],
      [() => writer.putPlain('code', 'k', 'str' as unknown as Uint8Array), 'value'],
      [() => writer.putReceipt('0x1234', '1', 'r'), 'txHash'],
      [() => writer.putReceipt(hashOf('t'), '', 'r'), 'contractId'],
      [() => store.rollbackTo(-1n), 'blockNumber'],
    ]
    for (const [fn, argument] of cases) {
      const error = catchError(fn) as StateArgumentError
      expect(error, argument).toBeInstanceOf(StateArgumentError)
      expect(error.argument).toBe(argument)
      expect(error.code).toBe('STATE_INVALID_ARGUMENT')
    }
    writer.abort()
    expect(catchError(() => store.beginBlock({ ...chainHeader(1n), hash: '0x12' as Hex }))).toMatchObject({
      argument: 'block.hash',
    })
    expect(
      catchError(() => store.beginBlock({ ...chainHeader(1n), number: 1 as unknown as bigint })),
    ).toMatchObject({
      argument: 'block.number',
    })
    expect(
      catchError(() => StateStore.open({ path: stores.dir, secrets: testSecrets(), undoDepth: 0 })),
    ).toMatchObject({
      argument: 'undoDepth',
    })
  })
})

describe('savepoints', () => {
  it('discard a failed command, digest included, and invalidate later savepoints', () => {
    const store = openStore()
    commitBlocks(store, 1, (w) => {
      w.set('1', 'kept', '"base"')
      w.putPlain('code', 'c', Uint8Array.of(1))
    })
    const writer = store.beginBlock(chainHeader(2n))
    const start = writer.savepoint()
    const d0 = writer.digest()
    expect(d0).toBe(store.stateDigest())

    writer.set('1', 'a', '1') // command 1 succeeds
    const d1 = writer.digest()
    const beforeCommand2 = writer.savepoint()
    writer.set('1', 'a', '2') // command 2 fails halfway
    writer.set('1', 'kept', '"changed"')
    writer.delete('1', 'kept')
    writer.putPlain('code', 'c', Uint8Array.of(2))
    writer.putReceipt(hashOf('failed'), '1', 'x')
    const inner = writer.savepoint()
    writer.set('2', 'z', '0')
    writer.rollbackTo(beforeCommand2)

    expect(writer.digest()).toBe(d1)
    expect(writer.get('1', 'a')).toBe('1')
    expect(writer.get('1', 'kept')).toBe('"base"')
    expect(writer.getPlain('code', 'c')).toEqual(Uint8Array.of(1))
    expect(writer.getReceipt(hashOf('failed'))).toBeUndefined()
    expect(writer.get('2', 'z')).toBeUndefined()
    expect(() => writer.rollbackTo(inner)).toThrow(InvalidSavepointError)

    writer.rollbackTo(beforeCommand2) // still valid, idempotent
    writer.rollbackTo(start)
    expect(writer.digest()).toBe(d0)

    const other = openStore({ path: mkdtempSync(join(tmpdir(), 'veil-state-other-')) })
    const foreign = other.beginBlock(chainHeader(1n)).savepoint()
    expect(() => writer.rollbackTo(foreign)).toThrow(/another block writer/)
    rmSync(other.path, { recursive: true, force: true })

    writer.set('1', 'a', '9')
    writer.commit()
    expect(store.get('1', 'a')).toBe('9')
    expect(store.get('1', 'kept')).toBe('"base"')
    expect(store.recomputeDigest()).toBe(store.stateDigest())
  })
})

describe('state digest', () => {
  const entry = fc.record({
    contractId: fc.constantFrom('1', '2', '77'),
    key: fc.string({ maxLength: 8 }),
    value: fc.json({ maxDepth: 1 }),
  })
  const entries = fc.uniqueArray(entry, { maxLength: 12, selector: (e) => `${e.contractId}\0${e.key}` })

  it('is independent of write order', () => {
    const store = openStore()
    fc.assert(
      fc.property(entries, fc.func(fc.integer()), (list, order) => {
        fc.pre(list.every((e) => !/\p{Cs}/u.test(e.key + e.value)))
        const a = store.beginBlock(chainHeader(1n))
        for (const e of list) a.set(e.contractId, e.key, e.value)
        const digestA = a.digest()
        a.abort()
        const shuffled = list.map((e, i) => ({ e, rank: order(i) })).sort((x, y) => x.rank - y.rank)
        const b = store.beginBlock(chainHeader(1n))
        // Different order, plus noise that is overwritten or deleted again.
        for (const { e } of shuffled) {
          b.set(e.contractId, e.key, '"noise"')
          b.set('2', `tmp:${e.key}`, '1')
        }
        for (const { e } of shuffled) {
          b.set(e.contractId, e.key, e.value)
          b.delete('2', `tmp:${e.key}`)
        }
        const digestB = b.digest()
        b.abort()
        const noTmpCollision = list.every((e) => !(e.contractId === '2' && e.key.startsWith('tmp:')))
        if (noTmpCollision) expect(digestB).toBe(digestA)
      }),
      { numRuns: 60 },
    )
  })

  it('differs for different content, including the same value under another key or contract', () => {
    const store = openStore()
    const digestOf = (fill: (w: BlockWriter) => void) => {
      const w = store.beginBlock(chainHeader(1n))
      fill(w)
      const digest = w.digest()
      w.abort()
      return digest
    }
    const digests = [
      digestOf(() => {}),
      digestOf((w) => w.set('1', 'a', '1')),
      digestOf((w) => w.set('1', 'a', '2')),
      digestOf((w) => w.set('1', 'b', '1')),
      digestOf((w) => w.set('2', 'a', '1')),
      digestOf((w) => {
        w.set('1', 'a', '1')
        w.set('1', 'b', '2')
      }),
      digestOf((w) => {
        w.set('1', 'a', '2')
        w.set('1', 'b', '1')
      }),
      digestOf((w) => w.putPlain('code', 'a', Buffer.from('1'))),
      digestOf((w) => w.putPlain('meta', 'a', Buffer.from('1'))),
      digestOf((w) => w.putReceipt(hashOf('t'), '1', '1')),
      digestOf((w) => w.putReceipt(hashOf('t'), '2', '1')),
      digestOf((w) => w.putReceipt(hashOf('u'), '1', '1')),
    ]
    expect(new Set(digests).size).toBe(digests.length)
    fc.assert(
      fc.property(entries, entry, (list, extra) => {
        fc.pre(![...list, extra].some((e) => /\p{Cs}/u.test(e.key + e.value)))
        const base = digestOf((w) => {
          for (const e of list) w.set(e.contractId, e.key, e.value)
        })
        const present = list.find((e) => e.contractId === extra.contractId && e.key === extra.key)
        const changed = digestOf((w) => {
          for (const e of list) w.set(e.contractId, e.key, e.value)
          w.set(extra.contractId, extra.key, extra.value)
        })
        if (present?.value === extra.value) expect(changed).toBe(base)
        else expect(changed).not.toBe(base)
      }),
      { numRuns: 60 },
    )
  })

  it('returns to the previous digest after set-then-delete or overwrite-then-restore', () => {
    const store = openStore()
    commitBlocks(store, 1, (w) => {
      w.set('1', 'x', '"committed"')
      w.putPlain('code', 'p', Uint8Array.of(1))
    })
    const committed = store.stateDigest()
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), fc.json({ maxDepth: 1 }), (key, value) => {
        fc.pre(!/\p{Cs}/u.test(key + value) && key !== 'x')
        const w = store.beginBlock(chainHeader(2n))
        w.set('1', key, value)
        w.delete('1', key)
        expect(w.digest()).toBe(committed)
        w.set('1', 'x', value)
        w.set('1', 'x', '"committed"')
        w.putPlain('code', 'p', Uint8Array.of(2))
        w.putPlain('code', 'p', Uint8Array.of(1))
        w.putReceipt(hashOf(key), '1', value)
        w.putReceipt(hashOf(key), '2', value)
        expect(w.digest()).not.toBe(committed)
        w.abort()
      }),
      { numRuns: 40 },
    )
    // A block whose net effect is nothing commits nothing and keeps the digest.
    const w = store.beginBlock(chainHeader(2n))
    w.set('1', 'y', '1')
    w.delete('1', 'y')
    expect(w.commit().stateDigest).toBe(committed)
    expect(store.recomputeDigest()).toBe(committed)
  })

  it('matches a from-scratch recomputation after many random blocks', () => {
    const store = openStore()
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('1', '2'), fc.nat(15), fc.option(fc.nat(3))), { maxLength: 30 }),
        (ops) => {
          commitBlocks(store, 1, (w) => {
            for (const [contractId, k, v] of ops) {
              if (v === null) w.delete(contractId, `k${k}`)
              else w.set(contractId, `k${k}`, String(v))
            }
          })
          expect(store.recomputeDigest()).toBe(store.stateDigest())
        },
      ),
      { numRuns: 30 },
    )
  })
})

describe('rewinds', () => {
  it('undoes up to 128 blocks exactly and refuses deeper rewinds with REWIND_TOO_DEEP', () => {
    const store = openStore()
    const snapshots = new Map<bigint, { digest: Hex; values: Array<string | undefined> }>()
    const probe = () => Array.from({ length: 12 }, (_, k) => store.get(String(1 + (k % 2)), `k${k}`))
    commitBlocks(store, 130, (w, n) => {
      const i = Number(n)
      w.set(String(1 + (i % 2)), `k${i % 12}`, encodeValue({ i }))
      if (i % 5 === 0) w.delete('1', `k${(i + 3) % 12}`)
      w.putPlain('blocks', `${i % 10}`, Uint8Array.of(i))
      w.putReceipt(hashOf(`tx${i}`), '1', `r${i}`)
    })
    const final = { digest: store.stateDigest(), values: probe() }
    expect(store.cursor()?.number).toBe(130n)

    const deep = catchError(() => store.rollbackTo(1n)) as RewindTooDeepError
    expect(deep).toBeInstanceOf(RewindTooDeepError)
    expect(deep.code).toBe('REWIND_TOO_DEEP')
    expect(deep.targetBlock).toBe(1n)
    expect(deep.cursorBlock).toBe(130n)
    expect(deep.deepestReachableBlock).toBe(2n)
    expect(deep.message).toMatch(/from block 130 to block 1/)
    expect(deep.message).toMatch(/reaches back to block 2/)
    // Refusal changes nothing.
    expect(store.cursor()?.number).toBe(130n)
    expect(store.stateDigest()).toBe(final.digest)
    expect(probe()).toEqual(final.values)

    store.rollbackTo(130n) // no-op
    store.rollbackTo(500n) // no-op: nothing above 500
    expect(store.stateDigest()).toBe(final.digest)

    // Replay the same 130 blocks into a second store, recording every block's snapshot.
    const replayDir = mkdtempSync(join(tmpdir(), 'veil-state-replay-'))
    const replay = StateStore.open({ path: replayDir, secrets: testSecrets() })
    stores.track(replay)
    for (let i = 1; i <= 130; i++) {
      const w = replay.beginBlock(chainHeader(BigInt(i)))
      w.set(String(1 + (i % 2)), `k${i % 12}`, encodeValue({ i }))
      if (i % 5 === 0) w.delete('1', `k${(i + 3) % 12}`)
      w.putPlain('blocks', `${i % 10}`, Uint8Array.of(i))
      w.putReceipt(hashOf(`tx${i}`), '1', `r${i}`)
      w.commit()
      snapshots.set(BigInt(i), {
        digest: replay.stateDigest(),
        values: Array.from({ length: 12 }, (_, k) => replay.get(String(1 + (k % 2)), `k${k}`)),
      })
    }
    expect(snapshots.get(130n)?.digest).toBe(final.digest)

    store.rollbackTo(100n)
    expect(store.cursor()).toEqual({ number: 100n, hash: chainHeader(100n).hash })
    expect(store.stateDigest()).toBe(snapshots.get(100n)?.digest)
    expect(probe()).toEqual(snapshots.get(100n)?.values)
    expect(store.getReceipt(hashOf('tx101'))).toBeUndefined()
    expect(store.getReceipt(hashOf('tx100'))).toEqual({ contractId: '1', receiptText: 'r100' })

    store.rollbackTo(2n) // the deepest point of the window
    expect(store.cursor()?.number).toBe(2n)
    expect(store.stateDigest()).toBe(snapshots.get(2n)?.digest)
    expect(store.recomputeDigest()).toBe(snapshots.get(2n)?.digest)
    expect(probe()).toEqual(snapshots.get(2n)?.values)
    expect(() => store.rollbackTo(1n)).toThrow(RewindTooDeepError)

    // Follow a reorganised branch from block 2.
    const writer = store.beginBlock(chainHeader(3n, 'fork', 2n))
    writer.set('1', 'fork', '"yes"')
    writer.commit()
    expect(store.get('1', 'fork')).toBe('"yes"')
    expect(store.recomputeDigest()).toBe(store.stateDigest())
    rmSync(replayDir, { recursive: true, force: true })
  })

  it('prunes the undo log to the configured depth', () => {
    const store = openStore({ undoDepth: 3 })
    commitBlocks(store, 6, (w, n) => w.set('1', 'n', String(n)))
    store.rollbackTo(3n)
    expect(store.get('1', 'n')).toBe('3')
    const error = catchError(() => store.rollbackTo(2n)) as RewindTooDeepError
    expect(error.code).toBe('REWIND_TOO_DEEP')
    expect(error.deepestReachableBlock).toBe(3n)
  })

  it('prunes to a lowered depth after a reopen, then one record per block', async () => {
    const first = openStore({ undoDepth: 10 })
    commitBlocks(first, 12, (w, n) => w.set('1', 'n', String(n)))
    await stores.close(first)
    const store = openStore({ undoDepth: 3 })
    const deepest = () => (catchError(() => store.rollbackTo(0n)) as RewindTooDeepError).deepestReachableBlock
    expect(deepest()).toBe(2n) // records 3..12 from the first run (depth 10)
    commitBlocks(store, 1, (w, n) => w.set('1', 'n', String(n))) // block 13 keeps 11..13 only
    expect(deepest()).toBe(10n)
    commitBlocks(store, 5, (w, n) => w.set('1', 'n', String(n)))
    expect(deepest()).toBe(15n)
    store.rollbackTo(15n)
    expect(store.get('1', 'n')).toBe('15')
    expect(store.recomputeDigest()).toBe(store.stateDigest())
  })

  it('rolling back past the first block empties the store', () => {
    const store = openStore({ undoDepth: 10 })
    const first = store.beginBlock(chainHeader(50n))
    first.set('1', 'a', '1')
    first.putPlain('code', 'c', Uint8Array.of(1))
    first.putReceipt(hashOf('t'), '1', 'r')
    first.commit()
    commitBlocks(store, 3, (w, n) => w.set('1', 'a', String(n)))
    store.rollbackTo(0n)
    expect(store.cursor()).toBeUndefined()
    expect(store.stateDigest()).toBe(EMPTY_DIGEST)
    expect(store.recomputeDigest()).toBe(EMPTY_DIGEST)
    expect(store.get('1', 'a')).toBeUndefined()
    expect(store.getPlain('code', 'c')).toBeUndefined()
    expect(store.getReceipt(hashOf('t'))).toBeUndefined()
    store.beginBlock(chainHeader(7n)).commit()
    expect(store.cursor()?.number).toBe(7n)
  })
})

describe('committed-state cache', () => {
  /** Commits one block on top of the cursor, whatever chain the cursor is on. */
  let blockCounter = 0
  const commitNext = (store: StateStore, write: (writer: BlockWriter) => void): void => {
    const cursor = store.cursor()
    const number = (cursor?.number ?? 0n) + 1n
    const writer = store.beginBlock({
      number,
      hash: hashOf(`cache-test:${blockCounter++}`),
      parentHash: cursor?.hash ?? hashOf('genesis'),
    })
    write(writer)
    writer.commit()
  }

  it('serves reads of later blocks and forgets everything on a rollback', () => {
    const store = openStore()
    commitNext(store, (w) => w.set('1', 'n', '1'))
    commitNext(store, (w) => {
      expect(w.get('1', 'n')).toBe('1') // a cached read
      w.set('1', 'n', '2')
    })
    expect(store.get('1', 'n')).toBe('2')
    store.rollbackTo(1n)
    expect(store.get('1', 'n')).toBe('1')
    commitNext(store, (w) => {
      expect(w.get('1', 'n')).toBe('1')
      w.set('1', 'n', '3')
    })
    expect(store.get('1', 'n')).toBe('3')
    expect(store.recomputeDigest()).toBe(store.stateDigest())
  })

  it('agrees with a model through random blocks, failed commands and rollbacks', () => {
    const store = openStore()
    const keys = Array.from({ length: 6 }, (_, k) => `k${k}`)
    // history[i] = the model after block i (history[0]: the empty store).
    const history: Array<Map<string, string>> = [new Map()]
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(5), fc.option(fc.nat(4)), fc.boolean()), { maxLength: 12 }),
        fc.nat(3),
        (ops, rollback) => {
          const cursor = store.cursor()?.number ?? 0n
          if (rollback > 0 && BigInt(rollback) <= cursor) {
            store.rollbackTo(cursor - BigInt(rollback))
            history.length -= rollback
          }
          const model = new Map(history.at(-1))
          commitNext(store, (w) => {
            for (const [k, v, fails] of ops) {
              const key = keys[k] as string
              const savepoint = w.savepoint()
              expect(w.get('1', key)).toBe(model.get(key))
              if (v === null) w.delete('1', key)
              else w.set('1', key, String(v))
              if (fails) w.rollbackTo(savepoint)
              else if (v === null) model.delete(key)
              else model.set(key, String(v))
            }
          })
          history.push(model)
          for (const key of keys) expect(store.get('1', key)).toBe(model.get(key))
          expect(store.recomputeDigest()).toBe(store.stateDigest())
        },
      ),
      { numRuns: 60 },
    )
  })
})

describe('CommittedStateCache', () => {
  const entry = (valueBytes: number) => ({
    hkey: Buffer.alloc(32),
    recordKey: Buffer.alloc(40),
    raw: Buffer.alloc(valueBytes + 28),
    value: Buffer.alloc(valueBytes),
    element: undefined,
  })

  it('evicts the least recently used entries beyond its budget', () => {
    const cache = new CommittedStateCache(5 * 1024)
    cache.set('1', 'a', entry(1000))
    cache.set('1', 'b', entry(1000))
    expect(cache.get('1', 'a')).toBeDefined() // now b is the oldest
    cache.set('1', 'c', entry(1000))
    expect(cache.get('1', 'b')).toBeUndefined()
    expect(cache.get('1', 'a')).toBeDefined()
    expect(cache.get('1', 'c')).toBeDefined()
    expect(cache.get('2', 'a')).toBeUndefined()
  })

  it('does not keep large values, and replacing an entry drops the old one', () => {
    const cache = new CommittedStateCache(16 * 1024 * 1024)
    cache.set('1', 'a', entry(10))
    cache.set('1', 'a', entry(100 * 1024))
    expect(cache.get('1', 'a')).toBeUndefined()
    expect(cache.size).toBe(0)
  })
})

describe('confidentiality and integrity on disk', () => {
  const SECRET = 'hunter2-very-secret'
  const KEY_NAME = 'password-key-name-canary'
  const RECEIPT = 'receipt-plaintext-canary-42'
  const PUBLIC = 'public-table-canary'

  function filesUnder(path: string): Buffer[] {
    return readdirSync(path, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile())
      .map((entry) => readFileSync(join(entry.parentPath, entry.name)))
  }

  it('keeps secret values, key names and receipts out of the LMDB files (undo log included)', async () => {
    const store = openStore()
    commitBlocks(store, 1, (w) => {
      w.set('1', KEY_NAME, encodeValue(SECRET))
      w.set('1', 'nested', encodeValue({ password: SECRET, bytes: new TextEncoder().encode(SECRET) }))
      w.putReceipt(hashOf('tx'), '1', encodeValue({ echo: RECEIPT }))
      w.putPlain('meta', 'readme', Buffer.from(PUBLIC))
    })
    // Overwrite and delete so that old sealed values move into the undo log.
    commitBlocks(store, 1, (w) => {
      w.set('1', KEY_NAME, encodeValue(`${SECRET}-v2`))
      w.delete('1', 'nested')
      w.putReceipt(hashOf('tx2'), '2', RECEIPT)
    })
    expect(store.get('1', KEY_NAME)).toBe(encodeValue(`${SECRET}-v2`))
    await store.close()

    const files = filesUnder(stores.dir)
    expect(files.length).toBeGreaterThan(0)
    const found = (needle: string) => files.some((file) => file.includes(Buffer.from(needle, 'utf8')))
    // Control: the scan does see public data, so "not found" below means something.
    expect(found(PUBLIC)).toBe(true)
    expect(found(SECRET)).toBe(false)
    expect(found('hunter2')).toBe(false)
    expect(found(KEY_NAME)).toBe(false)
    expect(found(RECEIPT)).toBe(false)
    expect(found(Buffer.from(SECRET).toString('base64url').slice(0, 16))).toBe(false)
  })

  it('refuses a value moved to another key or another contract, and a receipt moved to another tx', async () => {
    const store = openStore()
    commitBlocks(store, 1, (w) => {
      w.set('1', 'balance', '100')
      w.set('1', 'limit', '5')
      w.set('2', 'balance', '7')
      w.putReceipt(hashOf('a'), '1', 'receipt a')
    })
    await store.close()

    // Tamper directly in LMDB, as someone with the disk could.
    const env = openLmdb<Buffer, Buffer>({
      path: stores.dir,
      maxDbs: 8,
      encoding: 'binary',
      keyEncoding: 'binary',
    })
    const state = env.openDB<Buffer, Buffer>({ name: 'state', encoding: 'binary', keyEncoding: 'binary' })
    const receipts = env.openDB<Buffer, Buffer>({
      name: 'receipts',
      encoding: 'binary',
      keyEncoding: 'binary',
    })
    const records = Array.from(state.getRange({})).map(({ key, value }) => ({
      key: Buffer.from(key),
      value: Buffer.from(value),
    }))
    const ofContract = (id: string) =>
      records.filter((r) => r.key.subarray(1, 1 + (r.key[0] ?? 0)).toString() === id)
    const [a1, a2] = ofContract('1')
    const [b1] = ofContract('2')
    if (!a1 || !a2 || !b1) throw new Error('expected three records')
    env.transactionSync(() => {
      state.putSync(a2.key, a1.value) // contract 1: one key's value under another key
      state.putSync(b1.key, a1.value) // contract 1's value under contract 2's key
      const receipt = receipts.getBinary(Buffer.from(hashOf('a').slice(2), 'hex'))
      if (receipt) receipts.putSync(Buffer.from(hashOf('b').slice(2), 'hex'), receipt)
    })
    await env.close()

    const reopened = openStore()
    const moved = [
      catchError(() => [reopened.get('1', 'balance'), reopened.get('1', 'limit')]),
      catchError(() => reopened.get('2', 'balance')),
      catchError(() => reopened.getReceipt(hashOf('b'))),
      catchError(() => reopened.recomputeDigest()),
    ]
    for (const error of moved) {
      expect(error).toBeInstanceOf(StateIntegrityError)
      expect((error as StateIntegrityError).code).toBe('STATE_INTEGRITY')
    }
    expect(reopened.getReceipt(hashOf('a'))?.receiptText).toBe('receipt a')
  })

  it('cannot be read with another secret', async () => {
    const store = openStore()
    commitBlocks(store, 1, (w) => w.set('1', 'k', '"v"'))
    await store.close()
    const wrong = openStore({ secrets: testSecrets(new Uint8Array(32).fill(9)) })
    // Different secret, different key hash: the record is simply not found under that name...
    expect(wrong.get('1', 'k')).toBeUndefined()
    // ...and the record that is there does not open.
    expect(() => wrong.recomputeDigest()).toThrow(StateIntegrityError)
  })
})

describe('LMDB atomicity (the primitive commit relies on)', () => {
  it('a transactionSync that throws writes nothing to any named database', async () => {
    const env = openLmdb<Buffer, Buffer>({
      path: stores.dir,
      maxDbs: 4,
      encoding: 'binary',
      keyEncoding: 'binary',
    })
    const a = env.openDB<Buffer, Buffer>({ name: 'a', encoding: 'binary', keyEncoding: 'binary' })
    const b = env.openDB<Buffer, Buffer>({ name: 'b', encoding: 'binary', keyEncoding: 'binary' })
    expect(() =>
      env.transactionSync(() => {
        a.putSync(Buffer.from('k'), Buffer.from('1'))
        b.putSync(Buffer.from('k'), Buffer.from('2'))
        throw new Error('crash in the middle')
      }),
    ).toThrow('crash in the middle')
    expect(a.getBinary(Buffer.from('k'))).toBeUndefined()
    expect(b.getBinary(Buffer.from('k'))).toBeUndefined()
    await env.close()
  })
})
