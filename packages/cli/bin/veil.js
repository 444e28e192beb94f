#!/usr/bin/env node
// The `veil` executable. It bundles the CLI's own TypeScript (the @veil/* workspace packages) with
// esbuild into a content-addressed cache file and imports that, while third-party packages load natively
// from node_modules. This costs ~60 ms and is always current with the sources, whereas loading the
// sources through a TypeScript loader hook costs seconds per launch. It also owns the process: stdio,
// signals, and the only call to process.exit.
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const packagesDir = dirname(root)
const cacheDir = join(root, '.cache')

/** Paths, sizes and mtimes of every workspace source file: cheap to compute, changes on any edit. */
function sourceFingerprint() {
  const hash = createHash('sha256')
  const walk = (dir) => {
    let entries
    try {
      entries = readdirSync(dir, { withFileTypes: true })
    } catch {
      return
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (/\.(ts|json|js|mjs)$/.test(entry.name)) {
        const st = statSync(path)
        hash.update(`${path}\0${st.size}\0${st.mtimeMs}\n`)
      }
    }
  }
  for (const pkg of readdirSync(packagesDir)) {
    walk(join(packagesDir, pkg, 'src'))
    try {
      const st = statSync(join(packagesDir, pkg, 'package.json'))
      hash.update(`${pkg}/package.json\0${st.size}\0${st.mtimeMs}\n`)
    } catch {
      // not a package
    }
  }
  return hash.digest('hex').slice(0, 16)
}

async function loadMain() {
  const fingerprint = sourceFingerprint()
  const pointer = join(cacheDir, `src-${fingerprint}`)
  let bundleDir
  try {
    bundleDir = join(cacheDir, readFileSync(pointer, 'utf8').trim())
    statSync(join(bundleDir, 'main.js'))
  } catch {
    bundleDir = await bundle()
    writeFileSync(pointer, basename(bundleDir))
  }
  process.setSourceMapsEnabled(true)
  return import(pathToFileURL(join(bundleDir, 'main.js')).href)
}

async function bundle() {
  const { build } = await import('esbuild')
  const result = await build({
    entryPoints: [join(root, 'src', 'main.ts')],
    bundle: true,
    splitting: true, // command handlers import their heavy dependencies lazily
    outdir: cacheDir,
    entryNames: 'main',
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    logLevel: 'silent',
    plugins: [
      {
        name: 'external-dependencies',
        setup(b) {
          // Bundle our workspace packages; leave every third-party package to Node's own loader.
          b.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('@veil/') ? undefined : { path: args.path, external: true },
          )
        },
      },
    ],
  })
  const hash = createHash('sha256')
  for (const out of result.outputFiles) hash.update(out.path).update(out.text)
  const name = `veil-${hash.digest('hex').slice(0, 16)}`
  const dir = join(cacheDir, name)
  try {
    statSync(join(dir, 'main.js'))
  } catch {
    // Write into a private directory, then rename it into place: concurrent launches never see half.
    const tmp = `${dir}.${process.pid}.tmp`
    for (const out of result.outputFiles) {
      const path = join(tmp, out.path.slice(cacheDir.length + 1))
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, out.text)
    }
    try {
      renameSync(tmp, dir)
    } catch {
      rmSync(tmp, { recursive: true, force: true }) // another launch won the race with identical files
    }
    pruneCache(name)
  }
  return dir
}

function pruneCache(keep) {
  const hourAgo = Date.now() - 3_600_000
  for (const entry of readdirSync(cacheDir)) {
    if (entry === keep) continue
    const path = join(cacheDir, entry)
    try {
      if (statSync(path).mtimeMs < hourAgo) rmSync(path, { recursive: true, force: true })
    } catch {
      // another launch removed it first
    }
  }
}

const { main } = await loadMain()

const SHUTDOWN_GRACE_MS = 5_000
const controller = new AbortController()
let forceTimer
const onSignal = (signal) => {
  if (controller.signal.aborted) {
    process.stderr.write(`veil: second ${signal}, exiting now\n`)
    process.exit(130)
  }
  controller.abort()
  forceTimer = setTimeout(() => {
    process.stderr.write(`veil: did not stop within ${SHUTDOWN_GRACE_MS / 1000} s, exiting\n`)
    process.exit(1)
  }, SHUTDOWN_GRACE_MS)
  forceTimer.unref()
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

const io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  isTTY: Boolean(process.stderr.isTTY),
  env: process.env,
  cwd: process.cwd(),
}

const code = await main(process.argv.slice(2), io, controller.signal)
clearTimeout(forceTimer)
// Let stdout drain before exiting, so piped output (e.g. --json) is never cut short.
process.stdout.write('', () => process.exit(code))
