import { spawnSync } from 'node:child_process'
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { type AddressInfo, isIP, type LookupFunction, Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  Egress,
  EgressError,
  type EgressErrorCode,
  type EgressSession,
  InvalidEgressLimitsError,
} from './egress.js'

// Every socket in this file is on 127.0.0.1. Requests to any other address must be refused before
// they connect; the connection counters on the local servers prove it.

// Safety net: should a regression let a request past the policy, the connect fails here instead of
// sending packets anywhere but 127.0.0.1 (or a DNS query to the system resolver).
const GUARD = 'test guard: only 127.0.0.1 may be contacted'
const originalConnect = Socket.prototype.connect
function guardedConnect(this: Socket, ...args: unknown[]): Socket {
  const first: unknown = Array.isArray(args[0]) ? args[0][0] : args[0]
  if (typeof first === 'object' && first !== null && !('path' in first && first.path)) {
    const options = first as { host?: string; lookup?: LookupFunction }
    const host = options.host ?? 'localhost'
    const lookup = options.lookup
    if (isIP(host) !== 0) {
      if (host !== '127.0.0.1') throw new Error(`${GUARD}, not ${host}`)
    } else if (lookup === undefined) {
      throw new Error(`${GUARD}: ${host} would go to the system resolver`)
    } else {
      options.lookup = (hostname, lookupOptions, callback) =>
        lookup(hostname, lookupOptions, (error, address, family) => {
          const addresses = typeof address === 'string' ? [address] : address.map((entry) => entry.address)
          const stray = addresses.find((entry) => entry !== '127.0.0.1')
          if (error === null && stray !== undefined) callback(new Error(`${GUARD}, not ${stray}`), '')
          else callback(error, address, family)
        })
    }
  }
  return Reflect.apply(originalConnect, this, args) as Socket
}
beforeAll(() => {
  Socket.prototype.connect = guardedConnect as typeof originalConnect
})
afterAll(() => {
  Socket.prototype.connect = originalConnect
})

it('the test guard stops connections to anything but 127.0.0.1', () => {
  // 127.0.0.2 stands in for a forbidden address: were the guard broken, this would stay on loopback.
  expect(() => httpRequest({ host: '127.0.0.2', port: 9, agent: false })).toThrow(GUARD)
})

interface TestServer {
  port: number
  origin: string
  /** TCP connections accepted so far. */
  readonly connections: number
  /** Requests received so far. */
  readonly requests: number
  close(): Promise<void>
}

type Handler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function startServer(handler: Handler): Promise<TestServer> {
  let connections = 0
  let requests = 0
  const server = createServer((request, response) => {
    requests++
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => handler(request, response, Buffer.concat(chunks)))
  })
  server.on('connection', () => {
    connections++
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  cleanups.push(close)
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    get connections() {
      return connections
    },
    get requests() {
      return requests
    },
    close,
  }
}

/** Answers with what it received, as JSON. */
const echo: Handler = (request, response, body) => {
  response.setHeader('content-type', 'application/json')
  response.setHeader('x-echo', 'yes')
  response.end(
    JSON.stringify({
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: body.toString('utf8'),
    }),
  )
}

function openSession(egress: Egress, signal?: AbortSignal): EgressSession {
  const session = egress.session(signal)
  cleanups.push(() => session.close())
  return session
}

async function failure(promise: Promise<unknown>): Promise<EgressError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(EgressError)
    return error as EgressError
  }
  throw new Error('expected the request to fail')
}

async function expectCode(promise: Promise<unknown>, code: EgressErrorCode): Promise<EgressError> {
  const error = await failure(promise)
  expect(error.code, error.message).toBe(code)
  return error
}

const text = (body: Uint8Array) => new TextDecoder().decode(body)
const json = (body: Uint8Array): unknown => JSON.parse(text(body))
const header = (headers: Array<[string, string]>, name: string) => headers.find(([key]) => key === name)?.[1]

