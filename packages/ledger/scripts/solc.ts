/**
 * Build-time Solidity compilation with the npm `solc` package, shared by the ledger's and the examples'
 * compile scripts (`@veil/ledger/solc`): one set of settings (optimizer 200 runs, cancun), OpenZeppelin
 * imports resolved from node_modules, diagnostics printed, and a hash of every input so a build can skip
 * work that is already done.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
/** This file: a change to how contracts are compiled is a change of inputs. */
const SELF = readFileSync(fileURLToPath(import.meta.url), 'utf8')

export const SOLC_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
} as const

export interface CompiledContract {
  abi: unknown[]
  evm: { bytecode: { object: string } }
}

export interface SolidityBuild {
  solcVersion: string
  ozVersion: string
  /** sha256 of the compiler, OpenZeppelin, settings, sources and `extraInputs` (e.g. the calling script). */
  inputsHash: string
}

/** The versions and the hash of a build's inputs, without compiling. */
export function solidityInputs(
  sources: Record<string, { content: string }>,
  extraInputs: string[] = [],
): SolidityBuild {
  const solcVersion: string = require('solc/package.json').version
  const ozVersion: string = require('@openzeppelin/contracts/package.json').version
  const inputsHash = createHash('sha256')
    .update(
      JSON.stringify({ solcVersion, ozVersion, settings: SOLC_SETTINGS, sources, extraInputs, self: SELF }),
    )
    .digest('hex')
  return { solcVersion, ozVersion, inputsHash }
}

/**
 * Compiles `sources` (path → content). Prints solc's warnings and errors to stderr prefixed by `label`;
 * exits the process with 1 when solc reports an error. Returns the contracts of `sources` (imported
 * libraries left out), by source name and contract name.
 */
export function compileSolidity(
  label: string,
  sources: Record<string, { content: string }>,
): Record<string, Record<string, CompiledContract>> {
  const solc = require('solc') as {
    compile(input: string, callbacks: { import(path: string): unknown }): string
  }
  const findImports = (path: string): { contents: string } | { error: string } => {
    try {
      return { contents: readFileSync(require.resolve(path), 'utf8') }
    } catch {
      return { error: `cannot resolve import "${path}" (is the npm package installed?)` }
    }
  }
  const output = JSON.parse(
    solc.compile(JSON.stringify({ language: 'Solidity', sources, settings: SOLC_SETTINGS }), {
      import: findImports,
    }),
  ) as {
    errors?: { severity: 'error' | 'warning' | 'info'; formattedMessage: string }[]
    contracts?: Record<string, Record<string, CompiledContract>>
  }
  for (const e of output.errors ?? []) {
    if (e.severity !== 'info') process.stderr.write(`${e.formattedMessage}\n`)
  }
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error').length
  if (errors > 0) {
    process.stderr.write(`${label}: solc reported ${errors} error(s); nothing written\n`)
    process.exit(1)
  }
  return Object.fromEntries(
    Object.entries(output.contracts ?? {}).filter(([name]) => sources[name] !== undefined),
  )
}
