import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, join, relative, resolve, sep } from 'node:path'
import { UsageError } from '@veil/protocol'
import { flag } from '../args.js'
import { type Command, ExitCode } from '../command.js'
import { toJson } from '../output.js'

export const initCommand: Command = {
  name: ['init'],
  args: '<dir>',
  summary: 'scaffold a contract project: a contract, its test, and scripts to build and deploy it',
  description:
    'Creates <dir> with package.json, src/contract.ts, src/contract.test.ts (runs the contract in the\n' +
    'real sandbox with createTestContract), tsconfig.json and a README. @veil/contract is referenced by a\n' +
    'file: path to this Veil checkout; the README says what to change when the project moves elsewhere.',
  options: {
    force: { type: 'boolean', description: 'write into a directory that is not empty' },
  },
  json: true,
  examples: ['veil init my-contract', 'cd my-contract && npm install && npm test'],
  async run(ctx) {
    const { io } = ctx
    const dirArg = ctx.positionals[0]
    if (!dirArg || ctx.positionals.length > 1) {
      throw new UsageError('veil init takes exactly one directory', { hint: 'veil init my-contract' })
    }
    const dir = resolve(io.cwd, dirArg)
    if (existsSync(dir) && readdirSync(dir).length > 0 && !flag(ctx, 'force')) {
      throw new UsageError(`${dirArg} is not empty`, {
        hint: 'pick a new directory, or pass --force to write the project files into it',
      })
    }
    const name = packageName(basename(dir))
    const contractPackage = contractPackageDir()
    const link = relative(dir, contractPackage).split(sep).join('/')
    const files = projectFiles({ name, contractDependency: `file:${link}` })
    for (const [path, text] of Object.entries(files)) {
      const target = join(dir, path)
      mkdirSync(dirname(target), { recursive: true })
      writeFileSync(target, text)
    }
    const written = Object.keys(files).sort()
    if (flag(ctx, 'json')) {
      io.out(toJson({ ok: true, dir, files: written }))
    } else {
      io.out(`created ${name} in ${relative(io.cwd, dir) || '.'}`)
      for (const file of written) io.out(`  ${file}`)
      io.out('')
      io.out('next:')
      io.out(`  cd ${relative(io.cwd, dir) || '.'}`)
      io.out('  npm install   # not needed inside the Veil repository')
      io.out('  npm test      # runs src/contract.test.ts in the sandbox')
      io.out('  veil deploy src/contract.ts --init \'{"start":1}\'')
    }
    return ExitCode.ok
  },
}

/** The directory of the @veil/contract package this CLI runs with. */
function contractPackageDir(): string {
  // `@veil/contract` resolves to <package>/src/index.ts.
  const entry = createRequire(import.meta.url).resolve('@veil/contract')
  return dirname(dirname(entry))
}

/** A valid npm package name from a directory name. */
function packageName(dir: string): string {
  const name = dir
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '')
  return name || 'veil-contract'
}

function projectFiles(options: { name: string; contractDependency: string }): Record<string, string> {
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`
  return {
    'package.json': json({
      name: options.name,
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: {
        build: 'veil build src/contract.ts',
        test: 'vitest run',
        deploy: 'veil deploy src/contract.ts',
      },
      dependencies: { '@veil/contract': options.contractDependency },
      devDependencies: { typescript: '^5.9.3', vitest: '^3.2.7' },
    }),
    'tsconfig.json': json({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
        verbatimModuleSyntax: true,
        allowImportingTsExtensions: true,
        skipLibCheck: true,
        noEmit: true,
      },
      include: ['src', 'vitest.config.ts'],
    }),
    '.gitignore': 'node_modules/\ndist/\n.veil/\n',
    // Its own config, so vitest never picks up an enclosing project's (e.g. inside the Veil repository).
    'vitest.config.ts': VITEST_CONFIG,
    'src/contract.ts': CONTRACT,
    'src/contract.test.ts': CONTRACT_TEST,
    'README.md': readme(options),
  }
}

const VITEST_CONFIG = `import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // The contract sandbox is WebAssembly with native-speed metering: forked workers isolate it best.
    pool: 'forks',
  },
})
`

const CONTRACT = `import { defineContract } from '@veil/contract'

/**
 * A counter. Commands are ordered by the ledger and run by every worker of the cluster, so they must be
 * deterministic; queries run on one worker, read-only. State lives in ctx.storage, encrypted by the workers.
 */
export default defineContract({
  init(ctx, args: { start: number }) {
    ctx.storage.set('n', args.start)
  },
  commands: {
    add(ctx, by: number) {
      if (!Number.isInteger(by)) throw new Error(\`add expects a whole number, got \${by}\`)
      const n = (ctx.storage.get<number>('n') ?? 0) + by
      ctx.storage.set('n', n)
      ctx.emit('added', { by, n })
      return n
    },
  },
  queries: {
    get(ctx) {
      return ctx.storage.get<number>('n') ?? 0
    },
  },
})
`

const CONTRACT_TEST = `import { fileURLToPath } from 'node:url'
import { createTestContract } from '@veil/contract/testing'
import { describe, expect, it } from 'vitest'
import type Contract from './contract.js'

const file = fileURLToPath(new URL('./contract.ts', import.meta.url))

describe('contract', () => {
  it('adds, emits and answers queries', async () => {
    const contract = await createTestContract<typeof Contract>(file)
    try {
      await contract.init({ start: 1 })
      expect(await contract.command.add(2)).toBe(3)
      expect(await contract.query.get()).toBe(3)
      expect(contract.events).toEqual([{ name: 'added', data: { by: 2, n: 3 } }])
    } finally {
      contract.dispose()
    }
  })

  it('rejects a fractional amount and changes nothing', async () => {
    const contract = await createTestContract<typeof Contract>(file)
    try {
      await contract.init({ start: 1 })
      await expect(contract.command.add(0.5)).rejects.toThrow('add expects a whole number, got 0.5')
      expect(await contract.query.get()).toBe(1)
    } finally {
      contract.dispose()
    }
  })
})
`

function readme(options: { name: string; contractDependency: string }): string {
  return `# ${options.name}

A Veil fat contract. \`src/contract.ts\` is the contract; \`src/contract.test.ts\` runs it in the real
sandbox (QuickJS, fuel, limits) without a chain.

\`\`\`sh
npm test                                   # unit tests in the sandbox
veil dev                                   # a local network (in another terminal)
veil deploy src/contract.ts --init '{"start":1}'
veil call <id> add 5                       # a sealed command, ordered by the ledger
veil query <id> get                        # a signed query answered by one worker
\`\`\`

From TypeScript, the SDK types calls from the contract itself:

\`\`\`ts
import { createClient } from '@veil/sdk'
import type Contract from './src/contract.js'

const client = createClient({ network, account })
const contract = client.contract<typeof Contract>(id)
await contract.command.add(5) // number
\`\`\`

## Using this project outside the Veil repository

\`package.json\` depends on \`@veil/contract\` through \`${options.contractDependency}\`, a path to the Veil
checkout this project was created from. Inside that repository it resolves without \`npm install\`.
If you move the project elsewhere, change that dependency to an absolute \`file:\` path to your Veil
checkout's \`packages/contract\` (or to a published version once \`@veil/contract\` is on a registry), then
run \`npm install\`. The \`veil\` command comes from the same checkout (\`packages/cli/bin/veil.js\`).
`
}