describe('Egress to an allowlisted local server', () => {
  it('round-trips a GET: method, headers, status and response headers', async () => {
    const server = await startServer(echo)
    const session = openSession(new Egress({ allow: [`127.0.0.1:${server.port}`] }))

    const response = await session.fetch({
      url: `${server.origin}/items?id=7#frag`,
      headers: { 'X-Trace': 'abc' },
    })

    expect(response.status).toBe(200)
    expect(response.statusText).toBe('OK')
    expect(response.redirected).toBe(false)
    expect(response.url).toBe(`${server.origin}/items?id=7`)
    expect(response.body).toBeInstanceOf(Uint8Array)
    expect(header(response.headers, 'x-echo')).toBe('yes')
    expect(header(response.headers, 'content-type')).toBe('application/json')
    const seen = json(response.body) as { method: string; url: string; headers: Record<string, string> }
    expect(seen.method).toBe('GET')
    expect(seen.url).toBe('/items?id=7')
    expect(seen.headers['x-trace']).toBe('abc')
    expect(seen.headers['user-agent']).toBe('veil-worker')
    expect(seen.headers.host).toBe(`127.0.0.1:${server.port}`)
    expect(session.count).toBe(1)
  })

  it('round-trips a POST with a JSON body and keeps a given user-agent', async () => {
    const server = await startServer((request, response, body) => {
      const input = JSON.parse(body.toString('utf8')) as { n: number }
      response.writeHead(201, 'Made', { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] })
      response.end(
        JSON.stringify({
          doubled: input.n * 2,
          method: request.method,
          type: request.headers['content-type'],
          agent: request.headers['user-agent'],
          length: request.headers['content-length'],
        }),
      )
    })
    const session = openSession(new Egress({ allow: [`127.0.0.1:${server.port}`] }))

    const response = await session.fetch({
      url: `${server.origin}/double`,
      method: 'post',
      headers: { 'content-type': 'application/json', 'user-agent': 'my-contract/1.0' },
      body: new TextEncoder().encode(JSON.stringify({ n: 21 })),
    })

    expect(response.status).toBe(201)
    expect(response.statusText).toBe('Made')
    expect(json(response.body)).toEqual({
      doubled: 42,
      method: 'POST',
      type: 'application/json',
      agent: 'my-contract/1.0',
      length: '8',
    })
    expect(response.headers.filter(([name]) => name === 'set-cookie')).toEqual([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ])
  })

  it('reaches an allowlisted name through the injected resolver, pinned to one resolution per hop', async () => {
    const server = await startServer((request, response) => {
      if (request.url === '/start') response.writeHead(302, { location: '/next' }).end()
      else echo(request, response, Buffer.alloc(0))
    })
    // A second resolution of the name would answer 127.0.0.2, where nothing listens: the fetch only
    // succeeds if the connection used the address the hop resolved (and checked) once.
    let calls = 0
    const resolve = async (hostname: string) => {
      expect(hostname).toBe('pinned.test')
      calls++
      return calls % 2 === 1 ? ['127.0.0.1'] : ['127.0.0.2']
    }
    const session = openSession(new Egress({ allow: [`pinned.test:${server.port}`], resolve }))

    const direct = await session.fetch({ url: `http://pinned.test:${server.port}/direct` })
    expect(calls).toBe(1)
    expect((json(direct.body) as { headers: Record<string, string> }).headers.host).toBe(
      `pinned.test:${server.port}`,
    )

    calls = 0
    let redirectedCalls = 0
    const counting = new Egress({
      allow: [`pinned.test:${server.port}`],
      resolve: async () => {
        redirectedCalls++
        return ['127.0.0.1']
      },
    })
    const redirected = await openSession(counting).fetch({ url: `http://pinned.test:${server.port}/start` })
    expect(redirected.redirected).toBe(true)
    expect(redirected.url).toBe(`http://pinned.test:${server.port}/next`)
    expect(redirectedCalls).toBe(2) // one resolution per hop, each checked and pinned
    expect(server.connections).toBe(3)
  })

  it('follows redirects the way Fetch does', async () => {
    const other = await startServer(echo)
    const server = await startServer((request, response, body) => {
      const routes: Record<string, [number, string]> = {
        '/see-other': [303, '/echo'],
        '/temporary': [307, '/echo'],
        '/found': [302, '/echo'],
        '/away': [302, `${other.origin}/echo`],
      }
      const route = routes[request.url ?? '']
      if (route) response.writeHead(route[0], { location: route[1] }).end()
      else echo(request, response, body)
    })
    const session = openSession(
      new Egress({ allow: [`127.0.0.1:${server.port}`, `127.0.0.1:${other.port}`] }),
    )
    const post = (path: string) =>
      session.fetch({
        url: `${server.origin}${path}`,
        method: 'POST',
        headers: { 'content-type': 'text/plain', authorization: 'Bearer secret', cookie: 'c=1' },
        body: new TextEncoder().encode('payload'),
      })
    type Seen = { method: string; body: string; headers: Record<string, string | undefined> }

    const seeOther = await post('/see-other')
    const seenSeeOther = json(seeOther.body) as Seen
    expect(seeOther.redirected).toBe(true)
    expect(seeOther.url).toBe(`${server.origin}/echo`)
    expect(seenSeeOther.method).toBe('GET')
    expect(seenSeeOther.body).toBe('')
    expect(seenSeeOther.headers['content-type']).toBeUndefined()
    expect(seenSeeOther.headers.authorization).toBe('Bearer secret') // same origin: kept

    const temporary = json((await post('/temporary')).body) as Seen
    expect(temporary.method).toBe('POST')
    expect(temporary.body).toBe('payload')

    const found = json((await post('/found')).body) as Seen
    expect(found.method).toBe('GET')

    const away = await post('/away')
    const seenAway = json(away.body) as Seen
    expect(away.url).toBe(`${other.origin}/echo`)
    expect(seenAway.headers.authorization).toBeUndefined()
    expect(seenAway.headers.cookie).toBeUndefined()
  })
})

