import { UsageError } from '@veil/protocol'
import { flag, intOption, listOption, pathOption, stringOption } from '../args.js'
import { type Command, ExitCode } from '../command.js'
import { toJson } from '../output.js'
import {
  logLevelOption,
  serviceListenOptions,
  serviceLogOptions,
  startUnlessStopped,
  stopRequested,
} from '../service-options.js'

export const workerStartCommand: Command = {
  name: ['worker', 'start'],
  summary: 'run a worker: register it, follow the ledger, execute its cluster’s contracts',
  description:
    'Creates the worker identity in --data on first start, registers it on the ledger (the operator\n' +
    'account pays its gas), waits until it is approved and in a cluster, then follows the chain and\n' +
    'serves GET /healthz and GET /v1/info until SIGINT/SIGTERM. The identity and the cluster secret\n' +
    'from the KMS are sealed to disk under the TEE’s key (--tee; the simulated TEE is for development\n' +
    'and only a dev-mode ledger accepts it). The operator key comes from\n' +
    'VEIL_OPERATOR_KEY; on a local dev network a funded dev account is used when it is unset.',
  options: {
    network: {
      type: 'string',
      valueName: '<file>',
      description: 'network file',
      default: '.veil/network.json',
    },
    data: {
      type: 'string',
      valueName: '<dir>',
      description: 'data dir for the identity and state',
      default: '.veil-worker',
    },
    ...serviceListenOptions,
    'public-url': {
      type: 'string',
      valueName: '<url>',
      description: 'URL to register (default: the listening address)',
    },
    tee: {
      type: 'string',
      valueName: '<kind>',
      description: 'simulated (development only) or tdx (an Intel TDX confidential VM)',
      default: 'simulated',
    },
    'sealing-key-file': {
      type: 'string',
      valueName: '<file>',
      description: 'with --tee tdx: the sealing root only this TD can read (docs/trust.md)',
    },
    'egress-allow': {
      type: 'string',
      multiple: true,
      valueName: '<host[:port]>',
      description:
        'let contracts reach this host even if it is private (repeatable; e.g. an internal API). Default: public addresses only',
    },
    rpc: {
      type: 'string',
      multiple: true,
      valueName: '<name=url>',
      description: 'an EVM JSON-RPC endpoint contracts may use as ctx.evm.call(name, …) (repeatable)',
    },
    ...serviceLogOptions,
  },
  json: true,
  examples: [
    'veil worker start --data .veil/workers/0',
    'veil worker start --network net.json --port 8600 --json',
    'veil worker start --egress-allow 10.0.0.5:8080 --rpc mainnet=https://eth.example',
  ],
  async run(ctx) {
    const { io } = ctx
    const level = logLevelOption(ctx)
    const port = intOption(ctx, 'port', 0, 65535) ?? 0
    const teeKind = stringOption(ctx, 'tee') ?? 'simulated'
    if (teeKind !== 'simulated' && teeKind !== 'tdx')
      throw new UsageError(`--tee must be simulated or tdx, got "${teeKind}"`)
    const sealingKeyFile = stringOption(ctx, 'sealing-key-file')
    if (sealingKeyFile !== undefined && teeKind !== 'tdx')
      throw new UsageError('--sealing-key-file goes with --tee tdx (the simulated TEE has its own)')
    const egressAllow = listOption(ctx, 'egress-allow')
    const rpcEntries = listOption(ctx, 'rpc', false)
    const [
      { Worker, createLogger, parseAllowEntry, parseRpcEndpoint },
      { readNetworkFile },
      { devAccount },
      { privateKeyToAccount },
      { createTdxTee },
    ] = await Promise.all([
      import('@veil/runtime'),
      import('@veil/devnet'),
      import('@veil/ledger'),
      import('viem/accounts'),
      import('@veil/attestation'),
    ])
    for (const entry of egressAllow) {
      try {
        parseAllowEntry(entry)
      } catch (error) {
        throw new UsageError(`--egress-allow ${entry}: ${(error as Error).message}`)
      }
    }
    const rpc: Record<string, string> = {}
    for (const entry of rpcEntries) {
      try {
        const [name, url] = parseRpcEndpoint(entry)
        rpc[name] = url
      } catch (error) {
        throw new UsageError((error as Error).message)
      }
    }
    const network = readNetworkFile(pathOption(ctx, 'network', '.veil/network.json'))
    const operatorKey = io.env.VEIL_OPERATOR_KEY
    if (operatorKey !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(operatorKey)) {
      throw new UsageError('VEIL_OPERATOR_KEY must be a 0x-prefixed 32-byte hex private key')
    }
    const isDevnet = 'devnet' in network
    const operator = operatorKey
      ? privateKeyToAccount(operatorKey as `0x${string}`)
      : isDevnet
        ? devAccount(9)
        : undefined
    const logger = createLogger({
      level,
      format: flag(ctx, 'log-json') ? 'json' : 'text',
      write: (line) => io.err(line.replace(/\n$/, '')),
    })
    const worker = new Worker({
      network,
      dataDir: pathOption(ctx, 'data', '.veil-worker'),
      host: stringOption(ctx, 'host') ?? '127.0.0.1',
      port,
      ...(stringOption(ctx, 'public-url') ? { publicUrl: stringOption(ctx, 'public-url') as string } : {}),
      ...(operator ? { operator } : {}),
      ...(teeKind === 'tdx'
        ? {
            tee: createTdxTee(
              sealingKeyFile ? { sealingKeyFile: pathOption(ctx, 'sealing-key-file', '') } : {},
            ),
          }
        : {}),
      egressAllow,
      rpc,
      logger,
    })

    const stopped = stopRequested(ctx)
    if (!(await startUnlessStopped(worker, stopped))) return ExitCode.ok
    const ready = { event: 'ready', url: worker.url, address: worker.address, cluster: worker.info().cluster }
    io.out(
      flag(ctx, 'json')
        ? toJson(ready)
        : `worker ${ready.address} ready at ${ready.url} (cluster ${ready.cluster})`,
    )
    const outcome = await Promise.race([stopped, worker.failed])
    await worker.stop()
    if (outcome instanceof Error) throw outcome
    return ExitCode.ok
  },
}
