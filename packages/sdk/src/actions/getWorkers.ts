import type { Address, Hex } from '@veil/protocol'
import { readContract } from 'viem/actions'
import type { VeilBaseClient } from '../client/baseClient.js'
import { explainLedgerError, Registry } from '../ledger/abis.js'
import { type RegisteredWorker, WORKER_STATUSES } from '../workers/types.js'

export interface GetWorkersParameters {
  /** Only this cluster's members; every registered worker when omitted. */
  cluster?: bigint | number | undefined
}

export type GetWorkersReturnType = RegisteredWorker[]

/**
 * Lists workers from the Registry: a cluster's members, or every registered worker, with status,
 * endpoint, keys, measurement and whether that measurement is allowed. Read-only, no worker contacted.
 *
 * @example
 * const workers = await getWorkers(client, { cluster: 1n })
 * workers.filter((w) => w.status === 'active').map((w) => w.url)
 */
export async function getWorkers(
  client: VeilBaseClient,
  params: GetWorkersParameters = {},
): Promise<GetWorkersReturnType> {
  const registry = { address: client.addresses.registry, abi: Registry.abi } as const
  const { chainClient } = client
  try {
    let addresses: readonly Address[]
    if (params.cluster === undefined) {
      const count = await readContract(chainClient, { ...registry, functionName: 'workerCount' })
      addresses = await readContract(chainClient, { ...registry, functionName: 'workers', args: [0n, count] })
    } else {
      addresses = await readContract(chainClient, {
        ...registry,
        functionName: 'clusterMembers',
        args: [BigInt(params.cluster)],
      })
    }
    const records = await Promise.all(
      addresses.map((address) =>
        readContract(chainClient, { ...registry, functionName: 'getWorker', args: [address] }),
      ),
    )
    const measurements = [...new Set(records.map((r) => r.measurement))]
    const allowed = new Map<Hex, boolean>(
      await Promise.all(
        measurements.map(
          async (m) =>
            [
              m,
              await readContract(chainClient, { ...registry, functionName: 'measurementAllowed', args: [m] }),
            ] as const,
        ),
      ),
    )
    return records.map((record, i) => ({
      address: addresses[i] as Address,
      url: record.endpoint,
      status: WORKER_STATUSES[record.status] ?? 'none',
      cluster: record.cluster,
      x25519PublicKey: record.x25519PublicKey,
      measurement: record.measurement,
      measurementAllowed: allowed.get(record.measurement) ?? false,
      operator: record.operator,
      quoteHash: record.quoteHash,
    }))
  } catch (error) {
    throw explainLedgerError(error, 'reading workers from the registry')
  }
}