describe('Egress refusals (before any connection)', () => {
  it.each([
    ['http://127.0.0.1:PORT/', 'loopback'],
    ['http://localhost:PORT/', 'loopback'],
    ['http://[::1]:PORT/', 'loopback'],
    ['http://[::ffff:127.0.0.1]:PORT/', 'loopback'],
    ['http://0.0.0.0:PORT/', 'unspecified'],
    ['http://2130706433:PORT/', 'loopback'],
    ['http://10.0.0.1/', 'private'],
    ['http://169.254.169.254/latest/meta-data', 'cloud metadata'],
    ['http://[fd00:ec2::254]/latest/meta-data', 'cloud metadata'],
    ['http://[64:ff9b::7f00:1]:PORT/', 'loopback'],
  ])('refuses %s (%s) by default', async (template, reason) => {
    const server = await startServer(echo)
    const session = openSession(new Egress())
    const url = template.replace('PORT', String(server.port))

    const error = await expectCode(session.fetch({ url }), 'EGRESS_REFUSED')

    expect(error.message).toContain(reason)
    expect(error.message).toContain('--egress-allow')
    expect(server.connections).toBe(0)
  })

  it('names the address and the reason', async () => {
    const error = await expectCode(
      openSession(new Egress()).fetch({ url: 'http://10.0.0.1/' }),
      'EGRESS_REFUSED',
    )
    expect(error.shortMessage).toBe(
      'http://10.0.0.1/ resolves to 10.0.0.1, a private address; contracts may only reach public addresses ' +
        '(an operator can allow a host with --egress-allow host[:port])',
    )
  })

  it('refuses a name resolving to a private address, or to a public and a private one', async () => {
    const server = await startServer(echo)
    const calls: string[] = []
    const resolve = async (hostname: string) => {
      calls.push(hostname)
      if (hostname === 'rebind.test') return ['127.0.0.1']
      if (hostname === 'mixed.test') return ['93.184.216.34', '10.0.0.5']
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
    }
    const session = openSession(new Egress({ resolve }))

    const rebind = await expectCode(
      session.fetch({ url: `http://rebind.test:${server.port}/` }),
      'EGRESS_REFUSED',
    )
    expect(rebind.message).toContain('resolves to 127.0.0.1, a loopback address')
    const mixed = await expectCode(
      session.fetch({ url: `http://mixed.test:${server.port}/` }),
      'EGRESS_REFUSED',
    )
    expect(mixed.message).toContain('resolves to 93.184.216.34, 10.0.0.5; 10.0.0.5 is a private address')
    await expectCode(session.fetch({ url: 'http://missing.test/' }), 'DNS_FAILED')

    expect(calls).toEqual(['rebind.test', 'mixed.test', 'missing.test'])
    expect(server.connections).toBe(0)
  })

  it('refuses a port of an allowlisted host that is not allowlisted', async () => {
    const server = await startServer(echo)
    const session = openSession(new Egress({ allow: [`127.0.0.1:${server.port + 1}`] }))
    await expectCode(session.fetch({ url: `${server.origin}/` }), 'EGRESS_REFUSED')
    expect(server.connections).toBe(0)
  })

  it.each([
    ['http://10.0.0.1/', 'private'],
    ['http://127.0.0.2:PORT/', 'loopback'],
    ['http://[::1]:PORT/', 'loopback'],
  ])('re-checks a redirect from an allowlisted host to %s', async (template, reason) => {
    const server = await startServer((_request, response) => {
      response.writeHead(302, { location: template.replace('PORT', String(server.port)) }).end()
    })
    const session = openSession(new Egress({ allow: [`127.0.0.1:${server.port}`] }))

    const error = await expectCode(session.fetch({ url: `${server.origin}/go` }), 'EGRESS_REFUSED')

    expect(error.message).toContain(reason)
    expect(server.connections).toBe(1) // only the allowlisted first hop
    expect(server.requests).toBe(1)
  })

  it('refuses a redirect to a non-http scheme', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(301, { location: 'file:///etc/passwd' }).end()
    })
    const session = openSession(new Egress({ allow: [`127.0.0.1:${server.port}`] }))
    const error = await expectCode(session.fetch({ url: `${server.origin}/` }), 'BAD_URL')
    expect(error.message).toContain('redirected to file:///etc/passwd: only http: and https:')
  })
})

