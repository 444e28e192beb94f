/**
 * Scripts the runtime builds from its own sources at run time with esbuild, once per process: the
 * sandbox prelude and the request-opening thread. Bundling at run time keeps each script on the very
 * same source as the code beside it, without a generated file to keep in sync.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BuildOptions, build } from 'esbuild'

/**
 * A source file of this package, by its path below `src/`. Found next to this module when running from
 * the sources; when this module was bundled into another file (the `veil` executable bundles workspace
 * sources into a cache file), through the `@veil/runtime` package.
 */
export function runtimeSource(path: string): string {
  const local = fileURLToPath(new URL(`./${path}`, import.meta.url))
  if (existsSync(local)) return local
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('@veil/runtime')), path)
}

/**
 * A function returning the bundle of `options` (one entry point, one output file) as text, built on
 * first call and kept; a failed build is not kept, so a later call tries again.
 */
export function bundledOnce(options: () => BuildOptions): () => Promise<string> {
  let cached: Promise<string> | undefined
  return () => {
    cached ??= build({ ...options(), bundle: true, write: false, logLevel: 'silent' }).then((result) => {
      const output = result.outputFiles?.[0]
      if (!output) throw new Error('esbuild produced no output')
      return output.text
    })
    cached.catch(() => {
      cached = undefined
    })
    return cached
  }
}
