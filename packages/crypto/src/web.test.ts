import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import * as index from './index.js'
import * as web from './web.js'

const SRC = dirname(fileURLToPath(import.meta.url))
const PROTOCOL_SRC = resolve(SRC, '../../protocol/src')
// Packages the browser entry may pull in: all run on WebCrypto, WebAssembly or pure JS.
const ALLOWED_PACKAGES = [
  '@hpke/core',
  '@noble/ciphers',
  '@noble/curves',
  '@noble/hashes',
  '@veil/protocol',
  'hash-wasm',
]

/** Every module specifier reachable from `entry` through relative imports (import and export-from). */
function importGraph(entry: string): { files: string[]; specifiers: string[] } {
  const files: string[] = []
  const specifiers: string[] = []
  const pending = [entry]
  while (pending.length > 0) {
    const file = pending.pop() as string
    if (files.includes(file)) continue
    files.push(file)
    const text = readFileSync(file, 'utf8')
    for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/g)) {
      const specifier = match[1] as string
      specifiers.push(specifier)
      if (specifier.startsWith('.')) pending.push(join(dirname(file), specifier.replace(/\.js$/, '.ts')))
    }
    for (const match of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) specifiers.push(match[1] as string)
  }
  return { files, specifiers }
}

describe('@veil/crypto/web', () => {
  it('imports nothing Node-only, directly or through its own modules or @veil/protocol', () => {
    const ours = importGraph(join(SRC, 'web.ts'))
    const protocol = importGraph(join(PROTOCOL_SRC, 'index.ts'))
    const external = [...ours.specifiers, ...protocol.specifiers].filter((s) => !s.startsWith('.'))
    expect(external.filter((s) => s.startsWith('node:'))).toEqual([])
    const packages = [
      ...new Set(
        external.map((s) =>
          s
            .split('/')
            .slice(0, s.startsWith('@') ? 2 : 1)
            .join('/'),
        ),
      ),
    ]
    expect(packages.filter((p) => !ALLOWED_PACKAGES.includes(p))).toEqual([])
    expect(ours.files.map((f) => f.slice(SRC.length + 1)).sort()).toEqual(
      [
        'bytes.ts',
        'derive.ts',
        'eip191.ts',
        'eip712.ts',
        'ethereum.ts',
        'hpke-web.ts',
        'hpke.ts',
        'keccak.ts',
        'merkle.ts',
        'web.ts',
      ].sort(),
    )
  })

  it('is a subset of the main entry, under the same names', () => {
    const main = new Map<string, unknown>(Object.entries(index))
    for (const [name, value] of Object.entries(web)) expect(main.get(name), name).toBe(value)
  })

  it('is exported as the ./web subpath', () => {
    const pkg = JSON.parse(readFileSync(join(SRC, '../package.json'), 'utf8')) as {
      exports: Record<string, string>
    }
    expect(pkg.exports['./web']).toBe('./src/web.ts')
  })
})
