import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { veilCodeMeasurement } from './code-measurement.js'

const roots: string[] = []
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true })
})

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'veil-measure-'))
  roots.push(root)
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), content)
  }
  return root
}

describe('veilCodeMeasurement (simulated TEE)', () => {
  it('hashes the component’s source and version, ignoring tests and other packages', () => {
    const files = {
      'packages/runtime/src/a.ts': 'export const a = 1',
      'packages/runtime/src/a.test.ts': 'test',
      'packages/kms/src/k.ts': 'kms',
    }
    const base = veilCodeMeasurement('worker', '1.0.0', tree(files))
    expect(base).toMatch(/^0x[0-9a-f]{64}$/)
    expect(veilCodeMeasurement('worker', '1.0.0', tree(files))).toBe(base)
    expect(veilCodeMeasurement('worker', '1.0.1', tree(files))).not.toBe(base)
    expect(
      veilCodeMeasurement('worker', '1.0.0', tree({ ...files, 'packages/runtime/src/a.test.ts': 'x' })),
    ).toBe(base)
    expect(
      veilCodeMeasurement('worker', '1.0.0', tree({ ...files, 'packages/kms/src/k.ts': 'changed' })),
    ).toBe(base)
    expect(
      veilCodeMeasurement('worker', '1.0.0', tree({ ...files, 'packages/runtime/src/a.ts': 'b' })),
    ).not.toBe(base)
    expect(veilCodeMeasurement('kms', '1.0.0', tree(files))).not.toBe(base)
  })

  it('measures this checkout', () => {
    expect(veilCodeMeasurement('worker', '0.1.0')).toMatch(/^0x[0-9a-f]{64}$/)
  })
})
