import { lookup as dnsLookup } from 'node:dns/promises'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest, type RequestOptions } from 'node:https'
import { isIP, type LookupFunction } from 'node:net'
import { VeilError } from '@veil/protocol'
import { refusedAddressReason } from './address-policy.js'
import { type AllowEntry, isAllowlisted, parseAllowlist } from './allowlist.js'

/** Bounds on a contract's outbound HTTP. Sizes in bytes, times in milliseconds. */
export interface EgressLimits {
  /**
   * The whole request — DNS, every redirect hop, reading the body — must finish within this, counted
   * from when it gets a slot (a wait for a slot is bounded by the running requests' own timeouts).
   */
  timeoutMs: number
  maxResponseBytes: number
  /** Requests of one session running at once; further ones wait (FIFO) for a slot. */
  maxInFlight: number
  /** Requests one session (one invocation) may make. */
  maxPerInvocation: number
  maxRequestBytes: number
  maxRedirects: number
}

export const DEFAULT_EGRESS_LIMITS: EgressLimits = {
  timeoutMs: 10_000,
  maxResponseBytes: 2 * 1024 * 1024,
  maxInFlight: 8,
  maxPerInvocation: 64,
  maxRequestBytes: 1024 * 1024,
  maxRedirects: 5,
}

/** What a contract asks for through `ctx.http.fetch`. */
export interface EgressRequest {
  url: string
  /** GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS. */
  method?: string
  headers?: Record<string, string>
  body?: Uint8Array
}

/** The final response, after redirects. Header names are lower-case, in the order received. */
export interface EgressResponse {
  status: number
  statusText: string
  headers: Array<[string, string]>
  body: Uint8Array
  /** The URL of the final hop. */
  url: string
  redirected: boolean
}

export type EgressErrorCode =
  | 'EGRESS_REFUSED'
  | 'BAD_URL'
  | 'BAD_REQUEST'
  | 'DNS_FAILED'
  | 'CONNECTION_FAILED'
  | 'TLS_FAILED'
  | 'TIMEOUT'
  | 'RESPONSE_TOO_LARGE'
  | 'TOO_MANY_REDIRECTS'
  | 'TOO_MANY_REQUESTS'
  | 'CANCELLED'

/** Why an outbound request failed; the only error `EgressSession.fetch` rejects with. */
export class EgressError extends VeilError {
  override name = 'EgressError'
  override readonly code: EgressErrorCode

  constructor(
    code: EgressErrorCode,
    shortMessage: string,
    options: { details?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(shortMessage, { ...options, code })
    this.code = code
  }
}

/** Egress limits outside their bounds (a configuration error, not a contract's). */
export class InvalidEgressLimitsError extends VeilError {
  override name = 'InvalidEgressLimitsError'
  constructor(details: string) {
    super('Invalid egress limits', {
      code: 'EGRESS_LIMITS_INVALID',
      details,
      hint: 'Pass non-negative integers (timeoutMs and maxInFlight at least 1).',
    })
  }
}

export interface EgressOptions {
  /** Operator allowlist, `host[:port]` entries; an allowlisted host skips the address check. */
  allow?: readonly string[]
  limits?: Partial<EgressLimits>
  /** Resolves a host name to IP addresses. Default: the system resolver (`dns.lookup`, all records). */
  resolve?: (hostname: string) => Promise<string[]>
}

/** One invocation's outbound HTTP budget. */
export interface EgressSession {
  fetch(request: EgressRequest): Promise<EgressResponse>
  /** Requests accepted so far (including ones that failed), at most `maxPerInvocation`. */
  readonly count: number
  /** Cancels waiting and in-flight requests (they reject with `CANCELLED`) and refuses new ones. */
  close(): void
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
/** Headers the client owns (framing, routing, connection management); a contract may not set them. */
const FORBIDDEN_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'upgrade',
  'keep-alive',
  'te',
  'trailer',
  'expect',
])
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** What Node accepts in a header value: tab, visible ASCII, space and obs-text; never CR, LF or NUL. */
const HEADER_VALUE = /^[\t\u0020-\u007e\u0080-\u00ff]*$/
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
/** Dropped with the body when a redirect turns the request into a GET (Fetch, "request-body-header name"). */
const BODY_HEADERS = ['content-type', 'content-encoding', 'content-language', 'content-location']
/** Dropped when a redirect leaves the origin, so credentials never follow a redirect to another site. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie']
const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_|^ERR_TLS_|^ERR_SSL_|^EPROTO$|HOSTNAME_MISMATCH/
const REFUSED_HINT =
  'contracts may only reach public addresses (an operator can allow a host with --egress-allow host[:port])'

/** One hop of a request: where it goes and what it sends. */
interface Hop {
  url: URL
  method: string
  headers: Map<string, string>
  body: Uint8Array | undefined
}

