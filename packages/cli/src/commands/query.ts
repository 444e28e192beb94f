import { UsageError } from '@veil/protocol'
import { flag, stringOption } from '../args.js'
import { type Command, ExitCode } from '../command.js'
import { contractIdArg, loadClient, networkOption } from '../network.js'
import { toJson } from '../output.js'
import { parseValueArg, showValue, taggedJson } from '../values.js'

const USAGE = 'veil query <id> <method> [args…]'

export const queryCommand: Command = {
  name: ['query'],
  args: '<id> <method> [jsonArgs...]',
  summary: 'run a contract query on a worker and check its signed answer',
  description:
    'Seals the query to one worker of the contract’s cluster (spread over the workers, or --worker),\n' +
    'opens the answer and checks the worker’s signature against its registered identity. Arguments are\n' +
    'parsed as for `veil call`. No account or gas is needed; --as-wallet proves your account as caller.\n' +
    'A contract error or an invalid signature exits 1.',
  options: {
    ...networkOption,
    worker: {
      type: 'string',
      valueName: '<index|url>',
      description: 'ask this worker (index from `veil workers`, address or URL)',
    },
    'as-wallet': {
      type: 'boolean',
      description: 'sign the query with your account so the contract sees it as ctx.caller',
    },
  },
  json: true,
  examples: ['veil query 1 get', 'veil query 1 balanceOf \'"0xabc…"\' --worker 1 --json'],
  async run(ctx) {
    const { io } = ctx
    const [idText, method, ...argTexts] = ctx.positionals
    const contractId = contractIdArg(idText, USAGE)
    if (!method) throw new UsageError('which query?', { hint: USAGE })
    const args = argTexts.map((text, i) => parseValueArg(text, `argument ${i + 1}`))
    const workerText = stringOption(ctx, 'worker')
    const worker =
      workerText === undefined ? undefined : /^\d+$/.test(workerText) ? Number(workerText) : workerText
    const asWallet = flag(ctx, 'as-wallet')
    const { client } = await loadClient(ctx, { needsAccount: asWallet })
    const answer = await client.query({
      contractId,
      method,
      args,
      worker,
      allowInvalidSignature: true,
      ...(asWallet ? { auth: 'wallet' as const } : {}),
    })
    const ok = answer.ok && answer.signatureValid
    if (flag(ctx, 'json')) {
      io.out(
        toJson({
          ok: answer.ok,
          ...(answer.ok ? { result: taggedJson(answer.result) } : { error: answer.error }),
          worker: answer.worker.address,
          url: answer.worker.url,
          block: answer.block,
          fuel: answer.fuel,
          signatureValid: answer.signatureValid,
          signature: answer.signature,
          ...(answer.proof ? { proof: answer.proof } : {}),
        }),
      )
    } else {
      if (answer.ok) io.out(showValue(answer.result))
      else io.err(`error: ${method} failed: ${answer.error.code}: ${answer.error.message}`)
      io.err(
        `answered by ${answer.worker.address} (${answer.worker.url}) at block ${answer.block} · fuel ${answer.fuel} · ` +
          (answer.signatureValid ? 'signature valid' : 'SIGNATURE INVALID: do not trust this answer'),
      )
    }
    return ok ? ExitCode.ok : ExitCode.failure
  },
}
