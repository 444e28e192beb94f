import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { hpkeQueryInfo } from '@veil/crypto'
import { defaultVeilCommand, LocalNetwork } from '@veil/devnet'
import { devAccount, getLedger } from '@veil/ledger'
import { encodeCommandPayload, type Hex } from '@veil/protocol'
import { build } from 'esbuild'
import { createPublicClient, createWalletClient, defineChain, http, toHex } from 'viem'
import type { ClientConfig, ClientResult } from './query-client.js'

type Reporter = (row: { bench: string } & Record<string, number | string>) => void

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

/**
 * Bundles the load generator (`query-client.ts`) into one plain ESM file with esbuild, so its process
 * starts without a TypeScript loader (a loader's hooks thread would also run beside the client's work).
 */
async function bundleClient(dir: string): Promise<string> {
  const outfile = join(dir, 'query-client.mjs')
  await build({
    entryPoints: [fileURLToPath(new URL('./query-client.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
    // Bundled CommonJS code may call require(); give it Node's.
    banner: {
      js: "import { createRequire as veilBannerRequire } from 'node:module'; const require = veilBannerRequire(import.meta.url);",
    },
  })
  return outfile
}

/** Runs the load generator in its own process against one target; kills it if it outlives `timeoutMs`. */
async function runClient(clientFile: string, config: ClientConfig): Promise<ClientResult> {
  const child = spawn(process.execPath, [clientFile, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8')
  })
  const timeoutMs = 120_000 + 10_000 * config.seconds
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearTimeout(timer)
  if (code !== 0)
    throw new Error(`the ${config.target} client exited with ${code ?? 'a signal (timed out?)'}`)
  return JSON.parse(out) as ClientResult
}

/**
 * Encrypted, signed queries against one worker (a `veil worker start` process) from a client in another
 * process (`query-client.ts`, node:http with keep-alive), beside a plain unencrypted hono echo measured by
 * the same client in the same run; then command latency from submit to receipt on the devnet. What the
 * latency and throughput numbers cover is documented in `query-client.ts`.
 *
 * `VEIL_BENCH_CPU_PROF=<dir>` runs the worker with `--cpu-prof` and writes its profile there on exit.
 */
export async function run(report: Reporter): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'veil-bench-query-'))
  const profileDir = process.env.VEIL_BENCH_CPU_PROF
  const veil = defaultVeilCommand()
  const net = new LocalNetwork({
    dir,
    port: 0,
    workers: 1,
    ...(profileDir
      ? { veil: { command: veil.command, args: ['--cpu-prof', '--cpu-prof-dir', profileDir, ...veil.args] } }
      : {}),
  })
  const echo = spawn(process.execPath, [fileURLToPath(new URL('./echo-server.mjs', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const network = await net.start()
    const counter = network.devnet.examples?.counter ?? '1'
    const worker = network.workers[0]
    if (!worker) throw new Error('no worker')
    const info = (await (await fetch(`${worker.url}/v1/info`)).json()) as { address: Hex; x25519: Hex }
    // Wait until the worker runs the example.
    for (let i = 0; i < 200 && (await fetch(`${worker.url}/v1/contracts/${counter}`)).status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50))
    }
    const echoPort = await new Promise<number>((resolve, reject) => {
      echo.stdout?.once('data', (d: Buffer) => resolve((JSON.parse(String(d)) as { port: number }).port))
      echo.once('exit', () => reject(new Error('echo server exited')))
    })

    const shape = {
      warmup: 200,
      samples: 500,
      concurrency: 16,
      seconds: 5,
      maxOpsPerSecond: 8000,
      verifyEvery: 16,
    }
    const clientFile = await bundleClient(dir)
    const baseline = await runClient(clientFile, {
      ...shape,
      target: 'echo',
      url: `http://127.0.0.1:${echoPort}/echo`,
      serverCpu: { url: `http://127.0.0.1:${echoPort}/cpu`, format: 'cpu-usage' },
    })
    const ours = await runClient(clientFile, {
      ...shape,
      target: 'query',
      url: `${worker.url}/v1/query`,
      serverCpu: { url: `${worker.url}/metrics`, format: 'prometheus' },
      query: {
        contract: counter,
        chainId: network.chainId,
        registry: network.contracts.registry,
        worker: info.address,
        workerKey: info.x25519,
        info: hpkeQueryInfo({
          chainId: network.chainId,
          registry: network.contracts.registry,
          worker: info.address,
          contractId: counter,
        }),
      },
    })
    for (const [name, result] of [
      ['query', ours],
      ['echo', baseline],
    ] as const) {
      if (result.exhausted)
        process.stderr.write(
          `  note: the ${name} client ran out of prepared requests before its window ended\n`,
        )
    }
    report({
      bench: 'query',
      p50_ms: ours.p50_ms,
      p99_ms: ours.p99_ms,
      ops_per_s: ours.ops_per_s,
      verified: ours.verified,
      server_cpu_us: ours.server_cpu_us,
      answers_per_signature: ours.answers_per_signature,
      client_cpu_us: ours.client_cpu_us,
      baseline_p50_ms: baseline.p50_ms,
      baseline_p99_ms: baseline.p99_ms,
      baseline_ops_per_s: baseline.ops_per_s,
      baseline_server_cpu_us: baseline.server_cpu_us,
      baseline_client_cpu_us: baseline.client_cpu_us,
      ratio: round(ours.p50_ms / baseline.p50_ms),
      target_p50_ms: 2,
      target_ops_per_s: 3000,
    })

    // Commands: submit → receipt served by the worker.
    const chain = defineChain({
      id: network.chainId,
      name: 'devnet',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [network.rpcUrl] } },
    })
    const publicClient = createPublicClient({ chain, transport: http(network.rpcUrl), pollingInterval: 5 })
    const walletClient = createWalletClient({
      account: devAccount(5),
      chain,
      transport: http(network.rpcUrl),
    })
    const ledger = getLedger({
      publicClient: publicClient as never,
      walletClient,
      addresses: network.contracts,
    })
    const payload = toHex(encodeCommandPayload({ method: 'add', args: [1] }))
    const latencies: number[] = []
    for (let i = 0; i < 60; i++) {
      const started = performance.now()
      const hash = await ledger.commands.write.submit([BigInt(counter), payload])
      for (;;) {
        const response = await fetch(`${worker.url}/v1/receipts/${hash}`)
        if (response.status === 200) break
        await new Promise((r) => setTimeout(r, 2))
      }
      if (i >= 10) latencies.push(performance.now() - started)
    }
    latencies.sort((x, y) => x - y)
    report({
      bench: 'command',
      p50_ms: round(percentile(latencies, 50)),
      p99_ms: round(percentile(latencies, 99)),
      samples: latencies.length,
      target_p50_ms: 100,
    })
  } finally {
    echo.kill()
    await net.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000
