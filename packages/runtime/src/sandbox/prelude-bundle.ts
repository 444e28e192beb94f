/**
 * Builds the guest prelude (`prelude/index.ts` and what it imports, including `@veil/protocol`'s value
 * encoding) into one script with esbuild, once per process. Bundling at runtime keeps the prelude and the
 * host's encoder on the very same source without a generated file to keep in sync.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

/**
 * The prelude's entry file. Next to this module when running from the sources; when this module was
 * bundled into another file (the `veil` executable bundles workspace sources into a cache file), found
 * through the `@veil/runtime` package instead.
 */
function preludeEntry(): string {
  const local = fileURLToPath(new URL('./prelude/index.ts', import.meta.url))
  if (existsSync(local)) return local
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('@veil/runtime')), 'sandbox', 'prelude', 'index.ts')
}

/**
 * The prelude imports `@veil/protocol`, but only `value.ts` is guaranteed free of Node and DOM APIs, so
 * the bundle links that one file and nothing else of the package.
 */
function protocolValueSource(): string {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('@veil/protocol')), 'value.ts')
}

let cached: Promise<string> | undefined

/** The prelude script, ready for `evalCode`. */
export function preludeSource(): Promise<string> {
  cached ??= build({
    entryPoints: [preludeEntry()],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'neutral',
    target: 'es2022',
    charset: 'utf8',
    legalComments: 'none',
    // No comments: esbuild would name source files by path, and the prelude's text must not depend on
    // where the repository lives (QuickJS keeps function sources, so the text shapes the heap layout).
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'silent',
    alias: { '@veil/protocol': protocolValueSource() },
  }).then((result) => {
    const output = result.outputFiles[0]
    if (!output) throw new Error('esbuild produced no prelude output')
    return output.text
  })
  cached.catch(() => {
    cached = undefined
  })
  return cached
}