interface PinnedAddress {
  address: string
  family: 4 | 6
}

interface EgressConfig {
  allow: readonly AllowEntry[]
  limits: EgressLimits
  resolve: (hostname: string) => Promise<string[]>
}

/**
 * The outbound HTTP client behind `ctx.http.fetch`. Every hop is resolved once, every resolved address
 * is checked against the address policy (unless the operator allowlisted the host), and the connection
 * is pinned to the checked addresses, so DNS rebinding cannot slip a private address in between.
 *
 * @example
 * const egress = new Egress({ allow: ['127.0.0.1:8080'] })
 * const session = egress.session(invocationSignal)
 * const response = await session.fetch({ url: 'https://api.example.com/price' })
 * session.close()
 */
export class Egress {
  readonly #config: EgressConfig

  constructor(options: EgressOptions = {}) {
    this.#config = {
      allow: parseAllowlist(options.allow ?? []),
      limits: resolveEgressLimits(options.limits),
      resolve: options.resolve ?? systemResolve,
    }
  }

  /** One invocation's budget: at most maxPerInvocation requests, at most maxInFlight at once. */
  session(signal?: AbortSignal): EgressSession {
    return new Session(this.#config, signal)
  }
}

function resolveEgressLimits(overrides: Partial<EgressLimits> = {}): EgressLimits {
  const limits: EgressLimits = { ...DEFAULT_EGRESS_LIMITS }
  for (const name of Object.keys(DEFAULT_EGRESS_LIMITS) as Array<keyof EgressLimits>) {
    const value: unknown = overrides[name] ?? DEFAULT_EGRESS_LIMITS[name]
    const minimum = name === 'timeoutMs' || name === 'maxInFlight' ? 1 : 0
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
      throw new InvalidEgressLimitsError(`${name} is ${String(value)}; expected an integer >= ${minimum}.`)
    }
    limits[name] = value
  }
  return limits
}

async function systemResolve(hostname: string): Promise<string[]> {
  const records = await dnsLookup(hostname, { all: true, verbatim: true })
  return records.map((record) => record.address)
}

class Session implements EgressSession {
  readonly #config: EgressConfig
  /** Requests waiting for a slot, first come first served. */
  readonly #waiting: Array<{ grant: () => void; cancel: () => void }> = []
  /** Requests holding a slot, by their controller (aborted on timeout or close). */
  readonly #running = new Map<AbortController, string>()
  #active = 0
  #count = 0
  #closed = false
  #detach: (() => void) | undefined

  constructor(config: EgressConfig, signal?: AbortSignal) {
    this.#config = config
    if (signal?.aborted) this.close()
    else if (signal) {
      const onAbort = () => this.close()
      signal.addEventListener('abort', onAbort, { once: true })
      this.#detach = () => signal.removeEventListener('abort', onAbort)
    }
  }

