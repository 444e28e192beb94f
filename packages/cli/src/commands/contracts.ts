import { flag, intOption } from '../args.js'
import { type Command, ExitCode } from '../command.js'
import { loadClient, networkOption } from '../network.js'
import { table, toJson } from '../output.js'

export const contractsCommand: Command = {
  name: ['contracts'],
  summary: 'list the contracts deployed on the ledger',
  description:
    'Reads the ledger: id, cluster, owner, code hash, and whether the contract’s keys are published.',
  options: {
    ...networkOption,
    offset: { type: 'string', valueName: '<n>', description: 'skip this many contracts', default: '0' },
    limit: { type: 'string', valueName: '<n>', description: 'list at most this many', default: '100' },
  },
  json: true,
  examples: ['veil contracts', 'veil contracts --limit 10 --json'],
  async run(ctx) {
    const { io } = ctx
    const offset = intOption(ctx, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0
    const limit = intOption(ctx, 'limit', 1, 10_000) ?? 100
    const { client } = await loadClient(ctx)
    const { total, contracts } = await client.listContracts({ offset, limit })
    if (flag(ctx, 'json')) {
      io.out(toJson({ ok: true, total, contracts }))
      return ExitCode.ok
    }
    if (contracts.length === 0) {
      io.out(total === 0n ? 'no contracts deployed' : `no contracts after ${offset} (there are ${total})`)
      return ExitCode.ok
    }
    io.out(
      table(
        ['ID', 'CLUSTER', 'OWNER', 'CODE HASH', 'KEYS', 'DEPLOYED', 'UPGRADE'],
        contracts.map((c) => [
          String(c.id),
          String(c.cluster),
          c.owner,
          c.codeHash,
          c.x25519PublicKey ? 'published' : 'pending',
          `block ${c.deployedAt}`,
          c.pendingUpgrade ? `to ${c.pendingUpgrade.codeHash} at ${c.pendingUpgrade.readyAt}` : '-',
        ]),
      ),
    )
    if (BigInt(offset + contracts.length) < total)
      io.err(`… ${total} in all; use --offset and --limit for more`)
    return ExitCode.ok
  },
}
