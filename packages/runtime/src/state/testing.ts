/**
 * Test support for the state store: deterministic block headers, a dev secret, and a deterministic block
 * workload used by the crash test's child process and its replay. Not exported from the package.
 */
import { createHash } from 'node:crypto'
import { encodeValue, type Hex } from '@veil/protocol'
import { DevContractSecrets } from './secrets.js'
import type { BlockHeader, BlockWriter } from './writer.js'

/** A 32-byte hash derived from a label, for block and transaction hashes in tests. */
export function hashOf(label: string): Hex {
  return `0x${createHash('sha256').update(label).digest('hex')}`
}

/**
 * Header of block `number` on chain `fork`. Blocks at or below `forkedAfter` are shared with `main`, so
 * `chainHeader(n, 'b', 10n)` for n > 10 builds a reorganised branch on top of main's block 10.
 */
export function chainHeader(number: bigint, fork = 'main', forkedAfter = -1n): BlockHeader {
  const name = (n: bigint) => (n <= forkedAfter ? 'main' : fork)
  return {
    number,
    hash: hashOf(`${name(number)}:${number}`),
    parentHash: hashOf(`${name(number - 1n)}:${number - 1n}`),
  }
}

/** Fixed dev master secret for tests (development only, obviously). */
export const TEST_DEV_MASTER_SECRET = Uint8Array.from({ length: 32 }, (_, i) => i + 1)

export function testSecrets(devMasterSecret: Uint8Array = TEST_DEV_MASTER_SECRET): DevContractSecrets {
  return new DevContractSecrets({ devMasterSecret, clusterId: '1' })
}

/**
 * A deterministic block's worth of commands: overwrites, inserts, deletes, a failed command rolled back
 * to its savepoint, public bytes and a receipt. Same `number` → same writes.
 */
export function applyDemoBlock(writer: BlockWriter, number: bigint): void {
  const n = Number(number)
  for (let i = 0; i < 20; i++) {
    const contractId = String(1 + (i % 3))
    const key = `k${(n * 7 + i) % 50}`
    if ((n + i) % 9 === 0) writer.delete(contractId, key)
    else writer.set(contractId, key, encodeValue({ n, i, note: 'x'.repeat((n * i) % 64) }))
  }
  const failed = writer.savepoint()
  writer.set('1', 'doomed', encodeValue(n))
  writer.rollbackTo(failed)
  writer.putPlain('blocks', String(n), Uint8Array.of(n & 0xff, (n >> 8) & 0xff))
  writer.putReceipt(
    hashOf(`tx:${n}`),
    String(1 + (n % 3)),
    encodeValue({ ok: true, n, digest: writer.digest() }),
  )
}