  get count(): number {
    return this.#count
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#detach?.()
    for (const waiter of this.#waiting.splice(0)) waiter.cancel()
    for (const [controller, display] of this.#running) controller.abort(cancelled(display))
  }

  async fetch(request: EgressRequest): Promise<EgressResponse> {
    try {
      if (this.#closed) throw cancelled(describeInput(request?.url))
      const { maxPerInvocation } = this.#config.limits
      if (this.#count >= maxPerInvocation) {
        throw new EgressError(
          'TOO_MANY_REQUESTS',
          `This invocation already made its ${maxPerInvocation} outbound requests; no more are allowed`,
          { hint: 'Batch what you need into fewer requests.' },
        )
      }
      this.#count++
      const hop = prepareRequest(request, this.#config.limits)
      await this.#acquireSlot(describeUrl(hop.url))
      try {
        return await this.#run(hop)
      } finally {
        this.#releaseSlot()
      }
    } catch (error) {
      if (error instanceof EgressError) throw error
      // Defensive: nothing below should throw anything else, but fetch promises EgressError only.
      throw new EgressError('CONNECTION_FAILED', `The request failed: ${errorText(error)}`, { cause: error })
    }
  }

  /** Runs every hop under one deadline; close() aborts it too. */
  async #run(first: Hop): Promise<EgressResponse> {
    const { timeoutMs } = this.#config.limits
    const display = describeUrl(first.url)
    if (this.#closed) throw cancelled(display)
    const controller = new AbortController()
    const timer = setTimeout(() => {
      controller.abort(
        new EgressError('TIMEOUT', `${display} did not complete within ${timeoutMs} ms`, {
          hint: 'Use a faster endpoint or ask for less data.',
        }),
      )
    }, timeoutMs)
    this.#running.set(controller, display)
    try {
      return await followHops(first, this.#config, controller.signal)
    } finally {
      clearTimeout(timer)
      this.#running.delete(controller)
    }
  }

  #acquireSlot(display: string): Promise<void> {
    if (this.#active < this.#config.limits.maxInFlight) {
      this.#active++
      return Promise.resolve()
    }
    // The releasing request hands its slot over to the first waiter: #active stays the same.
    return new Promise((resolve, reject) => {
      this.#waiting.push({ grant: resolve, cancel: () => reject(cancelled(display)) })
    })
  }

  #releaseSlot(): void {
    const next = this.#waiting.shift()
    if (next) next.grant()
    else this.#active--
  }
}

/** Validates a contract's request before anything touches the network. */
function prepareRequest(request: EgressRequest, limits: EgressLimits): Hop {
  if (typeof request !== 'object' || request === null) {
    throw new EgressError('BAD_REQUEST', 'The request must be an object { url, method?, headers?, body? }')
  }
  const url = parseUrl(request.url)
  const given: unknown = request.method
  const method = given === undefined ? 'GET' : typeof given === 'string' ? given.toUpperCase() : ''
  if (!METHODS.has(method)) {
    throw new EgressError('BAD_REQUEST', `Unsupported method ${JSON.stringify(request.method)}`, {
      hint: `Use one of ${[...METHODS].join(', ')}.`,
    })
  }
  return prepareHeadersAndBody(request, limits, url, method)
}

function prepareHeadersAndBody(request: EgressRequest, limits: EgressLimits, url: URL, method: string): Hop {
  const headers = new Map<string, string>()
  const given: unknown = request.headers
  if (given !== undefined) {
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      throw new EgressError('BAD_REQUEST', 'headers must be an object of header name to string value')
    }
    for (const [rawName, value] of Object.entries(given)) {
      const name = rawName.toLowerCase()
      if (!TOKEN.test(rawName)) {
        throw new EgressError('BAD_REQUEST', `Invalid header name ${JSON.stringify(rawName)}`, {
          hint: "Header names are HTTP tokens: letters, digits and !#$%&'*+-.^_`|~, no spaces or colons.",
        })
      }
      if (FORBIDDEN_HEADERS.has(name) || name.startsWith('proxy-')) {
        throw new EgressError(
          'BAD_REQUEST',
          `The header ${JSON.stringify(rawName)} may not be set by a contract`,
          {
            hint: 'Leave it out: the client sets Host, Content-Length and connection headers itself.',
          },
        )
      }
      if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
        throw new EgressError('BAD_REQUEST', `Invalid value for header ${JSON.stringify(rawName)}`, {
          hint: 'Header values are strings without CR, LF or NUL characters (Latin-1 only).',
        })
      }
      if (headers.has(name)) {
        throw new EgressError('BAD_REQUEST', `The header ${JSON.stringify(rawName)} is given twice`, {
          hint: 'Join repeated values with ", " in one header.',
        })
      }
      headers.set(name, value)
    }
  }
  if (!headers.has('user-agent')) headers.set('user-agent', 'veil-worker')

  const body: unknown = request.body
  if (body !== undefined && !(body instanceof Uint8Array)) {
    throw new EgressError('BAD_REQUEST', 'body must be a Uint8Array', {
      hint: 'Encode text with new TextEncoder().encode(text).',
    })
  }
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) {
    throw new EgressError('BAD_REQUEST', `A ${method} request cannot have a body`, {
      hint: 'Use POST or PUT to send a body.',
    })
  }
  if (body !== undefined && body.byteLength > limits.maxRequestBytes) {
    throw new EgressError(
      'BAD_REQUEST',
      `The request body is ${body.byteLength} bytes, over the limit of ${limits.maxRequestBytes}`,
      { hint: 'Send less data per request.' },
    )
  }
  return { url, method, headers, body }
}

