/**
 * `npm run bench [-- --json] [-- <filter>...]`: runs every `packages/*\/bench/*.bench.ts` module. Each
 * exports `run(report)` and reports rows like `{ bench: 'query', p50_ms: 1.2, ... }`. Human-readable by
 * default; `--json` prints one JSON object per line (nothing else on stdout), for scripts and CI.
 */
import { readdirSync } from 'node:fs'
import { basename, join } from 'node:path'
import { pathToFileURL } from 'node:url'

export type BenchRow = { bench: string } & Record<string, number | string>
export type BenchReporter = (row: BenchRow) => void

const args = process.argv.slice(2)
const json = args.includes('--json')
const filters = args.filter((a) => !a.startsWith('--'))
const root = join(import.meta.dirname, '..')

const modules: string[] = []
for (const pkg of readdirSync(join(root, 'packages')).sort()) {
  const dir = join(root, 'packages', pkg, 'bench')
  let files: string[] = []
  try {
    files = readdirSync(dir)
  } catch {
    continue
  }
  for (const file of files.sort()) {
    if (!file.endsWith('.bench.ts')) continue
    const path = join(dir, file)
    const name = `${pkg}/${basename(file, '.bench.ts')}`
    if (filters.length === 0 || filters.some((f) => name.includes(f))) modules.push(path)
  }
}

const log = (text: string) => process.stderr.write(`${text}\n`)
const format = (v: number | string) =>
  typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : v

let failures = 0
for (const path of modules) {
  const name = path
    .slice(join(root, 'packages').length + 1)
    .replace('/bench/', '/')
    .replace('.bench.ts', '')
  log(`bench ${name}…`)
  const started = performance.now()
  const mod = (await import(pathToFileURL(path).href)) as { run?: (report: BenchReporter) => Promise<void> }
  if (typeof mod.run !== 'function') {
    log(`  skipped: ${name} exports no run(report)`)
    continue
  }
  try {
    await mod.run((row) => {
      if (json) process.stdout.write(`${JSON.stringify(row)}\n`)
      else {
        const { bench, ...rest } = row
        process.stdout.write(
          `  ${bench.padEnd(14)} ${Object.entries(rest)
            .map(([k, v]) => `${k}=${format(v)}`)
            .join('  ')}\n`,
        )
      }
    })
    log(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  } catch (error) {
    failures++
    log(`  FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  }
}
if (modules.length === 0) log(`no bench matched ${filters.join(' ')}`)
process.exitCode = failures > 0 ? 1 : 0
