/**
 * DEVELOPMENT ONLY: the measurement a simulated TEE reports — a hash of the Veil code a component runs
 * and its version, standing in for MRTD/RTMRs. Computed from the source tree, so any change to the code
 * (and nothing else) changes it, as a rebuilt image would on real hardware.
 *
 * measurement = SHA-256("veil/v1/sim-measurement" ‖ 0 ‖ component ‖ 0 ‖ version ‖ 0 ‖
 *                       for each source file, sorted by path: path ‖ 0 ‖ SHA-256(content))
 * over the non-test `.ts` files under `packages/<p>/src` of the packages the component runs.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Hex } from '@veil/protocol'
import { TeeError } from './provider.js'

/** What each component runs (its own package and what it imports). */
const COMPONENT_PACKAGES = {
  worker: ['protocol', 'crypto', 'ledger', 'attestation', 'contract', 'runtime'],
  kms: ['protocol', 'crypto', 'ledger', 'attestation', 'kms'],
} as const

export type VeilComponent = keyof typeof COMPONENT_PACKAGES

const cache = new Map<string, Hex>()

/** The simulated measurement of `component` at `version`, from the checkout this module runs from. */
export function veilCodeMeasurement(component: VeilComponent, version: string, root = findRepoRoot()): Hex {
  const key = `${root}\0${component}\0${version}`
  const cached = cache.get(key)
  if (cached) return cached
  const files: string[] = []
  for (const pkg of COMPONENT_PACKAGES[component]) collect(join(root, 'packages', pkg, 'src'), files)
  files.sort()
  const hash = createHash('sha256').update(`veil/v1/sim-measurement\0${component}\0${version}\0`)
  for (const file of files) {
    const path = relative(root, file).split(sep).join('/')
    hash.update(`${path}\0`).update(createHash('sha256').update(readFileSync(file)).digest())
  }
  const measurement: Hex = `0x${hash.digest('hex')}`
  cache.set(key, measurement)
  return measurement
}

function collect(dir: string, out: string[]): void {
  if (!existsSync(dir)) return
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) collect(path, out)
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path)
  }
}

/** The checkout this code runs from: the nearest directory above with `packages/runtime/package.json`. */
function findRepoRoot(): string {
  // From source this is packages/attestation/src/tee; from the CLI's bundle, packages/cli/.cache.
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    if (existsSync(join(dir, 'packages', 'runtime', 'package.json'))) return dir
    const parent = dirname(dir)
    if (parent === dir)
      throw new TeeError('SEALING_UNAVAILABLE', 'cannot find the Veil source tree to measure', {
        details: `looked above ${fileURLToPath(import.meta.url)}`,
        hint: 'the simulated TEE measures the checkout it runs from; run Veil from its repository',
      })
    dir = parent
  }
}