function parseUrl(input: unknown, redirectedFrom?: URL): URL {
  const context = redirectedFrom ? `${describeUrl(redirectedFrom)} redirected to ` : ''
  let url: URL
  try {
    if (typeof input !== 'string') throw new TypeError('not a string')
    url = redirectedFrom ? new URL(input, redirectedFrom) : new URL(input)
  } catch {
    throw new EgressError('BAD_URL', `${context}${describeInput(input)}: not a valid absolute URL`, {
      hint: 'Pass a full URL such as https://api.example.com/path.',
    })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    const why = `only http: and https: URLs are supported, not ${url.protocol}`
    throw new EgressError('BAD_URL', `${context}${describeUrl(url)}: ${why}`, {
      hint: 'Use an http:// or https:// URL.',
    })
  }
  if (url.username !== '' || url.password !== '') {
    throw new EgressError(
      'BAD_URL',
      `${context}${describeUrl(url)}: credentials in the URL are not allowed`,
      {
        hint: 'Send credentials in an authorization header instead of user:password@ in the URL.',
      },
    )
  }
  if (url.hostname === '') {
    throw new EgressError('BAD_URL', `${context}${describeUrl(url)}: the URL has no host`)
  }
  // A fragment is never sent, and the response reports the URL it came from.
  url.hash = ''
  return url
}

/** Sends `first` and follows redirects, re-checking every hop. */
async function followHops(first: Hop, config: EgressConfig, signal: AbortSignal): Promise<EgressResponse> {
  let hop = first
  for (let redirects = 0; ; redirects++) {
    const addresses = await checkDestination(hop.url, config, signal)
    const response = await openResponse(hop, addresses, signal)
    const status = response.statusCode ?? 0
    const location = response.headers.location
    if (REDIRECT_STATUSES.has(status) && location !== undefined) {
      // Never read a redirect's body; with agent: false this also closes its connection.
      response.destroy()
      if (redirects >= config.limits.maxRedirects) {
        throw new EgressError(
          'TOO_MANY_REDIRECTS',
          `${describeUrl(first.url)} redirected more than ${config.limits.maxRedirects} times`,
          { hint: 'Request the final URL directly, or check for a redirect loop.' },
        )
      }
      hop = redirectHop(hop, status, location)
      continue
    }
    const body = await readBody(response, hop, config.limits.maxResponseBytes, signal)
    return {
      status,
      statusText: response.statusMessage ?? '',
      headers: headerPairs(response.rawHeaders),
      body,
      url: hop.url.href,
      redirected: redirects > 0,
    }
  }
}

/** The next hop of a redirect, rewritten the way Fetch does it. */
function redirectHop(hop: Hop, status: number, location: string): Hop {
  const url = parseUrl(location, hop.url)
  let { method, body } = hop
  const headers = new Map(hop.headers)
  if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET'
    body = undefined
    for (const name of BODY_HEADERS) headers.delete(name)
  }
  if (url.origin !== hop.url.origin) for (const name of CREDENTIAL_HEADERS) headers.delete(name)
  return { url, method, headers, body }
}

/**
 * Resolves the hop's host once and checks every address, unless the operator allowlisted host:port.
 * The addresses returned are the only ones the connection may use.
 */
