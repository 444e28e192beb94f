import { getWorkerInfo } from '../actions/getWorkerInfo.js'
import { getWorkers } from '../actions/getWorkers.js'
import type { VeilBaseClient } from '../client/baseClient.js'
import { WorkerPool } from './pool.js'

/** The client's pool for `cluster`: discovered from the registry, verified through `verifyWorker`. */
export function getWorkerPool(client: VeilBaseClient, cluster: bigint): WorkerPool {
  let pool = client.cache.pools.get(cluster)
  if (!pool) {
    pool = new WorkerPool({
      cluster,
      clock: client.config.clock,
      refreshMs: client.config.workerRefreshMs,
      discover: () => getWorkers(client, { cluster }),
      verify: async (registered) => {
        const info = await getWorkerInfo(client, { url: registered.url })
        await client.config.verifyWorker({
          registered,
          info,
          chainId: await client.getChainId(),
          registry: client.addresses.registry,
        })
      },
    })
    client.cache.pools.set(cluster, pool)
  }
  return pool
}
