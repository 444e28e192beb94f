import { UsageError } from '@veil/protocol'
import { flag } from '../args.js'
import { type Command, ExitCode } from '../command.js'
import { contractIdArg, loadClient, networkOption } from '../network.js'
import { toJson } from '../output.js'
import { parseValueArg, showValue, taggedJson } from '../values.js'
import { formatAmount } from './mining.js'

const USAGE = 'veil call <id> <method> [args…]'

export const callCommand: Command = {
  name: ['call'],
  args: '<id> <method> [jsonArgs...]',
  summary: 'send a sealed command to a contract and print its result',
  description:
    'Seals the call to the contract’s key, submits it through the ledger from your account, waits for a\n' +
    'worker to execute it, and opens the result. Each argument is JSON (5, \'"text"\', \'{"a":1}\'), a\n' +
    'bigint (5n or {"$bigint":"5"}), or a bare word, which is a string. A contract error exits 1.\n' +
    'The account is VEIL_PRIVATE_KEY, or dev account 1 on a local devnet.',
  options: { ...networkOption },
  json: true,
  examples: [
    'veil call 1 add 5',
    'veil call 2 setName alice',
    'veil call 3 transfer \'"0xabc…"\' 10n --json',
  ],
  async run(ctx) {
    const { io } = ctx
    const [idText, method, ...argTexts] = ctx.positionals
    const contractId = contractIdArg(idText, USAGE)
    if (!method) throw new UsageError('which command?', { hint: USAGE })
    const args = argTexts.map((text, i) => parseValueArg(text, `argument ${i + 1}`))
    const { client } = await loadClient(ctx, { needsAccount: true })
    const outcome = await client.sendCommand({ contractId, method, args })
    if (flag(ctx, 'json')) {
      io.out(
        toJson({
          ok: outcome.ok,
          ...(outcome.ok ? { result: taggedJson(outcome.result) } : { error: outcome.error }),
          txHash: outcome.txHash,
          block: outcome.blockNumber,
          fuel: outcome.fuel,
          ...(outcome.charge === undefined ? {} : { charge: String(outcome.charge) }),
          events: taggedJson(outcome.events),
          worker: outcome.worker.address,
        }),
      )
    } else if (outcome.ok) {
      const charge = outcome.charge === undefined ? '' : ` · charged ${formatAmount(outcome.charge)} VEIL`
      io.out(showValue(outcome.result))
      for (const event of outcome.events) io.err(`event ${event.name} ${showValue(event.data)}`)
      io.err(`tx ${outcome.txHash} · block ${outcome.blockNumber} · fuel ${outcome.fuel}${charge}`)
    } else {
      const lines = [`error: ${method} failed: ${outcome.error.code}: ${outcome.error.message}`]
      if (outcome.error.stack) lines.push(outcome.error.stack.replace(/^/gm, '  '))
      const charge = outcome.charge === undefined ? '' : ` · charged ${formatAmount(outcome.charge)} VEIL`
      lines.push(
        `  tx ${outcome.txHash} · block ${outcome.blockNumber} · fuel ${outcome.fuel}${charge} (nothing changed)`,
      )
      io.err(lines.join('\n'))
    }
    return outcome.ok ? ExitCode.ok : ExitCode.failure
  },
}
