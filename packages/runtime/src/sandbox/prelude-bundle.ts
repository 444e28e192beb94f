/**
 * Builds the guest prelude (`prelude/index.ts` and what it imports, including `@veil/protocol`'s value
 * encoding) into one script with esbuild, once per process. Bundling at runtime keeps the prelude and the
 * host's encoder on the very same source without a generated file to keep in sync.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { bundledOnce, runtimeSource } from '../script-bundle.js'

/**
 * The prelude imports `@veil/protocol`, but only `value.ts` is guaranteed free of Node and DOM APIs, so
 * the bundle links that one file and nothing else of the package.
 */
function protocolValueSource(): string {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('@veil/protocol')), 'value.ts')
}

/** The prelude script, ready for `evalCode`. */
export const preludeSource: () => Promise<string> = bundledOnce(() => ({
  entryPoints: [runtimeSource('sandbox/prelude/index.ts')],
  format: 'iife',
  platform: 'neutral',
  target: 'es2022',
  charset: 'utf8',
  legalComments: 'none',
  // No comments: esbuild would name source files by path, and the prelude's text must not depend on
  // where the repository lives (QuickJS keeps function sources, so the text shapes the heap layout).
  minifyWhitespace: true,
  minifySyntax: true,
  alias: { '@veil/protocol': protocolValueSource() },
}))
