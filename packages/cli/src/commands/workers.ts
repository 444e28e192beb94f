import type { RegisteredWorker, WorkerHealth } from '@veil/sdk'
import { flag, intOption } from '../args.js'
import { type Command, ExitCode } from '../command.js'
import { loadClient, networkOption } from '../network.js'
import { table, toJson } from '../output.js'

interface WorkerRow {
  /** Position among the cluster's active workers: what `veil query --worker <index>` takes. */
  index: number | null
  address: string
  status: string
  cluster: string
  url: string
  operator: string
  measurement: string
  measurementAllowed: boolean
  health?: WorkerHealth
  /** Whether the endpoint reports the registered keys (the SDK's default worker check). */
  verified?: { ok: boolean; reason?: string }
}

export const workersCommand: Command = {
  name: ['workers'],
  summary: 'list the registered workers, their clusters and health',
  description:
    'Reads the registry, then asks each worker for /healthz and /v1/info and runs the SDK’s check (the\n' +
    'endpoint must report the registered identity, X25519 key, measurement and cluster). The index is the\n' +
    'worker’s position in its cluster, for `veil query --worker <index>`.',
  options: {
    ...networkOption,
    cluster: { type: 'string', valueName: '<n>', description: 'only this cluster’s workers' },
    offline: { type: 'boolean', description: 'read the registry only; do not contact the workers' },
  },
  json: true,
  examples: ['veil workers', 'veil workers --cluster 1 --json'],
  async run(ctx) {
    const { io } = ctx
    const cluster = intOption(ctx, 'cluster', 0, Number.MAX_SAFE_INTEGER)
    const { client } = await loadClient(ctx)
    const { defaultVerifyWorker } = await import('@veil/sdk')
    const workers = await client.getWorkers(cluster === undefined ? {} : { cluster })
    const clusters = [...new Set(workers.map((w) => w.cluster).filter((c) => c !== 0n))]
    const order = new Map<string, number>()
    for (const c of clusters) {
      const members = (await client.getWorkers({ cluster: c })).filter(
        (w) => w.status === 'active' && w.url !== '',
      )
      for (const [i, w] of members.entries()) order.set(w.address.toLowerCase(), i)
    }
    const rows = await Promise.all(
      workers.map(async (worker: RegisteredWorker): Promise<WorkerRow> => {
        const row: WorkerRow = {
          index: order.get(worker.address.toLowerCase()) ?? null,
          address: worker.address,
          status: worker.status,
          cluster: String(worker.cluster),
          url: worker.url,
          operator: worker.operator,
          measurement: worker.measurement,
          measurementAllowed: worker.measurementAllowed,
        }
        if (flag(ctx, 'offline') || worker.url === '') return row
        row.health = await client.getWorkerHealth(worker.url)
        try {
          defaultVerifyWorker({
            registered: worker,
            info: await client.getWorkerInfo(worker.url),
            chainId: await client.getChainId(),
            registry: client.addresses.registry,
          })
          row.verified = { ok: true }
        } catch (error) {
          row.verified = { ok: false, reason: error instanceof Error ? error.message : String(error) }
        }
        return row
      }),
    )
    if (flag(ctx, 'json')) {
      io.out(toJson({ ok: true, workers: rows }))
      return ExitCode.ok
    }
    if (rows.length === 0) {
      io.out('no workers registered')
      return ExitCode.ok
    }
    io.out(
      table(
        ['#', 'ADDRESS', 'STATUS', 'CLUSTER', 'URL', 'HEALTH'],
        rows.map((r) => [
          r.index === null ? '-' : String(r.index),
          r.address,
          r.status,
          r.cluster,
          r.url || '(none)',
          describeHealth(r),
        ]),
      ),
    )
    return ExitCode.ok
  },
}

function describeHealth(row: WorkerRow): string {
  if (!row.health) return '(not contacted)'
  const { health } = row
  if (!health.reachable) return `unreachable (${health.error?.message ?? 'no answer'})`
  const phase =
    health.phase === 'following'
      ? `following, ${health.lagBlocks ?? 0} behind`
      : `${health.phase ?? 'unknown'}`
  const error = health.error ? ` (${health.error.code}: ${health.error.message})` : ''
  const verified = row.verified && !row.verified.ok ? `; FAILS VERIFICATION: ${row.verified.reason}` : ''
  return `${phase}${error}${verified}`
}