describe('Egress limits', () => {
  it('refuses a declared content-length over maxResponseBytes before reading', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-length': '2048' })
      response.end(Buffer.alloc(2048, 1))
    })
    const session = openSession(
      new Egress({ allow: [`127.0.0.1:${server.port}`], limits: { maxResponseBytes: 1024 } }),
    )
    const error = await expectCode(session.fetch({ url: `${server.origin}/` }), 'RESPONSE_TOO_LARGE')
    expect(error.message).toContain('of 2048 bytes, over the limit of 1024 bytes')
  })

  it('cuts a chunked body growing past maxResponseBytes and closes the connection', async () => {
    let closed: Promise<void> = Promise.resolve()
    const server = await startServer((_request, response) => {
      closed = new Promise((resolve) => response.on('close', resolve))
      const timer = setInterval(() => response.write(Buffer.alloc(256, 2)), 5)
      response.on('close', () => clearInterval(timer))
    })
    const session = openSession(
      new Egress({ allow: [`127.0.0.1:${server.port}`], limits: { maxResponseBytes: 1024 } }),
    )
    const error = await expectCode(session.fetch({ url: `${server.origin}/` }), 'RESPONSE_TOO_LARGE')
    expect(error.message).toContain('of more than 1024 bytes')
    await closed // the server sees its socket go away
  })

  it('accepts a body of exactly maxResponseBytes', async () => {
    const server = await startServer((_request, response) => {
      response.write(Buffer.alloc(512, 3))
      response.end(Buffer.alloc(512, 4))
    })
    const session = openSession(
      new Egress({ allow: [`127.0.0.1:${server.port}`], limits: { maxResponseBytes: 1024 } }),
    )
    const response = await session.fetch({ url: `${server.origin}/` })
    expect(response.body.byteLength).toBe(1024)
    expect(response.body[1023]).toBe(4)
  })

  it('times out a trickling response', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' })
      const timer = setInterval(() => response.write('.'), 50)
      response.on('close', () => clearInterval(timer))
    })
    const session = openSession(
      new Egress({ allow: [`127.0.0.1:${server.port}`], limits: { timeoutMs: 300 } }),
    )
    const started = performance.now()
    const error = await expectCode(session.fetch({ url: `${server.origin}/slow` }), 'TIMEOUT')
    const elapsed = performance.now() - started
    expect(error.message).toContain('did not complete within 300 ms')
    expect(elapsed).toBeGreaterThanOrEqual(250)
    expect(elapsed).toBeLessThan(1_500)
  })

  it('times out a server that never answers', async () => {
    const server = await startServer(() => {})
    const session = openSession(
      new Egress({ allow: [`127.0.0.1:${server.port}`], limits: { timeoutMs: 200 } }),
    )
    await expectCode(session.fetch({ url: `${server.origin}/` }), 'TIMEOUT')
  })

  it('stops after maxRedirects', async () => {
    const server = await startServer((request, response) => {
      const n = Number(request.url?.slice(1) ?? 0)
      response.writeHead(302, { location: `/${n + 1}` }).end()
    })
    const session = openSession(
      new Egress({ allow: [`127.0.0.1:${server.port}`], limits: { maxRedirects: 2 } }),
    )
    const error = await expectCode(session.fetch({ url: `${server.origin}/0` }), 'TOO_MANY_REDIRECTS')
    expect(error.message).toContain('redirected more than 2 times')
    expect(server.requests).toBe(3)
  })

  it('runs at most maxInFlight requests at once; the rest wait for a slot', async () => {
    const held: ServerResponse[] = []
    let active = 0
    let peak = 0
    const server = await startServer((_request, response) => {
      active++
      peak = Math.max(peak, active)
      response.on('finish', () => active--)
      held.push(response)
    })
    const session = openSession(new Egress({ allow: [`127.0.0.1:${server.port}`] }))

    const requests = Array.from({ length: 9 }, (_, i) => session.fetch({ url: `${server.origin}/${i}` }))
    await waitFor(() => held.length === 8)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(held.length).toBe(8) // the ninth is waiting, not sent
    expect(server.connections).toBe(8)

    held.shift()?.end('done')
    await waitFor(() => held.length === 8) // its slot went to the ninth
    for (const response of held.splice(0)) response.end('done')

    const responses = await Promise.all(requests)
    expect(responses.map((response) => text(response.body))).toEqual(Array(9).fill('done'))
    expect(peak).toBe(8)
    expect(session.count).toBe(9)
  })

  it('does not hold a HEAD response to its content-length', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-length': '1000000' }).end()
    })
    const session = openSession(
      new Egress({ allow: [`127.0.0.1:${server.port}`], limits: { maxResponseBytes: 1024 } }),
    )
    const response = await session.fetch({ url: `${server.origin}/`, method: 'HEAD' })
    expect(response.status).toBe(200)
    expect(response.body.byteLength).toBe(0)
    expect(header(response.headers, 'content-length')).toBe('1000000')
  })

  it('queues a whole budget of concurrent requests without leaking listeners', async () => {
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    cleanups.push(() => process.off('warning', onWarning))
    let active = 0
    let peak = 0
    const server = await startServer((_request, response) => {
      active++
      peak = Math.max(peak, active)
      setTimeout(() => {
        active--
        response.end('ok')
      }, 5)
    })
    const session = openSession(new Egress({ allow: [`127.0.0.1:${server.port}`] }))

    const responses = await Promise.all(
      Array.from({ length: 64 }, (_, i) => session.fetch({ url: `${server.origin}/${i}` })),
    )

    expect(responses.every((response) => text(response.body) === 'ok')).toBe(true)
    expect(peak).toBeLessThanOrEqual(8)
    await expectCode(session.fetch({ url: `${server.origin}/65` }), 'TOO_MANY_REQUESTS')
    await new Promise((resolve) => setImmediate(resolve))
    expect(warnings).toEqual([])
  })

  it('refuses the request after maxPerInvocation', async () => {
    const server = await startServer(echo)
    const egress = new Egress({ allow: [`127.0.0.1:${server.port}`], limits: { maxPerInvocation: 2 } })
    const session = openSession(egress)
    await session.fetch({ url: `${server.origin}/1` })
    await session.fetch({ url: `${server.origin}/2` })
    const error = await expectCode(session.fetch({ url: `${server.origin}/3` }), 'TOO_MANY_REQUESTS')
    expect(error.message).toContain('2 outbound requests')
    expect(session.count).toBe(2)
    expect(server.requests).toBe(2)
    // The budget is per session: a new invocation starts afresh.
    await openSession(egress).fetch({ url: `${server.origin}/4` })
  })

  it('refuses a request body over maxRequestBytes', async () => {
    const server = await startServer(echo)
    const session = openSession(
      new Egress({ allow: [`127.0.0.1:${server.port}`], limits: { maxRequestBytes: 16 } }),
    )
    const error = await expectCode(
      session.fetch({ url: `${server.origin}/`, method: 'PUT', body: new Uint8Array(17) }),
      'BAD_REQUEST',
    )
    expect(error.message).toContain('17 bytes, over the limit of 16')
    await session.fetch({ url: `${server.origin}/`, method: 'PUT', body: new Uint8Array(16) })
    expect(server.requests).toBe(1)
  })

  it('validates its limits', () => {
    expect(() => new Egress({ limits: { timeoutMs: 0 } })).toThrow(InvalidEgressLimitsError)
    expect(() => new Egress({ limits: { maxInFlight: 1.5 } })).toThrow(/maxInFlight/)
    expect(() => new Egress({ allow: ['http://example.com'] })).toThrow(/scheme/)
  })
})

