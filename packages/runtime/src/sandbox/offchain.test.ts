/**
 * The off-chain surface in the real sandbox: `ctx.http.fetch` through the real egress client against a
 * local server, `ctx.secrets` (and their redaction), `ctx.jobs`, `ctx.evm` argument checks, and the
 * rules of which invocation kinds may use what.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Egress } from '../egress/index.js'
import { useEnginePair } from './engine-pair.js'
import { bundle, call, codeOf, recordingHost, resultOf } from './test-support.js'
import type { InvocationHost, JobsHost } from './types.js'

const CONTRACT = bundle(`{
  commands: {
    fetchInCommand(ctx, url) { return ctx.http.fetch(url) },
    secretInCommand(ctx) { return ctx.secrets.API_KEY },
    spreadCtx(ctx) { return Object.keys({ ...ctx }).length > 0 },
    enqueue(ctx, name, args) { return ctx.jobs.enqueue(name, args) },
    every(ctx, seconds) { return ctx.jobs.every(seconds, 'price', { pair: 'ETH/USD' }) },
    cancel(ctx, id) { return ctx.jobs.cancel(id) },
    evmInCommand(ctx) { return ctx.evm.call('devnet', { to: '0x' + '11'.repeat(20), data: '0x' }) },
  },
  queries: {
    async get(ctx, url, init) {
      const response = await ctx.http.fetch(url, init)
      return { status: response.status, ok: response.ok, type: response.headers.get('Content-Type'), body: await response.text(), url: response.url, redirected: response.redirected }
    },
    async json(ctx, url) { return (await ctx.http.fetch(url)).json() },
    async bytes(ctx, url) { return new Uint8Array(await (await ctx.http.fetch(url)).arrayBuffer()) },
    async refused(ctx, url) {
      try { await ctx.http.fetch(url); return 'fetched' } catch (error) { return { name: error.name, code: error.code, message: error.message } }
    },
    async parallel(ctx, url, n) {
      const all = await Promise.all(Array.from({ length: n }, (_, i) => ctx.http.fetch(url + '?i=' + i).then((r) => r.text())))
      return all.length
    },
    secret(ctx) { ctx.log('using key ' + ctx.secrets.API_KEY); return ctx.secrets.API_KEY.length },
    leak(ctx) { throw new Error('the key is ' + ctx.secrets.API_KEY) },
    enqueueInQuery(ctx) { return ctx.jobs.enqueue('price', null) },
    async evm(ctx, rpc) { try { return await ctx.evm.call(rpc, { to: '0x' + '11'.repeat(20), data: '0x1234' }) } catch (error) { return { code: error.code, message: error.message } } },
    async send(ctx) { return ctx.evm.sendTransaction('devnet', { to: '0x' + '11'.repeat(20) }) },
  },
  jobs: {
    price: {
      async run(ctx, args) { const r = await ctx.http.fetch(args.url); return { pair: args.pair, price: (await r.json()).price } },
      apply(ctx, outcome) { if (outcome.ok) ctx.storage.set('price', outcome.value.price); return outcome.ok },
    },
  },
}`)

const SECRET = 'sk-test-0123456789'

describe('off-chain interop in the sandbox', () => {
  const pair = useEnginePair(CONTRACT)
  let server: Server
  let base: string
  let egress: Egress
  let connections = 0

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/json')) {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ price: 3120.5 }))
      } else if (req.url === '/redirect') {
        res.writeHead(302, { location: '/hello' })
        res.end()
      } else if (req.url === '/bytes') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' })
        res.end(Buffer.from([0, 1, 2, 255]))
      } else {
        res.writeHead(201, { 'content-type': 'text/plain' })
        res.end(`hello ${req.method}`)
      }
    })
    server.on('connection', () => connections++)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    base = `http://127.0.0.1:${port}`
    egress = new Egress({ allow: [`127.0.0.1:${port}`] })
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  function offChainHost(): InvocationHost & { logs: { level: string; message: string }[] } {
    const host = recordingHost()
    const session = egress.session()
    return Object.assign(host, {
      secrets: () => ({ API_KEY: SECRET }),
      fetch: async (request: Parameters<NonNullable<InvocationHost['fetch']>>[0]) => session.fetch(request),
    })
  }

  it('fetches in a query: status, headers, text, redirects, JSON, bytes', async () => {
    const { engine } = pair
    expect(resultOf(await call(engine, 'query', 'get', [`${base}/hello`], { host: offChainHost() }))).toEqual(
      {
        status: 201,
        ok: true,
        type: 'text/plain',
        body: 'hello GET',
        url: `${base}/hello`,
        redirected: false,
      },
    )
    const posted = resultOf(
      await call(engine, 'query', 'get', [`${base}/hello`, { method: 'post', body: 'x' }], {
        host: offChainHost(),
      }),
    )
    expect(posted).toMatchObject({ body: 'hello POST' })
    expect(
      resultOf(await call(engine, 'query', 'get', [`${base}/redirect`], { host: offChainHost() })),
    ).toMatchObject({
      body: 'hello GET',
      redirected: true,
      url: `${base}/hello`,
    })
    expect(resultOf(await call(engine, 'query', 'json', [`${base}/json`], { host: offChainHost() }))).toEqual(
      { price: 3120.5 },
    )
    expect(
      resultOf(await call(engine, 'query', 'bytes', [`${base}/bytes`], { host: offChainHost() })),
    ).toEqual(Uint8Array.of(0, 1, 2, 255))
    expect(
      resultOf(await call(engine, 'query', 'parallel', [`${base}/hello`, 12], { host: offChainHost() })),
    ).toBe(12)
  })

  it('gives the contract a catchable FetchError with a code for refused addresses', async () => {
    const before = connections
    const refused = resultOf(
      await call(pair.engine, 'query', 'refused', ['http://169.254.169.254/latest/meta-data'], {
        host: offChainHost(),
      }),
    ) as { name: string; code: string; message: string }
    expect(refused.name).toBe('FetchError')
    expect(refused.code).toBe('EGRESS_REFUSED')
    expect(refused.message).toMatch(/169\.254\.169\.254/)
    const bad = resultOf(
      await call(pair.engine, 'query', 'refused', ['ftp://example.com/'], { host: offChainHost() }),
    ) as {
      code: string
    }
    expect(bad.code).toBe('BAD_URL')
    expect(connections).toBe(before)
  })

  it('refuses HTTP, secrets and RPC in commands with NOT_ALLOWED, and jobs in queries', async () => {
    const host = offChainHost()
    const fetched = await call(pair.engine, 'command', 'fetchInCommand', [`${base}/hello`], { host })
    expect(codeOf(fetched)).toBe('NOT_ALLOWED')
    if (!fetched.ok) expect(fetched.error.details).toMatch(/ctx\.http\.fetch is not allowed in a command/)
    expect(codeOf(await call(pair.engine, 'command', 'secretInCommand', [], { host }))).toBe('NOT_ALLOWED')
    expect(codeOf(await call(pair.engine, 'command', 'evmInCommand', [], { host }))).toBe('NOT_ALLOWED')
    expect(codeOf(await call(pair.engine, 'query', 'enqueueInQuery', [], { host }))).toBe('NOT_ALLOWED')
    expect(codeOf(await call(pair.engine, 'query', 'send', [], { host }))).toBe('NOT_ALLOWED')
    // Spreading ctx in a command does not touch the secrets.
    expect(resultOf(await call(pair.engine, 'command', 'spreadCtx', [], { host }))).toBe(true)
  })

  it('reads secrets in queries and keeps them out of logs and errors', async () => {
    const host = offChainHost()
    expect(resultOf(await call(pair.engine, 'query', 'secret', [], { host }))).toBe(SECRET.length)
    expect(host.logs).toEqual([{ level: 'info', message: 'using key [secret API_KEY]' }])
    const leaked = await call(pair.engine, 'query', 'leak', [], { host })
    expect(leaked.ok).toBe(false)
    expect(JSON.stringify(leaked)).not.toContain(SECRET)
    if (!leaked.ok) expect(leaked.error.message).toContain('[secret API_KEY]')
  })

  it('records ctx.jobs through the host in commands, with the host refusals visible', async () => {
    const calls: string[] = []
    const jobs: JobsHost = {
      enqueue: (name, argsText) => {
        calls.push(`enqueue ${name} ${argsText}`)
        return 'j1'
      },
      every: (seconds, name) => {
        if (seconds < 5) throw new (class extends Error {})('unreachable')
        calls.push(`every ${seconds} ${name}`)
        return 't2'
      },
      cancel: (id) => id === 't2',
    }
    const host = Object.assign(recordingHost(), { jobs })
    expect(
      resultOf(await call(pair.engine, 'command', 'enqueue', ['price', { pair: 'BTC' }], { host })),
    ).toBe('j1')
    expect(resultOf(await call(pair.engine, 'command', 'every', [60], { host }))).toBe('t2')
    expect(resultOf(await call(pair.engine, 'command', 'cancel', ['t2'], { host }))).toBe(true)
    expect(resultOf(await call(pair.engine, 'command', 'cancel', ['t9'], { host }))).toBe(false)
    expect(calls).toEqual(['enqueue price {"pair":"BTC"}', 'every 60 price'])
    expect(codeOf(await call(pair.engine, 'command', 'enqueue', [42, null], { host }))).toBe('CONTRACT_ERROR')
  })

  it('runs a job (one worker, HTTP allowed) and applies its outcome (writable, deterministic)', async () => {
    expect(pair.engine.methods.jobs).toEqual(['price'])
    const ran = await call(pair.engine, 'job', 'price', [{ url: `${base}/json`, pair: 'ETH/USD' }], {
      host: offChainHost(),
    })
    expect(resultOf(ran)).toEqual({ pair: 'ETH/USD', price: 3120.5 })
    const host = recordingHost()
    const applied = await call(pair.engine, 'apply', 'price', [{ ok: true, value: { price: 3120.5 } }], {
      host,
    })
    expect(resultOf(applied)).toBe(true)
    expect(host.store.get('price')).toBe('3120.5')
    const twin = recordingHost()
    const again = await call(pair.twin, 'apply', 'price', [{ ok: true, value: { price: 3120.5 } }], {
      host: twin,
    })
    expect(again.fuel).toBe(applied.fuel)
    expect(codeOf(await call(pair.engine, 'job', 'nope', [null], { host: offChainHost() }))).toBe(
      'UNKNOWN_METHOD',
    )
  })

  it('reports ctx.evm without endpoints as UNAVAILABLE', async () => {
    const result = resultOf(
      await call(pair.engine, 'query', 'evm', ['devnet'], { host: offChainHost() }),
    ) as {
      code: string
    }
    expect(result.code).toBe('UNAVAILABLE')
  })
})