async function checkDestination(
  url: URL,
  config: EgressConfig,
  signal: AbortSignal,
): Promise<PinnedAddress[]> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
  const allowlisted = isAllowlisted(config.allow, host, port)
  const addresses =
    isIP(host) !== 0 ? [host] : await abortable(resolveHost(host, config.resolve, url), signal)

  if (!allowlisted) {
    for (const address of addresses) {
      const reason = refusedAddressReason(address)
      if (reason === undefined) continue
      const what = reason === 'not an IP address' ? reason : `${article(reason)} ${reason} address`
      const which = addresses.length === 1 ? `, ${what}` : `; ${address} is ${what}`
      throw new EgressError(
        'EGRESS_REFUSED',
        `${describeUrl(url)} resolves to ${addresses.join(', ')}${which}; ${REFUSED_HINT}`,
      )
    }
  }
  return addresses.map((address) => {
    const family = isIP(address)
    if (family !== 4 && family !== 6) {
      throw new EgressError(
        'DNS_FAILED',
        `Resolving ${host} gave ${JSON.stringify(address)}, not an IP address`,
      )
    }
    return { address, family }
  })
}

async function resolveHost(host: string, resolve: EgressConfig['resolve'], url: URL): Promise<string[]> {
  let addresses: unknown
  try {
    addresses = await resolve(host)
  } catch (error) {
    const code = errorCode(error)
    const why =
      code === 'ENOTFOUND' || code === 'ENODATA'
        ? 'no such host'
        : code === 'EAI_AGAIN'
          ? 'a temporary DNS failure'
          : errorText(error)
    throw new EgressError('DNS_FAILED', `Could not resolve ${host} for ${describeUrl(url)}: ${why}`, {
      hint: 'Check the host name; retry later if the failure is temporary.',
      cause: error,
    })
  }
  if (!Array.isArray(addresses) || addresses.length === 0 || !addresses.every((a) => typeof a === 'string')) {
    throw new EgressError('DNS_FAILED', `Could not resolve ${host} for ${describeUrl(url)}: no addresses`, {
      hint: 'Check the host name.',
    })
  }
  return addresses
}

/**
 * A `lookup` for `request` that answers with the already-checked addresses: the socket connects to
 * exactly what the policy saw, with no second DNS query an attacker could answer differently.
 */
function pinnedLookup(addresses: readonly PinnedAddress[]): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 4 || options.family === 6 ? options.family : undefined
    const usable = addresses.filter((entry) => family === undefined || entry.family === family)
    process.nextTick(() => {
      const first = usable[0]
      if (first === undefined) {
        const error: NodeJS.ErrnoException = new Error(`no IPv${family} address for ${hostname}`)
        error.code = 'ENOTFOUND'
        callback(error, '')
      } else if (options.all) {
        callback(
          null,
          usable.map((entry) => ({ address: entry.address, family: entry.family })),
        )
      } else callback(null, first.address, first.family)
    })
  }
}

/** Opens the request and resolves with the response head (the body is not read yet). */
function openResponse(
  hop: Hop,
  addresses: readonly PinnedAddress[],
  signal: AbortSignal,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason)
      return
    }
    const { url, method, body } = hop
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
    const headers: Record<string, string> = Object.fromEntries(hop.headers)
    headers.host = url.host
    if (body !== undefined) headers['content-length'] = String(body.byteLength)
    else if (method === 'POST' || method === 'PUT' || method === 'PATCH') headers['content-length'] = '0'

    const options: RequestOptions = {
      method,
      host,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      headers,
      setHost: false,
      agent: false,
      lookup: pinnedLookup(addresses),
    }
    let settled = false
    const onAbort = () => {
      settled = true
      request.destroy()
      reject(signal.reason)
    }
    // TLS is always verified: rejectUnauthorized is fixed, and SNI/identity use the URL's host name.
    const request =
      url.protocol === 'https:'
        ? httpsRequest({
            ...options,
            rejectUnauthorized: true,
            ...(isIP(host) === 0 ? { servername: host } : {}),
          })
        : httpRequest(options)
    signal.addEventListener('abort', onAbort, { once: true })
    request.on('response', (response) => {
      signal.removeEventListener('abort', onAbort)
      if (settled) {
        response.destroy()
        return
      }
      settled = true
      resolve(response)
    })
    // Stays attached after the response: late socket errors surface on the response, never uncaught here.
    request.on('error', (error) => {
      signal.removeEventListener('abort', onAbort)
      if (settled) return
      settled = true
      reject(connectionError(error, url))
    })
    request.end(body)
  })
}

