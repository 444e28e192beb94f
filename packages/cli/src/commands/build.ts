import { mkdirSync, writeFileSync } from 'node:fs'
import { basename, dirname, relative, resolve } from 'node:path'
import { UsageError } from '@veil/protocol'
import { flag, stringOption } from '../args.js'
import { type Command, ExitCode } from '../command.js'
import { toJson } from '../output.js'

export const buildCommand: Command = {
  name: ['build'],
  args: '<entry.ts>',
  summary: 'bundle a contract and its npm dependencies into one sandbox script',
  description:
    'Bundles with esbuild into the script workers run (QuickJS), with an inline source map so that\n' +
    'errors inside the contract report the original file.ts:line. Node built-ins are refused.',
  options: {
    out: {
      type: 'string',
      short: 'o',
      valueName: '<file>',
      description: 'output file (default: dist/<name>.js)',
    },
    minify: { type: 'boolean', description: 'minify the bundle' },
    'no-source-map': { type: 'boolean', description: 'leave out the inline source map' },
  },
  json: true,
  examples: ['veil build src/counter.ts', 'veil build src/counter.ts -o counter.js --minify --json'],
  async run(ctx) {
    const { io } = ctx
    const entryArg = ctx.positionals[0]
    if (!entryArg || ctx.positionals.length > 1) {
      throw new UsageError('veil build takes exactly one entry file', { hint: 'veil build src/contract.ts' })
    }
    const entry = resolve(io.cwd, entryArg)
    const name = basename(entry).replace(/\.[cm]?[jt]sx?$/, '')
    const out = resolve(io.cwd, stringOption(ctx, 'out') ?? `dist/${name}.js`)
    const started = performance.now()
    const [{ buildContract, formatBytes }, { keccak_256 }, { bytesToHex }] = await Promise.all([
      import('@veil/contract/build'),
      import('@noble/hashes/sha3.js'),
      import('@noble/hashes/utils.js'),
    ])
    const bundle = await buildContract({
      entry,
      minify: flag(ctx, 'minify'),
      sourceMap: !flag(ctx, 'no-source-map'),
    })
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, bundle.code)
    const ms = Math.round(performance.now() - started)
    const codeHash = `0x${bytesToHex(keccak_256(new TextEncoder().encode(bundle.code)))}`
    for (const warning of bundle.warnings) io.err(`warning: ${warning}`)
    if (flag(ctx, 'json')) {
      io.out(toJson({ ok: true, out, bytes: bundle.bytes, codeHash, ms }))
    } else {
      io.out(`built ${relative(io.cwd, out)} (${formatBytes(bundle.bytes)}) in ${ms} ms`)
      io.out(`code hash ${codeHash}`)
    }
    return ExitCode.ok
  },
}
