import type { Hex } from '@veil/protocol'
import { bytesToHex, parseEventLogs } from 'viem'
import { writeContract } from 'viem/actions'
import type { VeilBaseClient } from '../client/baseClient.js'
import {
  AccountRequiredError,
  type ContractKeyTimeoutError,
  type ContractNotFoundError,
  type InvalidArgumentError,
} from '../errors.js'
import { Commands, type LedgerError } from '../ledger/abis.js'
import { transact } from '../ledger/transact.js'
import { sealCommand } from '../wire/command.js'
import { getContractCluster, toContractId } from './getContractInfo.js'
import { waitForContractKey } from './waitForContractKey.js'

export interface SubmitCommandParameters {
  contractId: bigint | number | string
  method: string
  args?: readonly unknown[] | undefined
  /** How long to wait for the contract's key to be published (default: the client's `keyTimeoutMs`). */
  keyTimeoutMs?: number | undefined
  signal?: AbortSignal | undefined
}

/** A command on the ledger, with what is needed to fetch and open its result. */
export interface SubmittedCommand {
  contractId: bigint
  cluster: bigint
  method: string
  txHash: Hex
  blockNumber: bigint
  /** Position of the command's `Command` event in the block: identifies its receipt. */
  logIndex: number
  /** The contract's command sequence number. */
  seq: bigint
  /** Opens the command's sealed receipt. Secret: whoever holds it can read the result. */
  receiptKey: Uint8Array
}

export type SubmitCommandReturnType = SubmittedCommand
export type SubmitCommandErrorType =
  | AccountRequiredError
  | ContractNotFoundError
  | ContractKeyTimeoutError
  | InvalidArgumentError
  | LedgerError

/**
 * Seals a command to the contract's key and submits it through `Commands.submit` from the client's
 * account; resolves once it is mined. `waitForCommandResult` then fetches its result from a worker.
 *
 * @example
 * const submitted = await submitCommand(client, { contractId: 1n, method: 'add', args: [5] })
 * const result = await waitForCommandResult(client, { command: submitted })
 */
export async function submitCommand(
  client: VeilBaseClient,
  params: SubmitCommandParameters,
): Promise<SubmitCommandReturnType> {
  const { account } = client
  if (!account) throw new AccountRequiredError(`command ${params.method}`)
  const contractId = toContractId(params.contractId)
  const cluster = await getContractCluster(client, contractId)
  const contractPublicKey = await waitForContractKey(client, {
    contractId,
    timeoutMs: params.keyTimeoutMs,
    signal: params.signal,
  })
  const sealed = await sealCommand({
    hpke: client.config.hpke,
    contractPublicKey,
    chainId: await client.getChainId(),
    contracts: client.addresses.contracts,
    contractId,
    sender: account.address,
    method: params.method,
    args: params.args ?? [],
  })
  const receipt = await transact(client, `command ${params.method}`, (chainClient, chain, from) =>
    writeContract(chainClient, {
      address: client.addresses.commands,
      abi: Commands.abi,
      functionName: 'submit',
      args: [contractId, bytesToHex(sealed.payload)],
      chain,
      account: from,
    }),
  )
  const event = parseEventLogs({ abi: Commands.abi, logs: receipt.logs, eventName: 'Command' }).find(
    (log) =>
      log.args.contractId === contractId && log.args.sender.toLowerCase() === account.address.toLowerCase(),
  )
  if (!event) throw new Error(`transaction ${receipt.transactionHash} emitted no Command event`)
  return {
    contractId,
    cluster,
    method: params.method,
    txHash: receipt.transactionHash,
    blockNumber: receipt.blockNumber,
    logIndex: event.logIndex,
    seq: event.args.seq,
    receiptKey: sealed.receiptKey,
  }
}
