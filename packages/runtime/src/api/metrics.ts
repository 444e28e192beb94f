import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** The worker's Prometheus metrics, in a registry of its own (several workers may share a process). */
export class WorkerMetrics {
  readonly registry = new Registry()
  readonly queryDuration = new Histogram({
    name: 'veil_query_duration_seconds',
    help: 'Time to answer a query, from request to sealed answer',
    labelNames: ['outcome'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  })
  readonly answerBatch = new Histogram({
    name: 'veil_answer_batch_size',
    help: 'Answers signed with one signature (one event-loop turn; 1 = a plain Answer signature)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  })
  readonly commandFuel = new Histogram({
    name: 'veil_command_fuel',
    help: 'Fuel used per executed command',
    buckets: [1e3, 1e4, 5e4, 1e5, 5e5, 1e6, 5e6, 1e7],
    registers: [this.registry],
  })
  readonly commands = new Counter({
    name: 'veil_commands_total',
    help: 'Commands executed, by outcome',
    labelNames: ['ok'] as const,
    registers: [this.registry],
  })
  readonly errors = new Counter({
    name: 'veil_errors_total',
    help: 'Errors by code: failed commands and queries, and refused requests',
    labelNames: ['code'] as const,
    registers: [this.registry],
  })
  readonly blockHeight = new Gauge({
    name: 'veil_block_height',
    help: 'Last block the worker committed',
    registers: [this.registry],
  })
  readonly chainLag = new Gauge({
    name: 'veil_chain_lag_blocks',
    help: 'Blocks between the chain head and the last committed block',
    registers: [this.registry],
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'veil_worker_' })
  }
}
