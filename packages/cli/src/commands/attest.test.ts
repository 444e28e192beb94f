import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../testing.js'

const DCAP = fileURLToPath(new URL('../../../../../shared/testdata/dcap', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'veil-attest-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const expected = (id: string) => JSON.parse(readFileSync(join(DCAP, id, 'expected.json'), 'utf8'))
const verify = (id: string, extra: string[] = [], quote = join(DCAP, id, 'quote.bin')) =>
  runCli(
    ['attest', 'verify', '--quote', quote, '--collateral', join(DCAP, id, 'collateral.json'), ...extra],
    {
      cwd: dir,
    },
  )

describe('veil attest verify', () => {
  it('verifies a TDX v4 quote at its collateral’s time: exit 0, JSON in Intel’s names', async () => {
    const want = expected('dcapqvl-tdx-v4')
    const { code, stdout } = await verify('dcapqvl-tdx-v4', ['--at', String(want.asOf), '--json'])
    expect(code).toBe(0)
    const body = JSON.parse(stdout)
    expect(body).toMatchObject({
      valid: true,
      tee: 'TDX',
      quoteVersion: 4,
      status: 'UpToDate',
      advisoryIds: [],
    })
    expect(body.measurement.mrTd).toBe(want.report.mr_td)
    expect(body.reportData).toBe(want.report.report_data)
  })

  it('verifies an SGX v3 quote given as hex, and prints a summary for people', async () => {
    const want = expected('dcapqvl-sgx-v3')
    const hex = join(dir, 'quote.hex')
    writeFileSync(hex, `0x${readFileSync(join(DCAP, 'dcapqvl-sgx-v3', 'quote.bin')).toString('hex')}\n`)
    const { code, stdout } = await verify('dcapqvl-sgx-v3', ['--at', String(want.asOf)], hex)
    expect(code).toBe(0)
    expect(stdout).toContain('valid: SGX quote v3, TCB status ConfigurationAndSWHardeningNeeded')
    expect(stdout).toContain('advisories: INTEL-SA-00289, INTEL-SA-00615')
    expect(stdout).toContain(`mrEnclave  ${want.report.mrenclave}`)
  })

  it('exits 1 for a quote that does not verify: expired collateral, no matching TCB level, a changed byte', async () => {
    const expired = await verify('dcapqvl-tdx-v4', ['--json'])
    expect(expired.code).toBe(1)
    expect(JSON.parse(expired.stdout)).toMatchObject({ valid: false, error: { code: expect.any(String) } })
    const v5 = expected('automata-tdx-v5-unused')
    const noLevel = await verify('automata-tdx-v5-unused', ['--at', String(v5.asOf), '--json'])
    expect(noLevel.code).toBe(1)
    expect(JSON.parse(noLevel.stdout)).toMatchObject({ valid: false, tee: 'TDX', quoteVersion: 5 })
    const bytes = readFileSync(join(DCAP, 'dcapqvl-tdx-v4', 'quote.bin'))
    bytes[200] = (bytes[200] as number) ^ 1
    const tampered = join(dir, 'tampered.bin')
    writeFileSync(tampered, bytes)
    const changed = await verify(
      'dcapqvl-tdx-v4',
      ['--at', String(expected('dcapqvl-tdx-v4').asOf)],
      tampered,
    )
    expect(changed.code).toBe(1)
    expect(changed.stdout).toMatch(/^INVALID: /)
  })

  it('names usage mistakes (exit 2) and unreadable collateral (exit 1)', async () => {
    expect((await runCli(['attest', 'verify', '--collateral', 'x'], { cwd: dir })).code).toBe(2)
    expect((await verify('dcapqvl-tdx-v4', ['--at', 'yesterday'])).code).toBe(2)
    expect((await verify('dcapqvl-tdx-v4', [], join(dir, 'missing.bin'))).code).toBe(2)
    const garbage = join(dir, 'garbage.json')
    writeFileSync(garbage, '{"tcb_info": 1}')
    const bad = await runCli(
      ['attest', 'verify', '--quote', join(DCAP, 'dcapqvl-tdx-v4', 'quote.bin'), '--collateral', garbage],
      { cwd: dir },
    )
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('error:')
  })
})
