import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { aeadOpen, hashQueryRequest, hpkeQueryInfo, setupBaseS } from '@veil/crypto'
import { LocalNetwork } from '@veil/devnet'
import { devAccount, getLedger } from '@veil/ledger'
import {
  base64urlToBytes,
  bytesToBase64url,
  decodeValue,
  encodeCommandPayload,
  encodeValue,
  type Hex,
} from '@veil/protocol'
import { createPublicClient, createWalletClient, defineChain, hexToBytes, http, toHex } from 'viem'

type Reporter = (row: { bench: string } & Record<string, number | string>) => void

const utf8 = new TextEncoder()
const text = new TextDecoder()

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

/** Sequential latency, then throughput with `concurrency` clients for `seconds`. */
async function measure(
  once: () => Promise<void>,
  options: { samples: number; concurrency: number; seconds: number },
) {
  for (let i = 0; i < 50; i++) await once() // warm-up: JIT, keep-alive sockets, engine pool
  const latencies: number[] = []
  for (let i = 0; i < options.samples; i++) {
    const t = performance.now()
    await once()
    latencies.push(performance.now() - t)
  }
  latencies.sort((x, y) => x - y)
  let done = 0
  const until = performance.now() + options.seconds * 1000
  const started = performance.now()
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < until) {
        await once()
        done++
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), opsPerSecond: done / elapsed }
}

/**
 * Encrypted, signed queries against one worker (a `veil worker start` process) from this process, beside
 * a plain unencrypted hono echo measured the same way in the same run; then command latency from submit
 * to receipt on the devnet.
 */
export async function run(report: Reporter): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'veil-bench-query-'))
  const net = new LocalNetwork({ dir, port: 0, workers: 1 })
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
    const queryInfo = hpkeQueryInfo({
      chainId: network.chainId,
      registry: network.contracts.registry,
      worker: info.address,
      contractId: counter,
    })
    const workerKey = hexToBytes(info.x25519)

    const query = async () => {
      const context = setupBaseS({ recipientPublicKey: workerKey, info: queryInfo, aead: 'aes-128-gcm' })
      const nonce = crypto.getRandomValues(new Uint8Array(16))
      const ct = context.seal(
        utf8.encode(encodeValue({ method: 'get', args: [], nonce, timestamp: Date.now() })),
      )
      const response = await fetch(`${worker.url}/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          v: 1,
          contract: counter,
          aead: 'aes-128-gcm',
          enc: bytesToBase64url(context.enc),
          ct: bytesToBase64url(ct),
        }),
      })
      const answer = (await response.json()) as { ct: string }
      if (response.status !== 200) throw new Error(`query failed: ${JSON.stringify(answer)}`)
      const plain = aeadOpen({
        aead: 'aes-128-gcm',
        key: context.export('veil/v1/response', 16),
        nonce: new Uint8Array(12),
        aad: hashQueryRequest(context.enc, ct),
        ciphertext: base64urlToBytes(answer.ct),
      })
      const result = decodeValue(text.decode(plain)) as { ok: boolean }
      if (!result.ok) throw new Error('query answered with an error')
    }

    const echoPort = await new Promise<number>((resolve, reject) => {
      echo.stdout?.once('data', (d: Buffer) => resolve((JSON.parse(String(d)) as { port: number }).port))
      echo.once('exit', () => reject(new Error('echo server exited')))
    })
    const echoOnce = async () => {
      const response = await fetch(`http://127.0.0.1:${echoPort}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          method: 'get',
          args: [],
          nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
          timestamp: Date.now(),
        }),
      })
      await response.json()
    }

    const shape = { samples: 500, concurrency: 16, seconds: 5 }
    const baseline = await measure(echoOnce, shape)
    const ours = await measure(query, shape)
    report({
      bench: 'query',
      p50_ms: round(ours.p50),
      p99_ms: round(ours.p99),
      ops_per_s: Math.round(ours.opsPerSecond),
      baseline_p50_ms: round(baseline.p50),
      baseline_p99_ms: round(baseline.p99),
      baseline_ops_per_s: Math.round(baseline.opsPerSecond),
      ratio: round(ours.p50 / baseline.p50),
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
