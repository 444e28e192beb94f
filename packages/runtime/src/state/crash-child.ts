/**
 * Child process of the crash test (`crash.test.ts`): opens the store at argv[2], resumes after its cursor
 * and commits deterministic blocks forever, printing each committed block number, until it is SIGKILLed.
 * Run with `node --import tsx crash-child.ts <dir>`.
 */
import { StateStore } from './store.js'
import { applyDemoBlock, chainHeader, testSecrets } from './testing.js'

const path = process.argv[2]
if (path === undefined) throw new Error('usage: crash-child.ts <store directory>')
const store = StateStore.open({ path, secrets: testSecrets() })
let next = (store.cursor()?.number ?? 0n) + 1n
process.stdout.write(`ready ${next}\n`)
for (;;) {
  const writer = store.beginBlock(chainHeader(next))
  applyDemoBlock(writer, next)
  writer.commit()
  // Printed only after commit() returned: every number printed is durable.
  process.stdout.write(`${next}\n`)
  next++
}
