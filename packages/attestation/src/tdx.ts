/**
 * TDX quotes from inside a TD, through the Linux configfs-tsm report interface (Linux ≥ 6.7,
 * Documentation/ABI/testing/configfs-tsm-report):
 *
 *   mkdir  <root>/<entry>             the kernel creates the entry's attributes
 *   write  <entry>/inblob             64 bytes of report data (REPORTDATA of the TD report)
 *   read   <entry>/outblob            the quote, made by the host's quote generation service
 *   rmdir  <entry>
 *
 * An entry can be shared by several writers; `generation` counts writes, so the provider reads it
 * before writing and checks after reading `outblob` that exactly its own write happened — otherwise the
 * quote may carry someone else's report data, and it retries. Each call also uses a fresh entry.
 */

import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { VeilError } from '@veil/protocol'

export const TSM_REPORT_ROOT = '/sys/kernel/config/tsm/report'
export const TDX_REPORT_DATA_LENGTH = 64

export type TdxProviderErrorCode =
  /** No configfs-tsm report directory: not a TDX guest, an old kernel, or configfs not mounted. */
  | 'TDX_CONFIGFS_UNAVAILABLE'
  | 'TDX_PERMISSION_DENIED'
  | 'TDX_REPORT_DATA_INVALID'
  /** configfs-tsm is served by another TEE (e.g. `sev_guest`). */
  | 'TDX_PROVIDER_MISMATCH'
  /** Another writer kept changing the report entry. */
  | 'TDX_QUOTE_CONFLICT'
  /** The kernel or the host's quote generation service failed. */
  | 'TDX_QUOTE_FAILED'

export class TdxProviderError extends VeilError {
  override name = 'TdxProviderError'
  declare readonly code: TdxProviderErrorCode

  constructor(
    code: TdxProviderErrorCode,
    shortMessage: string,
    options: { details?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(shortMessage, { ...options, code })
  }
}

/** The file operations the provider needs; tests inject a fake kernel. */
export interface TsmFs {
  mkdir(path: string): Promise<void>
  rmdir(path: string): Promise<void>
  readFile(path: string): Promise<Uint8Array>
  writeFile(path: string, data: Uint8Array): Promise<void>
  isDirectory(path: string): Promise<boolean>
}

/** configfs through node:fs. */
export const nodeTsmFs: TsmFs = {
  mkdir: async (path) => {
    await mkdir(path)
  },
  rmdir: (path) => rmdir(path),
  readFile: async (path) => new Uint8Array(await readFile(path)),
  writeFile: (path, data) => writeFile(path, data),
  isDirectory: async (path) => {
    try {
      return (await stat(path)).isDirectory()
    } catch {
      return false
    }
  },
}

export interface TdxProviderOptions {
  /** configfs-tsm report directory. Default `/sys/kernel/config/tsm/report`. */
  root?: string
  fs?: TsmFs
  /** Name of each fresh report entry; default `veil-<16 random hex>`. */
  entryName?: () => string
  /** How often to retry when another writer changed the entry meanwhile. Default 3. */
  maxAttempts?: number
}

export interface TdxQuoteProvider {
  readonly kind: 'tdx'
  /** A TDX quote (v4 or v5) whose REPORTDATA is `reportData` (exactly 64 bytes). */
  getQuote(reportData: Uint8Array): Promise<Uint8Array>
}

const errorCode = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined

/**
 * Creates the TDX quote provider of a TD.
 *
 * @example
 * const tdx = createTdxProvider()
 * const quote = await tdx.getQuote(reportData) // reportData: 64 bytes binding the worker's keys
 */
export function createTdxProvider(options: TdxProviderOptions = {}): TdxQuoteProvider {
  const root = options.root ?? TSM_REPORT_ROOT
  const fs = options.fs ?? nodeTsmFs
  const entryName = options.entryName ?? (() => `veil-${randomBytes(8).toString('hex')}`)
  const maxAttempts = options.maxAttempts ?? 3

  const unavailable = (cause?: unknown) =>
    new TdxProviderError('TDX_CONFIGFS_UNAVAILABLE', `configfs-tsm is not available at ${root}`, {
      details:
        'TDX quotes need a TDX guest kernel (Linux ≥ 6.7, tdx_guest driver, CONFIG_TSM_REPORTS) with configfs mounted',
      hint: 'Run inside a TDX confidential VM and `mount -t configfs none /sys/kernel/config` if needed; use the simulated TEE elsewhere.',
      ...(cause === undefined ? {} : { cause }),
    })

  /** Maps an I/O error on `what` to a typed error. */
  const ioError = async (error: unknown, what: string): Promise<TdxProviderError> => {
    const code = errorCode(error)
    if (code === 'EACCES' || code === 'EPERM') {
      return new TdxProviderError('TDX_PERMISSION_DENIED', `Permission denied: ${what}`, {
        details: `creating configfs-tsm report entries under ${root} needs root or write access to it`,
        hint: 'Run the worker as root, or grant its user write access to the report directory.',
        cause: error,
      })
    }
    if (code === 'ENOENT' && !(await fs.isDirectory(root))) return unavailable(error)
    return new TdxProviderError('TDX_QUOTE_FAILED', `TDX quote generation failed: ${what}`, {
      details: error instanceof Error ? error.message : String(error),
      hint: "Check the TD's dmesg and the host's quote generation service (QGS) and its vsock configuration.",
      cause: error,
    })
  }

  const readGeneration = async (entry: string): Promise<number> => {
    const text = Buffer.from(await fs.readFile(join(entry, 'generation')))
      .toString('utf8')
      .trim()
    const generation = Number(text)
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(generation)) {
      throw new TdxProviderError('TDX_QUOTE_FAILED', 'configfs-tsm generation is not a number', {
        details: text,
      })
    }
    return generation
  }

