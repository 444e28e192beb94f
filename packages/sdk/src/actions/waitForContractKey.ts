import { hexToBytes } from 'viem'
import type { VeilBaseClient } from '../client/baseClient.js'
import { ContractKeyTimeoutError, type ContractNotFoundError } from '../errors.js'
import { sleep } from '../utils/sleep.js'
import { getContractInfo, toContractId } from './getContractInfo.js'

export interface WaitForContractKeyParameters {
  contractId: bigint | number | string
  /** Default: the client's `keyTimeoutMs` (30 s). */
  timeoutMs?: number | undefined
  signal?: AbortSignal | undefined
}

/** The contract's 32-byte X25519 public key. */
export type WaitForContractKeyReturnType = Uint8Array
export type WaitForContractKeyErrorType = ContractKeyTimeoutError | ContractNotFoundError

/**
 * The contract's X25519 key from the ledger, waiting until the KMS has published it (it does so right
 * after deployment). Cached per client once published.
 *
 * @example
 * const key = await waitForContractKey(client, { contractId: 1n, timeoutMs: 5_000 })
 */
export async function waitForContractKey(
  client: VeilBaseClient,
  params: WaitForContractKeyParameters,
): Promise<WaitForContractKeyReturnType> {
  const id = toContractId(params.contractId)
  const cached = client.cache.contracts.get(id)?.x25519PublicKey
  if (cached) return cached
  const timeoutMs = params.timeoutMs ?? client.config.keyTimeoutMs
  const deadline = client.config.clock.now() + timeoutMs
  for (;;) {
    const info = await getContractInfo(client, { contractId: id })
    if (info.x25519PublicKey) {
      const key = hexToBytes(info.x25519PublicKey)
      client.cache.contracts.set(id, { cluster: info.cluster, x25519PublicKey: key })
      return key
    }
    if (client.config.clock.now() >= deadline) throw new ContractKeyTimeoutError(id, timeoutMs)
    await sleep(client.config.pollingIntervalMs, params.signal, `waiting for the key of contract ${id}`)
  }
}

/** Forgets a cached key (after the contract's keys were rotated). */
export function forgetContractKey(client: VeilBaseClient, contractId: bigint): void {
  const cached = client.cache.contracts.get(contractId)
  if (cached) client.cache.contracts.set(contractId, { cluster: cached.cluster })
}
