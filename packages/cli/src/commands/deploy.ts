import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { UsageError } from '@veil/protocol'
import { flag, intOption, stringOption } from '../args.js'
import { type Command, ExitCode } from '../command.js'
import { loadClient, networkOption } from '../network.js'
import { toJson } from '../output.js'
import { parseValueArg } from '../values.js'

export const deployCommand: Command = {
  name: ['deploy'],
  args: '<file.ts|bundle.js>',
  summary: 'upload and deploy a contract to a cluster',
  description:
    'A .ts entry is built first (as `veil build` does); a .js file is uploaded as it is. The code is\n' +
    'uploaded once (the ledger keeps it by hash), then deployed from your account, which owns the contract.\n' +
    'The --init argument is stored on the ledger in clear: put secrets in a command after deployment.\n' +
    'The account is VEIL_PRIVATE_KEY, or dev account 1 on a local devnet.',
  options: {
    ...networkOption,
    cluster: { type: 'string', valueName: '<n>', description: 'cluster to deploy to', default: '1' },
    init: { type: 'string', valueName: '<json>', description: 'argument of the contract’s init()' },
    'upgrade-delay': {
      type: 'string',
      valueName: '<seconds>',
      description: 'delay between scheduling and applying an upgrade',
      default: '0',
    },
  },
  json: true,
  examples: [
    'veil deploy src/counter.ts --init \'{"start":1}\'',
    'veil deploy dist/counter.js --cluster 2 --json',
  ],
  async run(ctx) {
    const { io } = ctx
    const fileArg = ctx.positionals[0]
    if (!fileArg || ctx.positionals.length > 1) {
      throw new UsageError('veil deploy takes exactly one file', { hint: 'veil deploy src/contract.ts' })
    }
    const file = resolve(io.cwd, fileArg)
    const cluster = intOption(ctx, 'cluster', 1, Number.MAX_SAFE_INTEGER) ?? 1
    const upgradeDelay = intOption(ctx, 'upgrade-delay', 0, 30 * 24 * 3600) ?? 0
    const initText = stringOption(ctx, 'init')
    const init = initText === undefined ? undefined : parseValueArg(initText, '--init')
    let code: string
    if (/\.[cm]?tsx?$/.test(file)) {
      const { buildContract } = await import('@veil/contract/build')
      const bundle = await buildContract({ entry: file })
      for (const warning of bundle.warnings) io.err(`warning: ${warning}`)
      code = bundle.code
    } else {
      try {
        code = readFileSync(file, 'utf8')
      } catch (error) {
        throw new UsageError(`cannot read ${fileArg}`, { details: (error as Error).message })
      }
    }
    const { client, network } = await loadClient(ctx, { needsAccount: true })
    const deployed = await client.deploy(code, {
      cluster,
      upgradeDelay,
      ...(init === undefined ? {} : { init }),
    })
    if (flag(ctx, 'json')) {
      io.out(
        toJson({
          ok: true,
          contractId: deployed.contractId,
          codeHash: deployed.codeHash,
          txHash: deployed.txHash,
          cluster,
        }),
      )
    } else {
      io.out(`deployed contract ${deployed.contractId} to cluster ${cluster}`)
      io.out(`  code hash    ${deployed.codeHash}`)
      io.out(`  transaction  ${deployed.txHash}`)
      if (network.mining?.billing) {
        // Commands and queries of an unfunded contract are refused with INSUFFICIENT_BALANCE.
        io.err(
          `fund it first (its commands and queries pay for fuel): veil contract fund ${deployed.contractId} 10`,
        )
      }
      io.err(
        `try: veil call ${deployed.contractId} <command> [args…]  ·  veil query ${deployed.contractId} <query>`,
      )
    }
    return ExitCode.ok
  },
}
