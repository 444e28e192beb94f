import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { parseQuote } from './dcap/quote.js'
import { type DcapCase, loadDcapCases } from './dcap/test-fixtures.js'
import { createTdxProvider, nodeTsmFs, TdxProviderError, type TsmFs } from './tdx.js'

const template = loadDcapCases().find((c) => c.id === 'dcapqvl-tdx-v4') as DcapCase
/** REPORTDATA of a TD report 1.0 in a quote v4: header (48) + 520. */
const REPORT_DATA_AT = 48 + 520

interface FakeKernel {
  fs: TsmFs
  /** Called after each outblob read, e.g. to simulate a concurrent writer. */
  onOutblobRead?: (entry: string) => void
  writes: number
}

/**
 * A fake configfs-tsm on a real temp directory: mkdir creates the attributes the kernel would
 * (provider, generation), a write to inblob bumps generation and produces outblob — a real TDX quote
 * with the written REPORTDATA — and rmdir removes the entry with its attributes. Everything else is
 * node:fs on real files.
 */
function fakeKernel(provider = 'tdx_guest'): FakeKernel {
  const kernel: FakeKernel = {
    writes: 0,
    fs: {
      ...nodeTsmFs,
      async mkdir(path) {
        await nodeTsmFs.mkdir(path)
        writeFileSync(join(path, 'provider'), `${provider}\n`)
        writeFileSync(join(path, 'generation'), '0\n')
      },
      async writeFile(path, data) {
        await nodeTsmFs.writeFile(path, data)
        if (basename(path) === 'inblob') {
          kernel.writes++
          const entry = dirname(path)
          const generation = Number(readFileSync(join(entry, 'generation'), 'utf8'))
          writeFileSync(join(entry, 'generation'), `${generation + 1}\n`)
          const quote = template.quote.slice()
          quote.set(data, REPORT_DATA_AT)
          writeFileSync(join(entry, 'outblob'), quote)
        }
      },
      async readFile(path) {
        const data = await nodeTsmFs.readFile(path)
        if (basename(path) === 'outblob') kernel.onOutblobRead?.(dirname(path))
        return data
      },
      async rmdir(path) {
        rmSync(path, { recursive: true }) // configfs drops an entry's attributes with it
      },
    },
  }
  return kernel
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (error instanceof TdxProviderError) return error.code
    throw error
  }
  return 'NO_ERROR'
}

const reportData = new Uint8Array(64).map((_, i) => i)

describe('createTdxProvider', () => {
  let root: string
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'veil-tsm-'))
  })
  afterEach(() => {
    rmSync(root, { recursive: true, force: true })
  })

  it('writes the report data, returns the quote and removes its entry', async () => {
    const kernel = fakeKernel()
    const names: string[] = []
    const tdx = createTdxProvider({ root, fs: kernel.fs, entryName: () => `e${names.push('x')}` })
    const quote = await tdx.getQuote(reportData)
    expect(tdx.kind).toBe('tdx')
    expect(Buffer.from(parseQuote(quote).body.reportData)).toEqual(Buffer.from(reportData))
    expect(readdirSync(root)).toEqual([])
    // A fresh entry per call.
    await tdx.getQuote(reportData)
    expect(names).toHaveLength(2)
  })

  it('retries when another writer changed the entry, and gives up after maxAttempts', async () => {
    const kernel = fakeKernel()
    let interfere = 1
    kernel.onOutblobRead = (entry) => {
      if (interfere-- > 0) {
        const generation = Number(readFileSync(join(entry, 'generation'), 'utf8'))
        writeFileSync(join(entry, 'generation'), `${generation + 1}\n`)
      }
    }
    await createTdxProvider({ root, fs: kernel.fs }).getQuote(reportData)
    expect(kernel.writes).toBe(2)

    interfere = Number.POSITIVE_INFINITY
    const error = createTdxProvider({ root, fs: kernel.fs, maxAttempts: 3 }).getQuote(reportData)
    expect(await codeOf(error)).toBe('TDX_QUOTE_CONFLICT')
    expect(readdirSync(root)).toEqual([])
  })

  it('explains a missing configfs-tsm (not a TDX guest)', async () => {
    const missing = join(root, 'no', 'tsm', 'report')
    const tdx = createTdxProvider({ root: missing })
    try {
      await tdx.getQuote(reportData)
      throw new Error('expected a failure')
    } catch (error) {
      expect(error).toBeInstanceOf(TdxProviderError)
      const e = error as TdxProviderError
      expect(e.code).toBe('TDX_CONFIGFS_UNAVAILABLE')
      expect(e.message).toMatch(/TDX guest kernel/)
      expect(e.message).toMatch(/configfs/)
    }
  })

  it('reports permission problems', async () => {
    const kernel = fakeKernel()
    const denied: TsmFs = {
      ...kernel.fs,
      mkdir: async () => {
        throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })
      },
    }
    expect(await codeOf(createTdxProvider({ root, fs: denied }).getQuote(reportData))).toBe(
      'TDX_PERMISSION_DENIED',
    )
  })

  it('refuses another TEE provider and cleans up', async () => {
    const kernel = fakeKernel('sev_guest')
    expect(await codeOf(createTdxProvider({ root, fs: kernel.fs }).getQuote(reportData))).toBe(
      'TDX_PROVIDER_MISMATCH',
    )
    expect(kernel.writes).toBe(0)
    expect(readdirSync(root)).toEqual([])
  })

  it('maps a failing quote generation to TDX_QUOTE_FAILED', async () => {
    const kernel = fakeKernel()
    const failing: TsmFs = {
      ...kernel.fs,
      readFile: async (path) => {
        if (basename(path) === 'outblob') throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })
        return kernel.fs.readFile(path)
      },
    }
    expect(await codeOf(createTdxProvider({ root, fs: failing }).getQuote(reportData))).toBe(
      'TDX_QUOTE_FAILED',
    )
    expect(readdirSync(root)).toEqual([])
  })

  it('works without the optional provider attribute', async () => {
    const kernel = fakeKernel()
    const old: TsmFs = {
      ...kernel.fs,
      mkdir: async (path) => {
        await kernel.fs.mkdir(path)
        rmSync(join(path, 'provider'))
      },
    }
    expect((await createTdxProvider({ root, fs: old }).getQuote(reportData)).length).toBe(
      template.quote.length,
    )
  })

  it('rejects report data that is not 64 bytes before touching configfs', async () => {
    const kernel = fakeKernel()
    const tdx = createTdxProvider({ root, fs: kernel.fs })
    for (const bad of [new Uint8Array(32), new Uint8Array(65), 'nonce' as unknown as Uint8Array]) {
      expect(await codeOf(tdx.getQuote(bad))).toBe('TDX_REPORT_DATA_INVALID')
    }
    expect(readdirSync(root)).toEqual([])
  })

  it('uses node:fs on a real directory by default', async () => {
    // A plain directory is not configfs: mkdir works but no attributes appear, so reading fails typed.
    mkdirSync(join(root, 'report'))
    const tdx = createTdxProvider({ root: join(root, 'report') })
    expect(await codeOf(tdx.getQuote(reportData))).toBe('TDX_QUOTE_FAILED')
    expect(existsSync(join(root, 'report'))).toBe(true)
  })
})
