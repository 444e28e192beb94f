import { builtinModules } from 'node:module'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { VeilError } from '@veil/protocol'
import { build, type Message, type Plugin } from 'esbuild'

/** The global the bundle assigns its module to; the sandbox reads `__veilModule.default`. */
export const BUNDLE_GLOBAL = '__veilModule'
/** The ledger's cap on uploaded code (`Contracts.MAX_CODE_BYTES`). */
export const MAX_BUNDLE_BYTES = 512 * 1024

export interface BuildContractOptions {
  /** The contract's entry file (its default export is the `defineContract(...)` result). */
  entry?: string
  /** Or the entry's TypeScript source text, with imports resolved from `resolveDir` (default: cwd). */
  source?: string
  resolveDir?: string
  /** Minify the bundle (smaller upload, less readable on chain). Default false. */
  minify?: boolean
  /** Append an inline source map (without source contents) so errors report `file.ts:line`. Default true. */
  sourceMap?: boolean
}

export interface ContractBundle {
  /** The script to upload: an IIFE assigning `__veilModule`, optionally with an inline source map. */
  code: string
  /** The source map alone (JSON), also when it is inlined. */
  map: string
  /** Size of `code` in bytes (what the ledger charges and caps). */
  bytes: number
  warnings: string[]
}

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))

/** Refuses Node built-ins with an error that says why, instead of esbuild's generic "could not resolve". */
const noNodeBuiltins: Plugin = {
  name: 'veil-no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      if (!BUILTINS.has(args.path)) return undefined
      return {
        errors: [
          {
            text: `"${args.path}" is a Node.js module; contracts run in a sandbox without Node APIs (no fs, net, process or timers). Reach the outside only through ctx.`,
          },
        ],
      }
    })
  },
}

/**
 * Bundles a contract and its npm dependencies into one sandbox script with esbuild.
 *
 * @example
 * const bundle = await buildContract({ entry: 'src/counter.ts' })
 * writeFileSync('counter.js', bundle.code)
 */
export async function buildContract(options: BuildContractOptions): Promise<ContractBundle> {
  if ((options.entry === undefined) === (options.source === undefined)) {
    throw new VeilError('buildContract needs exactly one of `entry` (a file) or `source` (text)', {
      code: 'BUILD_FAILED',
    })
  }
  const resolveDir = resolve(options.resolveDir ?? process.cwd())
  const entry = options.entry === undefined ? join(resolveDir, 'contract.ts') : resolve(options.entry)
  const sourceMap = options.sourceMap ?? true
  let result: Awaited<ReturnType<typeof build>>
  try {
    result = await build({
      ...(options.source === undefined
        ? { entryPoints: [entry] }
        : { stdin: { contents: options.source, loader: 'ts', resolveDir, sourcefile: 'contract.ts' } }),
      // Paths in the output (module comments) are relative to this: anchor them to the entry, not the
      // caller's cwd, so the same project always builds to the same bytes and code hash.
      absWorkingDir: dirname(entry),
      bundle: true,
      write: false,
      format: 'iife',
      globalName: BUNDLE_GLOBAL,
      platform: 'neutral',
      mainFields: ['module', 'main'],
      conditions: ['import', 'default'],
      target: 'es2022',
      minify: options.minify ?? false,
      sourcemap: sourceMap ? 'external' : false,
      sourcesContent: false,
      outfile: resolve(dirname(entry), `${basename(entry).replace(/\.[cm]?[jt]sx?$/, '')}.js`),
      logLevel: 'silent',
      legalComments: 'none',
      plugins: [noNodeBuiltins],
    })
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors ?? []
    throw new VeilError(`cannot build ${relative(process.cwd(), entry) || entry}`, {
      code: 'BUILD_FAILED',
      metaMessages: errors.map(formatMessage),
      hint: 'fix the errors above and build again',
      cause: error,
    })
  }
  const outputs = result.outputFiles ?? []
  const js = outputs.find((f) => f.path.endsWith('.js'))
  const mapFile = outputs.find((f) => f.path.endsWith('.map'))
  if (!js) throw new VeilError('esbuild produced no JavaScript output', { code: 'BUILD_FAILED' })
  let code = js.text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n')
  const map = mapFile?.text ?? ''
  if (sourceMap && map) {
    code += `//# sourceMappingURL=data:application/json;base64,${Buffer.from(map).toString('base64')}\n`
  }
  const bytes = Buffer.byteLength(code)
  if (bytes > MAX_BUNDLE_BYTES) {
    throw new VeilError(
      `the bundle is ${formatBytes(bytes)}, over the ledger's ${formatBytes(MAX_BUNDLE_BYTES)} cap`,
      {
        code: 'BUNDLE_TOO_LARGE',
        hint: sourceMap
          ? 'build with --minify, drop the inline source map (--no-source-map), or trim dependencies'
          : 'build with --minify or trim dependencies',
      },
    )
  }
  return { code, map, bytes, warnings: result.warnings.map(formatMessage) }
}

function formatMessage(message: Message): string {
  const where = message.location
    ? `${message.location.file}:${message.location.line}:${message.location.column + 1}: `
    : ''
  return `${where}${message.text}`
}

export function formatBytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`
}
