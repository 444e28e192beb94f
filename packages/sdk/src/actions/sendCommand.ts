import type { VeilBaseClient } from '../client/baseClient.js'
import type { SubmitCommandErrorType, SubmitCommandParameters } from './submitCommand.js'
import { submitCommand } from './submitCommand.js'
import {
  type CommandResult,
  type WaitForCommandResultErrorType,
  waitForCommandResult,
} from './waitForCommandResult.js'

export interface SendCommandParameters extends SubmitCommandParameters {
  /** How long to wait for the result once the command is mined (default: the client's `receiptTimeoutMs`). */
  receiptTimeoutMs?: number | undefined
}

export type SendCommandReturnType = CommandResult
export type SendCommandErrorType = SubmitCommandErrorType | WaitForCommandResultErrorType

/**
 * Runs a contract command: seals it to the contract's key, submits it from the client's account, waits
 * for a worker's receipt and opens it. A contract failure is a result (`ok: false`), not an exception.
 *
 * @example
 * const result = await sendCommand(client, { contractId: 1n, method: 'add', args: [5] })
 * if (result.ok) console.log(result.result) // 6
 * else console.error(result.error.code, result.error.message)
 */
export async function sendCommand(
  client: VeilBaseClient,
  params: SendCommandParameters,
): Promise<SendCommandReturnType> {
  const command = await submitCommand(client, params)
  return waitForCommandResult(client, {
    command,
    timeoutMs: params.receiptTimeoutMs,
    signal: params.signal,
  })
}
