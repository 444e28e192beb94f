import { type Hex, type NetworkFile, UsageError, VeilError } from '@veil/protocol'
import type { VeilClient } from '@veil/sdk'
import { pathOption } from './args.js'
import type { CommandContext, OptionSpec } from './command.js'

/** `--network <file>`, shared by every command that talks to a network. */
export const networkOption: Record<'network', OptionSpec> = {
  network: {
    type: 'string',
    valueName: '<file>',
    description: 'network file',
    default: '.veil/network.json',
  },
}

export const PRIVATE_KEY_ENV = 'VEIL_PRIVATE_KEY'
/**
 * The devnet account clients use when VEIL_PRIVATE_KEY is unset: dev account 1. Account 0 owns the
 * ledger and stands in for the KMS on the devnet; sharing it would race its transactions' nonces.
 */
export const DEVNET_CLIENT_ACCOUNT = 1

export interface LoadedClient {
  client: VeilClient
  network: NetworkFile
  /** Where the account came from, for messages. */
  accountSource: 'env' | 'devnet' | 'none'
}

/**
 * Reads the network file and creates an SDK client. The account is VEIL_PRIVATE_KEY, or on a local
 * devnet dev account 1; commands that send transactions pass `needsAccount`.
 */
export async function loadClient(
  ctx: CommandContext,
  options: { needsAccount?: boolean } = {},
): Promise<LoadedClient> {
  const [{ readNetworkFile }, { devAccount }, { createClient }] = await Promise.all([
    import('@veil/devnet'),
    import('@veil/ledger'),
    import('@veil/sdk'),
  ])
  const network = readNetworkFile(pathOption(ctx, 'network', '.veil/network.json'))
  const key = ctx.io.env[PRIVATE_KEY_ENV]
  if (key !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new UsageError(`${PRIVATE_KEY_ENV} must be a 0x-prefixed 32-byte hex private key`)
  }
  const isDevnet = 'devnet' in network
  const account = key ? (key as Hex) : isDevnet ? devAccount(DEVNET_CLIENT_ACCOUNT) : undefined
  if (options.needsAccount && account === undefined) {
    throw new VeilError('this command sends a transaction, and no account is configured', {
      code: 'ACCOUNT_REQUIRED',
      hint: `set ${PRIVATE_KEY_ENV} to the private key of a funded account on this network`,
    })
  }
  const client = createClient({ network, ...(account === undefined ? {} : { account }) })
  return { client, network, accountSource: key ? 'env' : account ? 'devnet' : 'none' }
}

/** Parses a contract id positional. */
export function contractIdArg(text: string | undefined, usage: string): bigint {
  if (text === undefined || !/^[1-9]\d{0,19}$/.test(text) || BigInt(text) >= 2n ** 64n) {
    throw new UsageError(`expected a contract id, got ${text === undefined ? 'nothing' : `"${text}"`}`, {
      hint: `${usage}  (\`veil contracts\` lists the ids)`,
    })
  }
  return BigInt(text)
}
