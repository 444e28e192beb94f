import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { VeilError } from '@veil/protocol'
import { SourceMapConsumer } from 'source-map-js'
import { describe, expect, it } from 'vitest'
import { BUNDLE_GLOBAL, buildContract } from './build.js'

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))

describe('buildContract', () => {
  it('bundles a contract and its imports into one IIFE assigning __veilModule', async () => {
    const bundle = await buildContract({ entry: fixture('counter.ts') })
    expect(bundle.code).toMatch(new RegExp(`^"use strict";\\nvar ${BUNDLE_GLOBAL} = \\(\\(\\) => \\{`))
    expect(bundle.code).toContain('function clamp(') // the helper module is inlined
    expect(bundle.code).not.toMatch(/\brequire\(|\bimport\s/)
    expect(bundle.bytes).toBe(Buffer.byteLength(bundle.code))
    // The bundle evaluates to the contract definition.
    const definition = new Function(`${bundle.code}; return ${BUNDLE_GLOBAL}.default`)() as {
      commands: Record<string, unknown>
      queries: Record<string, unknown>
    }
    expect(Object.keys(definition.commands)).toEqual(['add'])
    expect(Object.keys(definition.queries)).toEqual(['get'])
  })

  it('inlines a source map that leads back to the original TypeScript line', async () => {
    const bundle = await buildContract({ entry: fixture('counter.ts') })
    const match = /\/\/# sourceMappingURL=data:application\/json;base64,(\S+)\n$/.exec(bundle.code)
    expect(match).not.toBeNull()
    const map = JSON.parse(Buffer.from(match?.[1] ?? '', 'base64').toString('utf8'))
    expect(map.sourcesContent).toBeUndefined() // sources stay off chain
    expect(map.sources).toContain('counter.ts')
    const lines = bundle.code.split('\n')
    const generatedLine = lines.findIndex((l) => l.includes('cannot add a negative amount')) + 1
    const column = (lines[generatedLine - 1] ?? '').indexOf('throw')
    const original = new SourceMapConsumer(map).originalPositionFor({ line: generatedLine, column })
    expect(original.source).toMatch(/counter\.ts$/)
    expect(original.line).toBe(11)
  })

  it('is reproducible: the same sources give the same bytes from any working directory', async () => {
    const here = process.cwd()
    const a = await buildContract({ entry: fixture('counter.ts') })
    try {
      process.chdir('/')
      const b = await buildContract({ entry: fixture('counter.ts') })
      expect(b.code).toBe(a.code)
    } finally {
      process.chdir(here)
    }
  })

  it('can leave the source map out and minify', async () => {
    const full = await buildContract({ entry: fixture('counter.ts') })
    const small = await buildContract({ entry: fixture('counter.ts'), minify: true, sourceMap: false })
    expect(small.code).not.toContain('sourceMappingURL')
    expect(small.bytes).toBeLessThan(full.bytes / 2)
  })

  it('refuses Node built-ins with an explanation', async () => {
    const error = await buildContract({ entry: fixture('uses-fs.ts') }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(VeilError)
    expect((error as VeilError).code).toBe('BUILD_FAILED')
    expect((error as VeilError).message).toContain('"node:fs" is a Node.js module')
    expect((error as VeilError).message).toMatch(/uses-fs\.ts:1:/)
  })

  it('reports syntax errors with file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'veil-build-'))
    try {
      const broken = join(dir, 'broken.ts')
      writeFileSync(broken, 'export default {\n  queries: {\n    get( {\n      return 1\n    },\n  },\n}\n')
      const error = (await buildContract({ entry: broken }).catch((e: unknown) => e)) as VeilError
      expect(error.code).toBe('BUILD_FAILED')
      expect(error.message).toMatch(/broken\.ts:4:\d+: /)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('reports a missing entry', async () => {
    const error = (await buildContract({ entry: fixture('nope.ts') }).catch((e: unknown) => e)) as VeilError
    expect(error.code).toBe('BUILD_FAILED')
    expect(error.message).toMatch(/nope\.ts/)
  })
})
