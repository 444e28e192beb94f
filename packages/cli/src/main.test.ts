import { describe, expect, it } from 'vitest'
import { commands } from './commands/index.js'
import { runCli } from './testing.js'
import { version } from './version.js'

describe('veil', () => {
  it('prints help with every command', async () => {
    const { code, stdout } = await runCli(['--help'])
    expect(code).toBe(0)
    for (const c of commands) expect(stdout).toContain(c.name.join(' '))
    expect((await runCli([])).stdout).toContain('Usage: veil <command>')
  })

  it('prints the version', async () => {
    expect(await runCli(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` })
    expect(version).toMatch(/^\d+\.\d+\.\d+/)
  })

  it.each(commands.map((c) => [c.name.join(' '), c] as const))(
    'has --help for %s',
    async (_name, command) => {
      const { code, stdout } = await runCli([...command.name, '--help'])
      expect(code).toBe(0)
      expect(stdout).toContain(command.summary)
      expect(stdout).toContain(`veil ${command.name.join(' ')}`)
      expect((await runCli(['help', ...command.name])).stdout).toBe(stdout)
    },
  )

  it('exits 2 with a fix for an unknown command', async () => {
    const { code, stderr } = await runCli(['deplyo'])
    expect(code).toBe(2)
    expect(stderr).toContain('unknown command "deplyo"')
    expect(stderr).toContain('veil --help')
  })

  it('exits 2 for an unknown option and a bad value', async () => {
    const unknown = await runCli(['dev', '--frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('--frobnicate')
    expect(unknown.stderr).toContain('veil dev --help')
    const bad = await runCli(['dev', '--port', '99999'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--port must be a whole number from 0 to 65535')
  })

  it('reports usage errors as JSON with --json', async () => {
    const { code, stdout } = await runCli(['dev', '--port', 'x', '--json'])
    expect(code).toBe(2)
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, error: { code: 'USAGE' } })
  })
})
