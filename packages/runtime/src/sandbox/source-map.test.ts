import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContractEngine } from './engine.js'
import type { ContractError } from './errors.js'
import { BUNDLE_FILENAME, extractInlineSourceMap, PRELUDE_FILENAME, StackMapper } from './source-map.js'
import { call } from './test-support.js'

const SOURCE = `interface Ctx { storage: { get(key: string): unknown } }

function check(value: number): number {
  if (value < 0) {
    throw new RangeError(\`negative: \${value}\`)
  }
  return value
}

export default {
  commands: {
    validate(ctx: Ctx, value: number) {
      return check(value)
    },
  },
}
`

/** Builds like `veil build`: an esbuild IIFE with globalName __veilModule and a source map. */
async function buildContract(dir: string, sourcemap: 'inline' | 'external') {
  const entry = join(dir, 'counter.ts')
  await writeFile(entry, SOURCE)
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: dir,
    bundle: true,
    write: false,
    format: 'iife',
    globalName: '__veilModule',
    platform: 'neutral',
    target: 'es2022',
    sourcemap,
    sourcesContent: false,
    outfile: join(dir, 'counter.js'),
    logLevel: 'silent',
  })
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'))
  if (!js) throw new Error('no output')
  return { code: js.text.replace(/\n\/\/# sourceMappingURL=counter\.js\.map\n?$/, '\n'), map: map?.text }
}

describe('contract errors map to the original sources', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'veil-sandbox-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('uses the inline source map of the bundle', async () => {
    const { code } = await buildContract(dir, 'inline')
    expect(extractInlineSourceMap(code)).toContain('"mappings"')
    const engine = await ContractEngine.create(code)
    const outcome = await call(engine, 'command', 'validate', [-1])
    expect(outcome.ok).toBe(false)
    const error = (outcome.ok ? undefined : outcome.error) as ContractError
    expect(error.code).toBe('CONTRACT_ERROR')
    expect(error.shortMessage).toBe('RangeError: negative: -1')
    expect(error.frames[0]).toMatch(/^at check \(counter\.ts:5:/)
    expect(error.frames[1]).toMatch(/^at validate \(counter\.ts:13:/)
    expect(error.frames.join('\n')).not.toContain(PRELUDE_FILENAME)
    expect(error.mappedStack).toBe(error.frames.join('\n'))
    expect(error.message).toContain('at check (counter.ts:5:')
    engine.dispose()
  })

  it('accepts an explicit source map', async () => {
    const { code, map } = await buildContract(dir, 'external')
    expect(extractInlineSourceMap(code)).toBeUndefined()
    const engine = await ContractEngine.create(code, map ? { sourceMap: map } : {})
    const outcome = await call(engine, 'command', 'validate', [-2])
    const error = (outcome.ok ? undefined : outcome.error) as ContractError
    expect(error.frames[0]).toMatch(/^at check \(counter\.ts:5:/)
    engine.dispose()
  })
})

describe('StackMapper', () => {
  it('keeps raw frames without a map and drops engine frames', () => {
    const stack = [
      `    at inner (${BUNDLE_FILENAME}:3:9)`,
      '    at map (native)',
      `    at outer (${BUNDLE_FILENAME}:9:1)`,
      '    at apply (native)',
      `    at dispatch (${PRELUDE_FILENAME}:1:2000)`,
      '',
    ].join('\n')
    expect(new StackMapper(undefined).frames(stack)).toEqual([
      `at inner (${BUNDLE_FILENAME}:3:9)`,
      'at map (native)',
      `at outer (${BUNDLE_FILENAME}:9:1)`,
    ])
  })

  it('survives a broken source map', () => {
    expect(new StackMapper('{not json').frames(`    at f (${BUNDLE_FILENAME}:1:1)`)).toEqual([
      `at f (${BUNDLE_FILENAME}:1:1)`,
    ])
  })
})