describe('Egress cancellation', () => {
  it('close() cancels in-flight and waiting requests and destroys their sockets', async () => {
    const closedSockets: Promise<void>[] = []
    const server = await startServer((request) => {
      closedSockets.push(new Promise((resolve) => request.socket.on('close', () => resolve())))
    })
    const egress = new Egress({ allow: [`127.0.0.1:${server.port}`], limits: { maxInFlight: 1 } })
    const session = egress.session()

    const inFlight = session.fetch({ url: `${server.origin}/a` })
    const waiting = session.fetch({ url: `${server.origin}/b` })
    await waitFor(() => closedSockets.length === 1)
    session.close()

    await expectCode(inFlight, 'CANCELLED')
    await expectCode(waiting, 'CANCELLED')
    await Promise.all(closedSockets)
    expect(server.requests).toBe(1)
    await expectCode(session.fetch({ url: `${server.origin}/c` }), 'CANCELLED')
  })

  it('an aborted invocation signal cancels the session', async () => {
    const server = await startServer(() => {})
    const controller = new AbortController()
    const session = openSession(new Egress({ allow: [`127.0.0.1:${server.port}`] }), controller.signal)
    const pending = session.fetch({ url: `${server.origin}/` })
    await waitFor(() => server.requests === 1)
    controller.abort()
    await expectCode(pending, 'CANCELLED')

    const aborted = openSession(new Egress(), AbortSignal.abort())
    await expectCode(aborted.fetch({ url: `${server.origin}/` }), 'CANCELLED')
  })
})

