import type { TeeProvider } from '@veil/attestation'
import { UsageError, VEIL_VERSION } from '@veil/protocol'
import { flag, intOption, pathOption, stringOption } from '../args.js'
import { type Command, ExitCode } from '../command.js'
import { toJson } from '../output.js'
import {
  logLevelOption,
  serviceListenOptions,
  serviceLogOptions,
  startUnlessStopped,
  stopRequested,
} from '../service-options.js'

const TEES = ['simulated', 'tdx'] as const

export const kmsStartCommand: Command = {
  name: ['kms', 'start'],
  summary: 'run the KMS: hold the master secret, approve workers, provision their cluster secrets',
  description:
    'Creates the master secret and the KMS identity inside the TEE on first start and seals them in\n' +
    '--data (a sealed data dir opens only on the machine that sealed it). Then approves registered\n' +
    'workers whose quotes verify, provisions cluster secrets (POST /v1/provision), publishes contract\n' +
    'keys, and serves GET /healthz and GET /v1/info until SIGINT/SIGTERM. The registry owner must add\n' +
    'the KMS identity as a KMS signer (registry.addKmsSigner), and it needs ETH for gas; until then it\n' +
    'waits and /healthz says what is missing.',
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
      description: 'data dir for the sealed master secret and identity',
      default: '.veil-kms',
    },
    ...serviceListenOptions,
    tee: {
      type: 'string',
      valueName: '<kind>',
      description: 'simulated (development networks only) or tdx (an Intel TDX confidential VM)',
      default: 'simulated',
    },
    'sealing-key-file': {
      type: 'string',
      valueName: '<file>',
      description: 'with --tee tdx: the TD’s sealing root (32 bytes, on a volume only this TD can read)',
    },
    'assign-cluster': {
      type: 'string',
      valueName: '<id>',
      description: 'add the workers it approves to this cluster',
    },
    ...serviceLogOptions,
  },
  json: true,
  examples: [
    'veil kms start --data .veil/kms --assign-cluster 1',
    'veil kms start --network net.json --tee tdx --sealing-key-file /secure/seal.key --port 8700 --json',
  ],
  async run(ctx) {
    const { io } = ctx
    const level = logLevelOption(ctx)
    const tee = stringOption(ctx, 'tee') ?? 'simulated'
    if (!(TEES as readonly string[]).includes(tee)) {
      throw new UsageError(`--tee must be one of ${TEES.join(', ')}, got "${tee}"`)
    }
    const sealingKeyFile = stringOption(ctx, 'sealing-key-file')
    if (sealingKeyFile !== undefined && tee !== 'tdx') {
      throw new UsageError(
        '--sealing-key-file is for --tee tdx (the simulated TEE seals with its platform secret)',
      )
    }
    const port = intOption(ctx, 'port', 0, 65535) ?? 0
    const clusterText = stringOption(ctx, 'assign-cluster')
    if (clusterText !== undefined && !/^[1-9][0-9]{0,19}$/.test(clusterText)) {
      throw new UsageError(`--assign-cluster must be a cluster id (1, 2, …), got "${clusterText}"`)
    }
    const [
      { KmsService },
      { createSimulatedTee, createTdxTee, defaultPlatformSecretFile, quoteMeasurement, veilCodeMeasurement },
      { createLogger },
      { readNetworkFile },
      { hexToBytes },
    ] = await Promise.all([
      import('@veil/kms'),
      import('@veil/attestation'),
      import('@veil/runtime'),
      import('@veil/devnet'),
      import('viem'),
    ])
    const network = readNetworkFile(pathOption(ctx, 'network', '.veil/network.json'))
    if (tee === 'simulated' && !network.devMode) {
      throw new UsageError('a simulated TEE protects nothing, and this network is not in development mode', {
        hint: 'run the KMS in an Intel TDX confidential VM with --tee tdx',
      })
    }
    const logger = createLogger({
      level,
      format: flag(ctx, 'log-json') ? 'json' : 'text',
      write: (line) => io.err(line.replace(/\n$/, '')),
    })

    let provider: TeeProvider
    let measurement: `0x${string}`
    if (tee === 'tdx') {
      provider = createTdxTee(
        sealingKeyFile === undefined ? {} : { sealingKeyFile: pathOption(ctx, 'sealing-key-file', '') },
      )
      measurement = quoteMeasurement(await provider.getQuote(new Uint8Array(64)))
    } else {
      measurement = veilCodeMeasurement('kms', VEIL_VERSION)
      provider = createSimulatedTee({
        measurement: hexToBytes(measurement),
        platformSecretFile: defaultPlatformSecretFile(io.env),
      })
    }

    const kms = await KmsService.open({
      dataDir: pathOption(ctx, 'data', '.veil-kms'),
      tee: provider,
      measurement,
      rpcUrl: network.rpcUrl,
      chainId: network.chainId,
      contracts: network.contracts,
      host: stringOption(ctx, 'host') ?? '127.0.0.1',
      port,
      fromBlock: BigInt(network.deployBlock),
      ...(clusterText === undefined ? {} : { assignCluster: BigInt(clusterText) }),
      logger,
    })

    const stopped = stopRequested(ctx)
    if (!(await startUnlessStopped(kms, stopped))) return ExitCode.ok
    const health = kms.health()
    const ready = {
      event: 'ready',
      url: kms.url,
      address: kms.address,
      measurement: kms.measurement,
      tee,
      phase: health.phase,
    }
    io.out(
      flag(ctx, 'json')
        ? toJson(ready)
        : `KMS ${ready.address} (${tee} TEE) listening at ${ready.url}, ${health.phase}`,
    )
    if (health.warning && !flag(ctx, 'json'))
      io.err(`warning: ${health.warning.message}\n  fix: ${health.warning.hint}`)
    await stopped
    await kms.stop()
    return ExitCode.ok
  },
}
