import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DirLock } from './dir-lock.js'
import { VeilError } from './errors.js'

const root = mkdtempSync(join(tmpdir(), 'veil-dir-lock-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const owner = {
  what: 'the test dir',
  code: 'TEST_DIR_IN_USE',
  heldHereHint: 'release it first',
  heldByHint: (pid: number) => `kill ${pid}`,
}

function refusal(path: string): VeilError {
  try {
    DirLock.acquire(path, owner)
  } catch (error) {
    expect(error).toBeInstanceOf(VeilError)
    return error as VeilError
  }
  throw new Error('expected a refusal')
}

describe('DirLock', () => {
  it('locks, refuses a second lock in this process, and releases idempotently', () => {
    const path = join(root, 'a.lock')
    const lock = DirLock.acquire(path, owner)
    expect(readFileSync(path, 'utf8')).toBe(String(process.pid))
    expect(refusal(path)).toMatchObject({ code: 'TEST_DIR_IN_USE', hint: 'release it first' })
    lock.release()
    lock.release()
    DirLock.acquire(path, owner).release()
  })

  it('takes over a stale lock and refuses one held by a live process', () => {
    const stale = join(root, 'stale.lock')
    writeFileSync(stale, '2147483646') // no such process
    DirLock.acquire(stale, owner).release()
    const live = join(root, 'live.lock')
    writeFileSync(live, String(process.ppid))
    expect(refusal(live)).toMatchObject({ code: 'TEST_DIR_IN_USE', hint: `kill ${process.ppid}` })
    expect(readFileSync(live, 'utf8')).toBe(String(process.ppid)) // left alone
  })
})