describe('Egress request validation', () => {
  const session = () => openSession(new Egress())

  it.each([
    ['ftp://example.com/file', 'only http: and https:'],
    ['file:///etc/passwd', 'only http: and https:'],
    ['not a url', 'not a valid absolute URL'],
    ['/relative/path', 'not a valid absolute URL'],
    ['http://', 'not a valid absolute URL'],
    ['http://user:hunter2@127.0.0.1/', 'credentials'],
    ['https://token@example.com/', 'credentials'],
  ])('refuses the URL %j', async (url, message) => {
    const error = await expectCode(session().fetch({ url }), 'BAD_URL')
    expect(error.message).toContain(message)
    expect(error.message).not.toContain('hunter2')
  })

  it('refuses a URL that is not a string', async () => {
    await expectCode(session().fetch({ url: 42 as unknown as string }), 'BAD_URL')
  })

  it.each([
    [{ method: 'TRACE' }, 'Unsupported method'],
    [{ method: 'CONNECT' }, 'Unsupported method'],
    [{ method: 'GET\r\nX: y' }, 'Unsupported method'],
    [{ headers: { host: 'evil.example' } }, 'may not be set'],
    [{ headers: { Connection: 'keep-alive' } }, 'may not be set'],
    [{ headers: { 'Content-Length': '5' } }, 'may not be set'],
    [{ headers: { 'transfer-encoding': 'chunked' } }, 'may not be set'],
    [{ headers: { upgrade: 'websocket' } }, 'may not be set'],
    [{ headers: { 'Proxy-Authorization': 'x' } }, 'may not be set'],
    [{ headers: { 'bad name': 'x' } }, 'Invalid header name'],
    [{ headers: { 'x-a:b': 'x' } }, 'Invalid header name'],
    [{ headers: { '': 'x' } }, 'Invalid header name'],
    [{ headers: { 'x-inject': 'a\r\nhost: evil' } }, 'Invalid value'],
    [{ headers: { 'x-newline': 'a\nb' } }, 'Invalid value'],
    [{ headers: { 'x-nul': 'a\u0000b' } }, 'Invalid value'],
    [{ headers: { 'x-number': 5 as unknown as string } }, 'Invalid value'],
    [{ headers: { 'X-Twice': 'a', 'x-twice': 'b' } }, 'given twice'],
    [{ body: new Uint8Array(1) }, 'GET request cannot have a body'],
    [{ method: 'POST', body: 'text' as unknown as Uint8Array }, 'body must be a Uint8Array'],
  ])('refuses %j', async (fields, message) => {
    const server = await startServer(echo)
    const error = await expectCode(
      openSession(new Egress({ allow: [`127.0.0.1:${server.port}`] })).fetch({
        url: `${server.origin}/`,
        ...fields,
      }),
      'BAD_REQUEST',
    )
    expect(error.message).toContain(message)
    expect(server.connections).toBe(0)
  })
})

