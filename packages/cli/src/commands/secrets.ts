import { UsageError } from '@veil/protocol'
import { flag } from '../args.js'
import { type Command, ExitCode } from '../command.js'
import { contractIdArg, loadClient, networkOption } from '../network.js'
import { toJson } from '../output.js'

const SET_USAGE = 'veil secrets set <id> NAME=VALUE… (or NAME alone, to take the value from $NAME)'
const DELETE_USAGE = 'veil secrets delete <id> NAME…'
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

/** `NAME=VALUE`, or `NAME` alone for the value of the environment variable NAME (keeps it out of shell history). */
export function parseSecretAssignments(
  texts: readonly string[],
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  if (texts.length === 0) throw new UsageError('which secrets?', { hint: SET_USAGE })
  const out: Record<string, string> = {}
  for (const text of texts) {
    const eq = text.indexOf('=')
    const name = eq < 0 ? text : text.slice(0, eq)
    if (!NAME.test(name)) {
      throw new UsageError(`"${name}" is not a valid secret name`, {
        hint: 'use letters, digits and _, not starting with a digit, at most 64 characters',
      })
    }
    if (name in out) throw new UsageError(`secret ${name} is given twice`)
    if (eq >= 0) {
      out[name] = text.slice(eq + 1)
    } else {
      const value = env[name]
      if (value === undefined) {
        throw new UsageError(`${name} has no value: the environment variable ${name} is not set`, {
          hint: `give it as ${name}=VALUE, or export ${name} first`,
        })
      }
      out[name] = value
    }
  }
  return out
}

function names(texts: readonly string[]): string[] {
  if (texts.length === 0) throw new UsageError('which secrets?', { hint: DELETE_USAGE })
  for (const name of texts) {
    if (!NAME.test(name)) throw new UsageError(`"${name}" is not a valid secret name`, { hint: DELETE_USAGE })
  }
  return [...new Set(texts)]
}

const description =
  'Secrets are sealed to the contract’s key and carried by the ledger, so every worker of its cluster\n' +
  'gets them; contracts read them as ctx.secrets.NAME in queries and jobs. They never appear in\n' +
  'receipts or logs (a contract’s log lines and errors show [secret NAME] instead of the value), and\n' +
  'only the contract’s owner (VEIL_PRIVATE_KEY) can change them. Nothing prints a value back.'

export const secretsSetCommand: Command = {
  name: ['secrets', 'set'],
  args: '<id> NAME=VALUE...',
  summary: 'set a contract’s secrets (owner only)',
  description: `Sets or replaces secrets. NAME alone takes the value from the environment variable NAME,\nwhich keeps it out of your shell history.\n${description}`,
  options: { ...networkOption },
  json: true,
  examples: [
    'veil secrets set 1 API_KEY=sk-live-…',
    'API_KEY=… veil secrets set 1 API_KEY',
    'veil secrets set 1 A=1 B=2 --json',
  ],
  async run(ctx) {
    const [idText, ...rest] = ctx.positionals
    const contractId = contractIdArg(idText, SET_USAGE)
    const set = parseSecretAssignments(rest, ctx.io.env)
    const { client } = await loadClient(ctx, { needsAccount: true })
    const result = await client.setSecrets({ contractId, set, signal: ctx.signal })
    if (flag(ctx, 'json')) ctx.io.out(toJson({ contractId: String(contractId), ...result }))
    else ctx.io.out(`set ${result.set.join(', ')} on contract ${contractId} (tx ${result.txHash})`)
    return ExitCode.ok
  },
}

export const secretsDeleteCommand: Command = {
  name: ['secrets', 'delete'],
  args: '<id> NAME...',
  summary: 'delete a contract’s secrets (owner only)',
  description: `Deletes secrets by name; names that do not exist are ignored.\n${description}`,
  options: { ...networkOption },
  json: true,
  examples: ['veil secrets delete 1 API_KEY'],
  async run(ctx) {
    const [idText, ...rest] = ctx.positionals
    const contractId = contractIdArg(idText, DELETE_USAGE)
    const remove = names(rest)
    const { client } = await loadClient(ctx, { needsAccount: true })
    const result = await client.setSecrets({ contractId, delete: remove, signal: ctx.signal })
    if (flag(ctx, 'json')) ctx.io.out(toJson({ contractId: String(contractId), ...result }))
    else {
      const gone = result.deleted.length ? result.deleted.join(', ') : 'nothing (no such secrets)'
      ctx.io.out(`deleted ${gone} on contract ${contractId} (tx ${result.txHash})`)
    }
    return ExitCode.ok
  },
}
