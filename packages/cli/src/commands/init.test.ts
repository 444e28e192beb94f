import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../testing.js'

const require = createRequire(import.meta.url)
const CLI_ROOT = fileURLToPath(new URL('../..', import.meta.url))
// Inside the repository (so @veil/contract resolves from its node_modules), in a git-ignored folder.
const parent = join(CLI_ROOT, '.cache')
mkdirSync(parent, { recursive: true })
const root = mkdtempSync(join(parent, 'init-test-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('veil init', () => {
  it('scaffolds a contract project whose own test passes', async () => {
    const { code, stdout } = await runCli(['init', 'my-counter'], { cwd: root })
    expect(code).toBe(0)
    expect(stdout).toContain('created my-counter in my-counter')
    const dir = join(root, 'my-counter')
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    expect(pkg).toMatchObject({
      name: 'my-counter',
      type: 'module',
      scripts: { test: 'vitest run', build: 'veil build src/contract.ts' },
      // A relative file: path to this checkout's packages/contract.
      dependencies: { '@veil/contract': 'file:../../../../contract' },
    })
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('outside the Veil repository')

    const vitest = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs')
    const test = spawnSync(process.execPath, [vitest, 'run', '--root', dir], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, CI: '1', NO_COLOR: '1' },
      timeout: 120_000,
    })
    expect(test.stdout + test.stderr).toMatch(/Tests\s+2 passed/)
    expect(test.status).toBe(0)
  }, 180_000)

  it('refuses a directory that is not empty unless --force, and prints JSON with --json', async () => {
    const dir = join(root, 'taken')
    mkdirSync(dir)
    writeFileSync(join(dir, 'notes.txt'), 'mine')
    const refused = await runCli(['init', 'taken'], { cwd: root })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('taken is not empty')
    expect(refused.stderr).toContain('--force')
    const forced = await runCli(['init', 'taken', '--force', '--json'], { cwd: root })
    expect(forced.code).toBe(0)
    expect(JSON.parse(forced.stdout)).toMatchObject({
      ok: true,
      files: [
        '.gitignore',
        'README.md',
        'package.json',
        'src/contract.test.ts',
        'src/contract.ts',
        'tsconfig.json',
        'vitest.config.ts',
      ],
    })
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine')
  })

  it('exits 2 without a directory', async () => {
    const { code, stderr } = await runCli(['init'], { cwd: root })
    expect(code).toBe(2)
    expect(stderr).toContain('exactly one directory')
  })
})