/** Reads the body up to `limit` bytes; beyond that the connection is destroyed. */
function readBody(
  response: IncomingMessage,
  hop: Hop,
  limit: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const display = describeUrl(hop.url)
  const tooLarge = (size: string) =>
    new EgressError(
      'RESPONSE_TOO_LARGE',
      `${display} sent a response body ${size}, over the limit of ${limit} bytes`,
      {
        hint: 'Ask for less data (a page, a range, a smaller format).',
      },
    )
  return new Promise((resolve, reject) => {
    const declared = Number(response.headers['content-length'])
    const hasBody = hop.method !== 'HEAD' && response.statusCode !== 204 && response.statusCode !== 304
    if (hasBody && Number.isFinite(declared) && declared > limit) {
      response.destroy()
      reject(tooLarge(`of ${declared} bytes`))
      return
    }
    const chunks: Buffer[] = []
    let total = 0
    let settled = false
    const settle = (error: EgressError | undefined) => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      if (error) {
        response.destroy()
        reject(error)
        return
      }
      const body = new Uint8Array(total)
      let offset = 0
      for (const chunk of chunks) {
        body.set(chunk, offset)
        offset += chunk.length
      }
      resolve(body)
    }
    const onAbort = () => settle(signal.reason)
    if (signal.aborted) {
      onAbort()
      return
    }
    signal.addEventListener('abort', onAbort, { once: true })
    response.on('data', (chunk: Buffer) => {
      total += chunk.length
      if (total > limit) settle(tooLarge(`of more than ${limit} bytes`))
      else chunks.push(chunk)
    })
    response.on('end', () => settle(undefined))
    response.on('error', (error) => settle(connectionError(error, hop.url)))
    response.on('close', () => {
      if (!response.complete) {
        settle(
          new EgressError(
            'CONNECTION_FAILED',
            `${display} closed the connection before the response was complete`,
          ),
        )
      }
    })
  })
}

function connectionError(error: unknown, url: URL): EgressError {
  const code = errorCode(error)
  const display = describeUrl(url)
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new EgressError('DNS_FAILED', `Could not resolve the host of ${display}`, { cause: error })
  }
  if (TLS_ERROR.test(code)) {
    const reason = (error as { reason?: unknown }).reason
    const why = typeof reason === 'string' ? `${reason} (${code})` : errorText(error)
    return new EgressError('TLS_FAILED', `TLS with ${display} failed: ${why}`, {
      hint:
        'Check that the scheme and port are right and that the server presents a valid certificate for ' +
        'its host name; TLS is always verified.',
      cause: error,
    })
  }
  const why =
    code === 'ECONNREFUSED'
      ? 'the connection was refused'
      : code === 'ECONNRESET'
        ? 'the connection was reset'
        : errorText(error)
  return new EgressError('CONNECTION_FAILED', `Could not reach ${display}: ${why}`, {
    hint: 'Check that the server is up and reachable; retry later.',
    cause: error,
  })
}

function cancelled(display: string): EgressError {
  return new EgressError(
    'CANCELLED',
    `The request to ${display} was cancelled: the invocation ended or closed its egress`,
  )
}

function headerPairs(raw: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = []
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([(raw[i] ?? '').toLowerCase(), raw[i + 1] ?? ''])
  return pairs
}

/** A URL as shown in messages: scheme, host, port and path; never credentials, query or fragment. */
function describeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`
}

function describeInput(input: unknown): string {
  if (typeof input !== 'string') return String(typeof input)
  try {
    return describeUrl(new URL(input))
  } catch {
    return JSON.stringify(input.length > 200 ? `${input.slice(0, 200)}…` : input)
  }
}

function article(word: string): string {
  return /^(?:[aeio]|un(?!i))/i.test(word) ? 'an' : 'a'
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : ''
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = errorCode(error)
    return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message
  }
  return String(error)
}

/** Rejects with the signal's reason as soon as it aborts, whether or not `promise` has settled. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      promise.catch(() => {})
      reject(signal.reason)
      return
    }
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
