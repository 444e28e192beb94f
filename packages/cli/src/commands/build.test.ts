import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { keccak256, toBytes } from 'viem'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../testing.js'

const counter = fileURLToPath(new URL('../../../contract/src/fixtures/counter.ts', import.meta.url))
const usesFs = fileURLToPath(new URL('../../../contract/src/fixtures/uses-fs.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'veil-cli-build-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('veil build', () => {
  it('writes the bundle to dist/<name>.js and prints size and code hash', async () => {
    const { code, stdout } = await runCli(['build', counter], { cwd: dir })
    expect(code).toBe(0)
    const bundle = readFileSync(join(dir, 'dist', 'counter.js'), 'utf8')
    expect(stdout).toMatch(/^built dist\/counter\.js \(\d+\.\d KiB\) in \d+ ms\n/)
    expect(stdout).toContain(`code hash ${keccak256(toBytes(bundle))}`)
  })

  it('prints JSON with --json and honours -o', async () => {
    const out = join(dir, 'out', 'c.js')
    const { code, stdout } = await runCli(['build', counter, '-o', out, '--json', '--minify'], { cwd: dir })
    expect(code).toBe(0)
    const result = JSON.parse(stdout)
    const bundle = readFileSync(out, 'utf8')
    expect(result).toMatchObject({
      ok: true,
      out,
      bytes: Buffer.byteLength(bundle),
      codeHash: keccak256(toBytes(bundle)),
    })
  })

  it('exits 1 with the reason when the contract imports Node modules', async () => {
    const { code, stderr } = await runCli(['build', usesFs], { cwd: dir })
    expect(code).toBe(1)
    expect(stderr).toContain('"node:fs" is a Node.js module')
  })

  it('exits 2 without an entry', async () => {
    const { code, stderr } = await runCli(['build'], { cwd: dir })
    expect(code).toBe(2)
    expect(stderr).toContain('exactly one entry file')
  })
})