describe('Egress connection failures', () => {
  it('maps a refused connection to CONNECTION_FAILED', async () => {
    const server = await startServer(echo)
    const { port } = server
    await server.close()
    const session = openSession(new Egress({ allow: [`127.0.0.1:${port}`] }))
    const error = await expectCode(session.fetch({ url: `http://127.0.0.1:${port}/` }), 'CONNECTION_FAILED')
    expect(error.message).toContain('refused')
  })

  it('maps a failed TLS handshake to TLS_FAILED', async () => {
    const server = await startServer(echo) // plain HTTP: the TLS handshake cannot succeed
    const session = openSession(new Egress({ allow: [`127.0.0.1:${server.port}`] }))
    const error = await expectCode(session.fetch({ url: `https://127.0.0.1:${server.port}/` }), 'TLS_FAILED')
    expect(error.shortMessage).toMatch(/^TLS with https:\/\/127\.0\.0\.1:\d+\/ failed: /)
  })

  it.skipIf(selfSignedCertificate === undefined)(
    'always verifies TLS: a self-signed certificate fails even for an allowlisted host, with SNI set',
    async () => {
      const { key, cert } = selfSignedCertificate ?? { key: '', cert: '' }
      const serverNames: string[] = []
      let requests = 0
      const server = createHttpsServer(
        {
          key,
          cert,
          SNICallback: (name, callback) => {
            serverNames.push(name)
            callback(null, undefined)
          },
        },
        (_request, response) => {
          requests++
          response.end('secret')
        },
      )
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
      const { port } = server.address() as AddressInfo
      const egress = new Egress({
        allow: [`127.0.0.1:${port}`, `tls.test:${port}`],
        resolve: async () => ['127.0.0.1'],
      })
      const session = openSession(egress)

      await expectCode(session.fetch({ url: `https://127.0.0.1:${port}/` }), 'TLS_FAILED')
      const named = await expectCode(session.fetch({ url: `https://tls.test:${port}/` }), 'TLS_FAILED')
      expect(named.message).toContain('certificate')
      expect(serverNames).toEqual(['tls.test']) // SNI is the URL's host name (never an IP literal)
      expect(requests).toBe(0)
    },
  )

  it('maps a connection dropped mid-body to CONNECTION_FAILED', async () => {
    const server = await startServer((_request, response) => {
      response.writeHead(200, { 'content-length': '100' })
      response.write('partial')
      setTimeout(() => response.socket?.destroy(), 20)
    })
    const session = openSession(new Egress({ allow: [`127.0.0.1:${server.port}`] }))
    await expectCode(session.fetch({ url: `${server.origin}/` }), 'CONNECTION_FAILED')
  })
})

/** A throwaway self-signed certificate for 127.0.0.1, or undefined when openssl is not installed. */
const selfSignedCertificate = ((): { key: string; cert: string } | undefined => {
  const result = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
      .concat(['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'])
      .concat(['-keyout', '-', '-out', '-']),
    { encoding: 'utf8', timeout: 5_000 },
  )
  const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(result.stdout ?? '')?.[0]
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(result.stdout ?? '')?.[0]
  return key && cert ? { key, cert } : undefined
})()

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
