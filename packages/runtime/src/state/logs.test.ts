import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { open as openLmdb } from 'lmdb'
import { describe, expect, it } from 'vitest'
import { StateArgumentError, StateIntegrityError } from './errors.js'
import type { StateStore, StateStoreOptions } from './store.js'
import { useTempStores } from './temp-stores.js'
import { chainHeader } from './testing.js'

const stores = useTempStores('veil-logs-')
const openStore = (options: Partial<StateStoreOptions> = {}) => stores.open(options)
const reopen = (store: StateStore, options: Partial<StateStoreOptions> = {}) => stores.reopen(store, options)

const texts = (records: { text: string }[]) => records.map((r) => r.text)

describe('contract logs', () => {
  it('are written with their block, in order, numbered per contract, and survive a restart', async () => {
    let store = openStore()
    const writer = store.beginBlock(chainHeader(1n))
    writer.appendLog('1', 'one')
    writer.appendLog('2', 'other contract')
    writer.appendLog('1', 'two')
    expect(store.readLogs('1')).toEqual([]) // not before the commit
    const digestBefore = writer.digest()
    writer.commit()
    expect(store.stateDigest()).toBe(digestBefore) // logs are not state
    expect(store.readLogs('1')).toEqual([
      { seq: 1n, text: 'one' },
      { seq: 2n, text: 'two' },
    ])
    expect(store.readLogs('2')).toEqual([{ seq: 1n, text: 'other contract' }])
    store = await reopen(store)
    expect(store.lastLogSeq('1')).toBe(2n)
    const next = store.beginBlock(chainHeader(2n))
    next.appendLog('1', 'three')
    next.commit()
    expect(store.readLogs('1', { after: 1n })).toEqual([
      { seq: 2n, text: 'two' },
      { seq: 3n, text: 'three' },
    ])
    expect(store.readLogs('1', { after: 1n, limit: 1 })).toEqual([{ seq: 2n, text: 'two' }])
    expect(store.readLogs('9')).toEqual([])
    expect(store.lastLogSeq('9')).toBe(0n)
  })

  it('keep a failed command’s lines (savepoint rollback), but not those of an aborted block', () => {
    const store = openStore()
    const aborted = store.beginBlock(chainHeader(1n))
    aborted.appendLog('1', 'never committed')
    aborted.abort()
    const writer = store.beginBlock(chainHeader(1n))
    const savepoint = writer.savepoint()
    writer.set('1', 'k', '1')
    writer.appendLog('1', 'why it failed')
    writer.rollbackTo(savepoint)
    writer.commit()
    expect(texts(store.readLogs('1'))).toEqual(['why it failed'])
    expect(store.get('1', 'k')).toBeUndefined()
  })

  it('are left in place by a rollback of their block (they describe what ran)', () => {
    const store = openStore()
    for (const n of [1n, 2n]) {
      const writer = store.beginBlock(chainHeader(n))
      writer.appendLog('1', `block ${n}`)
      writer.commit()
    }
    store.rollbackTo(1n)
    const writer = store.beginBlock(chainHeader(2n, 'fork', 1n))
    writer.appendLog('1', 'block 2 on the fork')
    writer.commit()
    expect(store.readLogs('1').map((r) => [r.seq, r.text])).toEqual([
      [1n, 'block 1'],
      [2n, 'block 2'],
      [3n, 'block 2 on the fork'],
    ])
  })

  it('append outside a block (queries) and keep numbering across both paths', async () => {
    const store = openStore()
    await store.appendLogs([{ contractId: '1', text: 'query a' }])
    const writer = store.beginBlock(chainHeader(1n))
    writer.appendLog('1', 'command')
    writer.commit()
    await store.appendLogs([
      { contractId: '1', text: 'query b' },
      { contractId: '2', text: 'query c' },
    ])
    expect(store.readLogs('1').map((r) => [r.seq, r.text])).toEqual([
      [1n, 'query a'],
      [2n, 'command'],
      [3n, 'query b'],
    ])
    await store.appendLogs([])
  })

  it('keep only the newest `logRetention` entries of each contract', async () => {
    let store = openStore({ logRetention: 3 })
    await store.appendLogs(Array.from({ length: 5 }, (_, i) => ({ contractId: '1', text: `q${i + 1}` })))
    const writer = store.beginBlock(chainHeader(1n))
    writer.appendLog('1', 'c6')
    writer.appendLog('2', 'other')
    writer.commit()
    expect(store.readLogs('1').map((r) => [r.seq, r.text])).toEqual([
      [4n, 'q4'],
      [5n, 'q5'],
      [6n, 'c6'],
    ])
    store = await reopen(store, { logRetention: 3 })
    await store.appendLogs([{ contractId: '1', text: 'q7' }])
    expect(texts(store.readLogs('1'))).toEqual(['q5', 'c6', 'q7'])
    expect(texts(store.readLogs('2'))).toEqual(['other'])
  })

  it('never reach the disk in plaintext', async () => {
    const store = openStore()
    const secret = 'a-very-recognisable-log-line-0123456789'
    const writer = store.beginBlock(chainHeader(1n))
    writer.appendLog('1', secret)
    writer.commit()
    await store.appendLogs([{ contractId: '1', text: `${secret}-query` }])
    await stores.close(store)
    for (const file of readdirSync(stores.dir)) {
      expect(readFileSync(join(stores.dir, file)).includes(Buffer.from(secret))).toBe(false)
    }
  })

  it('refuse an entry moved to another position or contract', async () => {
    const store = openStore()
    const writer = store.beginBlock(chainHeader(1n))
    writer.appendLog('1', 'first')
    writer.appendLog('1', 'second')
    writer.commit()
    await stores.close(store)
    // Swap the two sealed entries on disk, as an operator could.
    const env = openLmdb({ path: stores.dir })
    const db = env.openDB<Buffer, Buffer>({ name: 'logs', encoding: 'binary', keyEncoding: 'binary' })
    const entries = [...db.getRange({})]
    expect(entries).toHaveLength(2)
    const [a, b] = entries as [{ key: Buffer; value: Buffer }, { key: Buffer; value: Buffer }]
    await db.put(a.key, b.value)
    await db.put(b.key, a.value)
    await env.close()
    const reopened = openStore()
    expect(() => reopened.readLogs('1')).toThrow(StateIntegrityError)
  })

  it('reject bad arguments with a typed error', () => {
    const store = openStore()
    expect(() => store.readLogs('1', { limit: 0 })).toThrow(StateArgumentError)
    expect(() => store.readLogs('1', { limit: 1001 })).toThrow(StateArgumentError)
    expect(() => store.readLogs('1', { after: -1n })).toThrow(StateArgumentError)
    expect(() => store.readLogs('a/b')).toThrow(StateArgumentError)
    const writer = store.beginBlock(chainHeader(1n))
    expect(() => writer.appendLog('a/b', 'x')).toThrow(StateArgumentError)
    expect(() => writer.appendLog('1', 'x'.repeat(65 * 1024))).toThrow(StateArgumentError)
    writer.commit()
    expect(store.readLogs('1')).toEqual([])
    expect(() => openStore({ path: join(stores.dir, 'other'), logRetention: 0 })).toThrow(StateArgumentError)
  })
})
