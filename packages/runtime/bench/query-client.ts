/**
 * The load generator of the query bench, bundled by the bench and run as its own process (`node
 * query-client.mjs '<config JSON>'`), so that it shares its event loop with neither the worker nor the
 * bench process. It measures one target and prints one JSON line (`ClientResult`) on stdout.
 *
 * Both targets go through the same client: node:http with a keep-alive `http.Agent` (maxSockets =
 * concurrency), bodies sent as Buffers with a content-length, every response body read and parsed as JSON.
 *
 * What is measured:
 * - Latency (p50, p99): `samples` sequential requests, one at a time, after `warmup` untimed ones. For a
 *   query, each sample covers everything a client does for one answer: seal a fresh HPKE request (new
 *   ephemeral key, nonce, current timestamp), POST it, read and parse the answer, open it with the exported
 *   response key and check `ok: true`. Checking the answer's signature (secp256k1 recovery in JS, several
 *   ms here) is left out of the samples; it is checked on a sample of answers after the throughput window.
 *   For the echo, a sample is JSON.stringify + POST + JSON.parse.
 * - Throughput (ops/s): `concurrency` requests kept in flight for `seconds`. Query requests are sealed
 *   before the window (each with its own nonce and a timestamp taken when sealed; the worker accepts
 *   timestamps within 60 s, and the window starts a few seconds after sealing), so the client's HPKE does
 *   not compete with the worker for the CPU while the worker is timed. Every answer must be 200 and parse;
 *   one in `verifyEvery` is opened and checked `ok: true` inside the window, and its signature is recovered
 *   (must be the worker's address) after it. A one-second calibration window first sizes the sealed
 *   batch (3× the calibrated rate: the first second runs colder); if the batch runs out anyway, the
 *   window ends there and ops/s is over the time actually measured (`exhausted: true`).
 */
import { Agent, request } from 'node:http'
import {
  aeadOpen,
  hashQueryRequest,
  keccak256,
  type NodeHpkeSenderContext,
  recoverAnswerSigner,
  setupBaseS,
} from '@veil/crypto'
import { base64urlToBytes, bytesToBase64url, decodeValue, encodeValue, type Hex } from '@veil/protocol'

export interface ClientConfig {
  target: 'echo' | 'query'
  url: string
  warmup: number
  samples: number
  concurrency: number
  seconds: number
  /** Sealed requests prepared per second of the window (an upper bound on the measurable rate). */
  maxOpsPerSecond: number
  verifyEvery: number
  /**
   * Where the server reports its own CPU time, read before and after the timed window: the worker's
   * Prometheus `/metrics` (`veil_worker_process_cpu_seconds_total`) or the echo's `/cpu`
   * (`process.cpuUsage()` as JSON).
   */
  serverCpu: { url: string; format: 'prometheus' | 'cpu-usage' }
  query?: {
    contract: string
    chainId: number
    registry: Hex
    worker: Hex
    /** The worker's X25519 public key, 0x-hex. */
    workerKey: Hex
    /** The HPKE info of queries to this worker and contract. */
    info: string
  }
}

export interface ClientResult {
  p50_ms: number
  p99_ms: number
  ops_per_s: number
  /** Requests completed in the throughput window. */
  completed: number
  /** Answers opened and checked `ok: true` in the window; signatures recovered after it. */
  verified: number
  /** True when the window ended because the prepared requests ran out. */
  exhausted: boolean
  /** Server process CPU time (user + system) per request in the timed window, in µs. */
  server_cpu_us: number
  /** Answers per signature in the timed window (the worker's `veil_answer_batch_size`); 0 for the echo. */
  answers_per_signature: number
  /** This client's CPU time per request in the timed window, in µs. */
  client_cpu_us: number
}

interface Prepared {
  body: Buffer
  /** Checks a 200 answer's parsed body; throws if it is not a real answer. */
  check(answer: unknown): void
  /** A check to run after the window (a signature recovery), or nothing. */
  later?(answer: unknown): void
}

const utf8 = new TextEncoder()
const text = new TextDecoder()

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

function hexToBytes(hex: Hex): Uint8Array {
  return new Uint8Array(Buffer.from(hex.slice(2), 'hex'))
}

function toHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes).toString('hex')}`
}

async function main(config: ClientConfig): Promise<ClientResult> {
  const url = new URL(config.url)
  const agent = new Agent({ keepAlive: true, maxSockets: config.concurrency })

  const post = (body: Buffer): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => {
            const raw = Buffer.concat(chunks).toString('utf8')
            if (res.statusCode !== 200) {
              reject(new Error(`HTTP ${res.statusCode}: ${raw}`))
              return
            }
            try {
              resolve(JSON.parse(raw))
            } catch (error) {
              reject(error)
            }
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(body)
    })

  const prepare = makePreparer(config)
  const once = async () => {
    const prepared = prepare()
    const answer = await post(prepared.body)
    prepared.check(answer)
  }

  for (let i = 0; i < config.warmup; i++) await once()
  const latencies: number[] = []
  for (let i = 0; i < config.samples; i++) {
    const started = performance.now()
    await once()
    latencies.push(performance.now() - started)
  }
  latencies.sort((x, y) => x - y)

  /**
   * The server's CPU seconds and, for the worker, its answer-batch histogram (answers, signatures), in one
   * request. Retried once: an idle keep-alive connection the server just closed fails the first try.
   */
  const serverReadings = async (): Promise<{ cpu: number; answers: number; signatures: number }> => {
    let text: string
    try {
      text = await (await fetch(config.serverCpu.url)).text()
    } catch {
      text = await (await fetch(config.serverCpu.url, { headers: { connection: 'close' } })).text()
    }
    if (config.serverCpu.format === 'cpu-usage') {
      const usage = JSON.parse(text) as NodeJS.CpuUsage
      return { cpu: (usage.user + usage.system) / 1e6, answers: 0, signatures: 0 }
    }
    const lines = text.split('\n')
    const value = (name: string) => {
      const line = lines.find((l) => l.startsWith(`${name} `))
      if (!line) throw new Error(`the worker reports no ${name}`)
      return Number(line.split(' ')[1])
    }
    return {
      cpu: value('veil_worker_process_cpu_seconds_total'),
      answers: value('veil_answer_batch_size_sum'),
      signatures: value('veil_answer_batch_size_count'),
    }
  }

  /** Keeps `concurrency` requests in flight for `seconds` or until `count` prepared requests are used. */
  const window = async (seconds: number, count: number) => {
    const batch = Array.from({ length: count }, prepare)
    const before = await serverReadings()
    const clientBefore = process.cpuUsage()
    let next = 0
    let completed = 0
    let verified = 0
    const deferred: (() => void)[] = []
    const started = performance.now()
    const until = started + seconds * 1000
    await Promise.all(
      Array.from({ length: config.concurrency }, async () => {
        while (performance.now() < until && next < batch.length) {
          const index = next++
          const prepared = batch[index] as Prepared
          const answer = await post(prepared.body)
          if (index % config.verifyEvery === 0) {
            prepared.check(answer)
            verified++
            if (prepared.later) deferred.push(() => prepared.later?.(answer))
          }
          completed++
        }
      }),
    )
    const elapsed = (performance.now() - started) / 1000
    const client = process.cpuUsage(clientBefore)
    const after = await serverReadings()
    const server = after.cpu - before.cpu
    const signatures = after.signatures - before.signatures
    for (const check of deferred) check()
    return {
      opsPerSecond: completed / elapsed,
      completed,
      verified,
      exhausted: next >= batch.length,
      serverCpuUs: (server * 1e6) / completed,
      answersPerSignature: signatures > 0 ? (after.answers - before.answers) / signatures : 0,
      clientCpuUs: (client.user + client.system) / completed,
    }
  }

  // A one-second calibration window (also warming the concurrent path) sizes the batch of the timed one,
  // so the client prepares about 3× what the target can take rather than a fixed, much larger batch.
  const calibration = await window(1, config.maxOpsPerSecond)
  const rate = Math.min(config.maxOpsPerSecond, 3 * calibration.opsPerSecond + config.concurrency)
  const timed = await window(config.seconds, Math.ceil(rate * config.seconds))
  agent.destroy()
  const round = (x: number) => Math.round(x * 1000) / 1000
  return {
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    ops_per_s: Math.round(timed.opsPerSecond),
    completed: timed.completed,
    verified: timed.verified,
    exhausted: timed.exhausted,
    server_cpu_us: Math.round(timed.serverCpuUs),
    answers_per_signature: round(timed.answersPerSignature),
    client_cpu_us: Math.round(timed.clientCpuUs),
  }
}

/** Returns a function that prepares one request (and how to check its answer) for the target. */
function makePreparer(config: ClientConfig): () => Prepared {
  if (config.target === 'echo') {
    return () => {
      const sent = { method: 'get', args: [], nonce: bytesToBase64url(randomNonce()), timestamp: Date.now() }
      return {
        body: Buffer.from(JSON.stringify(sent)),
        check: (answer) => {
          if ((answer as { nonce?: unknown }).nonce !== sent.nonce) throw new Error('echo answered wrong')
        },
      }
    }
  }
  const q = config.query
  if (!q) throw new Error('a query target needs its query config')
  const workerKey = hexToBytes(q.workerKey)
  const info = utf8.encode(q.info)
  const domain = { chainId: q.chainId, verifyingContract: q.registry }
  return () => {
    const context: NodeHpkeSenderContext = setupBaseS({
      recipientPublicKey: workerKey,
      info,
      aead: 'aes-128-gcm',
    })
    const plaintext = utf8.encode(
      encodeValue({ method: 'get', args: [], nonce: randomNonce(), timestamp: Date.now() }),
    )
    const ct = context.seal(plaintext)
    const body = Buffer.from(
      JSON.stringify({
        v: 1,
        contract: q.contract,
        aead: 'aes-128-gcm',
        enc: bytesToBase64url(context.enc),
        ct: bytesToBase64url(ct),
      }),
    )
    const requestDigest = () => hashQueryRequest(context.enc, ct)
    return {
      body,
      check: (answer) => {
        const a = answer as { ct: string }
        const plain = aeadOpen({
          aead: 'aes-128-gcm',
          key: context.export('veil/v1/response', 16),
          nonce: new Uint8Array(12),
          aad: requestDigest(),
          ciphertext: base64urlToBytes(a.ct),
        })
        const outcome = decodeValue(text.decode(plain)) as { ok?: unknown }
        if (outcome.ok !== true) throw new Error(`the query answered ${JSON.stringify(outcome)}`)
      },
      later: (answer) => {
        const a = answer as { ct: string; block: string; signature: Hex; proof?: Hex[] }
        const signer = recoverAnswerSigner(
          domain,
          {
            request: toHex(requestDigest()),
            response: toHex(keccak256(base64urlToBytes(a.ct))),
            contractId: BigInt(q.contract),
            block: BigInt(a.block),
          },
          a.signature,
          a.proof,
        )
        if (signer.toLowerCase() !== q.worker.toLowerCase())
          throw new Error(`the answer is signed by ${signer}, not by the worker ${q.worker}`)
      },
    }
  }
}

function randomNonce(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(16))
}

const result = await main(JSON.parse(process.argv[2] ?? '{}') as ClientConfig)
process.stdout.write(`${JSON.stringify(result)}\n`)