  const checkProvider = async (entry: string): Promise<void> => {
    let provider: string
    try {
      provider = Buffer.from(await fs.readFile(join(entry, 'provider')))
        .toString('utf8')
        .trim()
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return // kernels before `provider` existed
      throw error
    }
    if (provider !== 'tdx_guest') {
      throw new TdxProviderError(
        'TDX_PROVIDER_MISMATCH',
        `configfs-tsm is served by "${provider}", not tdx_guest`,
        {
          details: 'this machine is a confidential VM of another kind',
        },
      )
    }
  }

  return {
    kind: 'tdx',
    async getQuote(reportData) {
      if (!(reportData instanceof Uint8Array) || reportData.length !== TDX_REPORT_DATA_LENGTH) {
        throw new TdxProviderError('TDX_REPORT_DATA_INVALID', 'reportData must be exactly 64 bytes', {
          details:
            reportData instanceof Uint8Array ? `got ${reportData.length} bytes` : `got ${typeof reportData}`,
        })
      }
      const entry = join(root, entryName())
      try {
        await fs.mkdir(entry)
      } catch (error) {
        throw await ioError(error, `mkdir ${entry}`)
      }
      try {
        await checkProvider(entry)
        for (let attempt = 1; attempt <= maxAttempts; attempt++) {
          const before = await readGeneration(entry)
          await fs.writeFile(join(entry, 'inblob'), reportData)
          const quote = await fs.readFile(join(entry, 'outblob'))
          const after = await readGeneration(entry)
          if (after !== before + 1) continue // another writer touched the entry: the quote may not be ours
          if (quote.length === 0) {
            throw new TdxProviderError('TDX_QUOTE_FAILED', 'configfs-tsm returned an empty quote', {
              hint: "Check the host's quote generation service (QGS).",
            })
          }
          return quote
        }
        throw new TdxProviderError('TDX_QUOTE_CONFLICT', `configfs-tsm entry ${entry} kept changing`, {
          details: `generation moved by more than our own write in ${maxAttempts} attempts`,
          hint: 'Another process writes to the same report entry; give each requester its own entry.',
        })
      } catch (error) {
        if (error instanceof TdxProviderError) throw error
        throw await ioError(error, `quote from ${entry}`)
      } finally {
        // Best effort: a leftover entry costs a few bytes of kernel memory, never a wrong quote.
        await fs.rmdir(entry).catch(() => undefined)
      }
    },
  }
}
