import { VEIL_EIP712_TYPES, veilTypedDataDomain } from '@veil/crypto/web'
import type { Address, Hex } from '@veil/protocol'
import type { LocalAccount } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { signTypedData } from 'viem/actions'
import type { VeilBaseClient } from '../client/baseClient.js'
import { AccountRequiredError, InvalidArgumentError } from '../errors.js'

/**
 * A session key the wallet certified once (EIP-712 `Session`): it signs each query's `QueryAuth`, so a
 * dapp does not prompt the wallet per query. Queries authenticated with it see `ctx.caller` = the wallet.
 */
export interface QuerySession {
  /** The session key. Keep it private: it speaks for the wallet until `expires`. */
  key: LocalAccount
  /** The wallet that certified the key. */
  wallet: Address
  /** Expiry, unix seconds. */
  expires: number
  /** The wallet's signature of `Session(key, expires)`. */
  signature: Hex
}

export interface CreateSessionParameters {
  /** Lifetime of the session (default 1 hour). */
  expiresInSeconds?: number | undefined
  /** Use this key instead of a fresh random one. */
  key?: LocalAccount | undefined
}

export type CreateSessionReturnType = QuerySession

/**
 * Certifies a session key with the client's wallet (one signature), for `auth: session` queries.
 *
 * @example
 * const session = await createSession(client, { expiresInSeconds: 600 })
 * await client.contract<typeof Counter>(1n, { auth: session }).query.mine()
 */
export async function createSession(
  client: VeilBaseClient,
  params: CreateSessionParameters = {},
): Promise<CreateSessionReturnType> {
  const { account } = client
  if (!account) throw new AccountRequiredError('createSession')
  const lifetime = params.expiresInSeconds ?? 3600
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0)
    throw new InvalidArgumentError(`invalid session lifetime ${lifetime}`, {
      details: 'a positive number of seconds',
    })
  const key = params.key ?? privateKeyToAccount(generatePrivateKey())
  const expires = Math.floor(client.config.clock.now() / 1000) + lifetime
  const signature = await signTypedData(client.chainClient, {
    account,
    domain: veilTypedDataDomain({
      chainId: await client.getChainId(),
      verifyingContract: client.addresses.registry,
    }),
    types: VEIL_EIP712_TYPES,
    primaryType: 'Session',
    message: { key: key.address, expires: BigInt(expires) },
  })
  return { key, wallet: account.address, expires, signature }
}
