import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Hex } from '@veil/protocol'
import { afterEach, describe, expect, it } from 'vitest'
import { StateStore } from './store.js'
import { applyDemoBlock, chainHeader, hashOf, testSecrets } from './testing.js'

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, '../../../..')
const dirs: string[] = []

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

/**
 * Runs crash-child.ts on `dir` until it has committed `blocks` blocks, then SIGKILLs it `delayMs` later
 * (so the kill lands at an arbitrary point: inside a commit, while sealing, between blocks).
 */
function runAndKill(
  dir: string,
  blocks: bigint,
  delayMs: number,
): Promise<{ first: bigint; lastPrinted: bigint }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'crash-child.ts'), dir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let pending = ''
    let stderr = ''
    let first: bigint | undefined
    let lastPrinted: bigint | undefined
    let killScheduled = false
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      pending += chunk
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        if (line.startsWith('ready ')) first = BigInt(line.slice(6))
        else if (line !== '') lastPrinted = BigInt(line)
      }
      if (
        !killScheduled &&
        first !== undefined &&
        lastPrinted !== undefined &&
        lastPrinted - first + 1n >= blocks
      ) {
        killScheduled = true
        setTimeout(() => child.kill('SIGKILL'), delayMs)
      }
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' && first !== undefined && lastPrinted !== undefined)
        resolvePromise({ first, lastPrinted })
      else reject(new Error(`crash child ended with code ${code}, signal ${signal}\n${stderr}`))
    })
  })
}

describe('crash safety', () => {
  it('after kill -9 at an arbitrary point the store is at a committed block with a consistent digest', async () => {
    const dir = tempDir('veil-state-crash-')
    // Reference: the same deterministic blocks replayed in-process, one digest per block.
    const replay = StateStore.open({ path: tempDir('veil-state-crash-replay-'), secrets: testSecrets() })
    const expected = new Map<bigint, Hex>()
    const replayTo = (target: bigint) => {
      for (let n = (replay.cursor()?.number ?? 0n) + 1n; n <= target; n++) {
        const writer = replay.beginBlock(chainHeader(n))
        applyDemoBlock(writer, n)
        expected.set(n, writer.commit().stateDigest)
      }
    }

    try {
      let previous = 0n
      for (const delayMs of [0, 3, 11]) {
        const { first, lastPrinted } = await runAndKill(dir, 25n, delayMs)
        expect(first).toBe(previous + 1n) // resumed right after the last committed block

        const store = StateStore.open({ path: dir, secrets: testSecrets() })
        try {
          const cursor = store.cursor()
          if (cursor === undefined) throw new Error('no block committed')
          // Every printed block was committed; at most one more committed before the kill landed.
          expect(cursor.number).toBeGreaterThanOrEqual(lastPrinted)
          expect(cursor.number).toBeLessThanOrEqual(lastPrinted + 1n)
          expect(cursor.hash).toBe(chainHeader(cursor.number).hash)
          replayTo(cursor.number)
          expect(store.stateDigest()).toBe(expected.get(cursor.number))
          expect(store.recomputeDigest()).toBe(store.stateDigest())
          expect(store.getReceipt(hashOf(`tx:${cursor.number}`))).toEqual(
            replay.getReceipt(hashOf(`tx:${cursor.number}`)),
          )
          expect(store.getReceipt(hashOf(`tx:${cursor.number + 1n}`))).toBeUndefined()
          for (let k = 0; k < 50; k += 7) expect(store.get('2', `k${k}`)).toBe(replay.get('2', `k${k}`))
          // The undo log survived too: step back a few blocks and land on the replayed digest.
          const back = cursor.number - 5n
          store.rollbackTo(back)
          expect(store.stateDigest()).toBe(expected.get(back))
          expect(store.recomputeDigest()).toBe(expected.get(back))
          previous = back
        } finally {
          await store.close()
        }
        // The replay must be rolled back too so that it keeps mirroring the store's history.
        replay.rollbackTo(previous)
      }
    } finally {
      await replay.close()
    }
  }, 60_000)
})
