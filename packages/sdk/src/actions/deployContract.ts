import { encodeInitPayload, type Hex, ValueEncodingError } from '@veil/protocol'
import { bytesToHex, keccak256, parseEventLogs } from 'viem'
import { readContract, writeContract } from 'viem/actions'
import type { VeilBaseClient } from '../client/baseClient.js'
import { type AccountRequiredError, InvalidArgumentError } from '../errors.js'
import { Contracts, type LedgerError } from '../ledger/abis.js'
import { transact } from '../ledger/transact.js'
import { utf8Bytes } from '../wire/bytes.js'

export interface DeployContractParameters {
  /** The bundle (`veil build` output): its text, or its bytes. */
  code: string | Uint8Array
  /** The cluster whose workers run the contract (default 1, the devnet's). */
  cluster?: bigint | number | undefined
  /**
   * The argument of the contract's `init`. It is stored on the ledger in clear: the contract's key is
   * only published after deployment, so there is nothing to seal it to yet. Pass secrets through a
   * (sealed) command after deployment instead.
   */
  init?: unknown
  /** Seconds an upgrade must wait between scheduling and applying (default 0, at most 30 days). */
  upgradeDelay?: bigint | number | undefined
}

export interface DeployContractReturnType {
  contractId: bigint
  codeHash: Hex
  /** The deploy transaction. */
  txHash: Hex
  /** The upload transaction, when the code was not on the ledger yet. */
  uploadTxHash: Hex | undefined
}

export type DeployContractErrorType = AccountRequiredError | InvalidArgumentError | LedgerError

/**
 * Uploads a contract bundle (unless the ledger has it already) and deploys it to a cluster, from the
 * client's account, which becomes the contract's owner.
 *
 * @example
 * const { contractId } = await deployContract(client, { code: bundle.code, init: { start: 1 } })
 */
export async function deployContract(
  client: VeilBaseClient,
  params: DeployContractParameters,
): Promise<DeployContractReturnType> {
  const code = typeof params.code === 'string' ? utf8Bytes(params.code) : params.code
  if (code.length === 0)
    throw new InvalidArgumentError('the contract code is empty', { hint: 'build it with `veil build`' })
  let initPayload: Uint8Array
  try {
    initPayload = encodeInitPayload(params.init)
  } catch (error) {
    throw new InvalidArgumentError('cannot encode the init argument', {
      details: error instanceof ValueEncodingError ? error.message : String(error),
      cause: error,
    })
  }
  const cluster = BigInt(params.cluster ?? 1)
  const upgradeDelay = BigInt(params.upgradeDelay ?? 0)
  const codeHash = keccak256(code)
  const contracts = { address: client.addresses.contracts, abi: Contracts.abi } as const

  const known = await readContract(client.chainClient, {
    ...contracts,
    functionName: 'getCode',
    args: [codeHash],
  })
  let uploadTxHash: Hex | undefined
  if (known.size === 0) {
    const upload = await transact(client, 'uploadCode', (chainClient, chain, account) =>
      writeContract(chainClient, {
        ...contracts,
        functionName: 'uploadCode',
        args: [bytesToHex(code)],
        chain,
        account,
      }),
    )
    uploadTxHash = upload.transactionHash
  }
  const receipt = await transact(client, 'deploy', (chainClient, chain, account) =>
    writeContract(chainClient, {
      ...contracts,
      functionName: 'deploy',
      args: [cluster, codeHash, bytesToHex(initPayload), upgradeDelay],
      chain,
      account,
    }),
  )
  const [deployed] = parseEventLogs({ abi: Contracts.abi, logs: receipt.logs, eventName: 'ContractDeployed' })
  if (!deployed)
    throw new Error(`deploy transaction ${receipt.transactionHash} emitted no ContractDeployed event`)
  client.cache.contracts.set(deployed.args.contractId, { cluster })
  return { contractId: deployed.args.contractId, codeHash, txHash: receipt.transactionHash, uploadTxHash }
}
