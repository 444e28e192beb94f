import type { VeilBaseClient } from '../client/baseClient.js'
import { ContractCallError, InvalidArgumentError } from '../errors.js'
import { type SendCommandErrorType, sendCommand } from './sendCommand.js'

/** Names as the workers accept them: letters, digits and `_`, not starting with a digit, at most 64. */
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

export interface SetSecretsParameters {
  contractId: bigint | number | string
  /** Secrets to set (or replace): `{ API_KEY: '…' }`. Values are strings of at most 4 KiB. */
  set?: Record<string, string> | undefined
  /** Names of secrets to delete. */
  delete?: readonly string[] | undefined
  signal?: AbortSignal | undefined
}

export interface SetSecretsReturnType {
  /** The names set (values are never echoed). */
  set: string[]
  /** The names deleted (those that existed). */
  deleted: string[]
  txHash: `0x${string}`
}

export type SetSecretsErrorType = SendCommandErrorType | ContractCallError | InvalidArgumentError

/**
 * Sets or deletes a contract's secrets (owner only): sealed to the contract's key and carried by the
 * ledger, so every worker of its cluster gets them. Contracts read them as `ctx.secrets.NAME` in queries
 * and jobs; they never appear in receipts or logs.
 *
 * @example
 * await setSecrets(client, { contractId: 1n, set: { API_KEY: process.env.API_KEY } })
 */
export async function setSecrets(
  client: VeilBaseClient,
  params: SetSecretsParameters,
): Promise<SetSecretsReturnType> {
  const set = params.set ?? {}
  const remove = [...(params.delete ?? [])]
  for (const name of [...Object.keys(set), ...remove]) {
    if (!SECRET_NAME.test(name)) {
      throw new InvalidArgumentError(`"${name}" is not a valid secret name`, {
        hint: 'use letters, digits and _, not starting with a digit, at most 64 characters',
      })
    }
  }
  for (const [name, value] of Object.entries(set)) {
    if (typeof value !== 'string') throw new InvalidArgumentError(`secret ${name} must be a string`)
  }
  if (Object.keys(set).length === 0 && remove.length === 0) {
    throw new InvalidArgumentError('nothing to set or delete')
  }
  const outcome = await sendCommand(client, {
    contractId: params.contractId,
    method: '$secrets',
    args: [{ set, delete: remove }],
    signal: params.signal,
  })
  if (!outcome.ok) {
    throw new ContractCallError({
      kind: 'command',
      contractId: outcome.contractId,
      method: '$secrets',
      error: outcome.error,
      fuel: outcome.fuel,
      txHash: outcome.txHash,
    })
  }
  const result = outcome.result as { set: string[]; deleted: string[] }
  return { set: result.set, deleted: result.deleted, txHash: outcome.txHash }
}
