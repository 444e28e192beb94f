import { isIP } from 'node:net'
import { domainToASCII } from 'node:url'
import { VeilError } from '@veil/protocol'
import { normalizeHost } from './address-policy.js'

/** One operator allowlist entry: a host (normalized, see `normalizeHost`) and an optional port. */
export interface AllowEntry {
  readonly host: string
  /** Absent: every port of `host` is allowed. */
  readonly port?: number
}

const EXPECTED_FORM =
  'Write host[:port], e.g. api.example.com, api.example.com:8443, 127.0.0.1:8080 or [::1]:9000.'

/** An `--egress-allow` entry that is not `host[:port]`. */
export class AllowEntryError extends VeilError {
  override name = 'AllowEntryError'
  constructor(
    readonly entry: string,
    details: string,
  ) {
    super(`Invalid egress allowlist entry ${JSON.stringify(entry)}`, {
      code: 'EGRESS_ALLOW_INVALID',
      details,
      hint: EXPECTED_FORM,
    })
  }
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i
const HOST_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/

function parsePort(entry: string, text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN
  if (!(port >= 1 && port <= 65_535)) {
    throw new AllowEntryError(entry, `The port ${JSON.stringify(text)} is not a number from 1 to 65535.`)
  }
  return port
}

function parseHostName(entry: string, text: string): string {
  if (isIP(text) !== 0) return normalizeHost(text)
  const ascii = domainToASCII(text.toLowerCase())
  const name = ascii.endsWith('.') ? ascii.slice(0, -1) : ascii
  const labels = name.split('.')
  if (name === '' || name.length > 253 || !labels.every((label) => HOST_LABEL.test(label))) {
    throw new AllowEntryError(entry, `${JSON.stringify(text)} is neither a host name nor an IP address.`)
  }
  // URLs read a host ending in a number as IPv4 (`127.1` is 127.0.0.1), so such a name would never match.
  if (/^(\d+|0x[0-9a-f]*)$/.test(labels.at(-1) ?? '')) {
    throw new AllowEntryError(
      entry,
      `${JSON.stringify(text)} is not an IPv4 address in dotted-quad form (a.b.c.d).`,
    )
  }
  return name
}

/**
 * Parses an operator allowlist entry `host[:port]`: a host name, an IPv4 address or a bracketed IPv6
 * address (a bare IPv6 address is accepted without a port).
 *
 * @example parseAllowEntry('[::1]:9000') // { host: '::1', port: 9000 }
 * @throws AllowEntryError when the entry is empty, has a bad port, or has a scheme, path or credentials.
 */
export function parseAllowEntry(text: string): AllowEntry {
  const entry = text.trim()
  if (entry === '') throw new AllowEntryError(text, 'The entry is empty.')
  if (SCHEME.test(entry)) {
    throw new AllowEntryError(
      text,
      'An entry names a host, not a URL: leave out the scheme (http://, https://).',
    )
  }
  if (/[/?#@\s]/.test(entry)) {
    throw new AllowEntryError(
      text,
      'An entry names a host and port only: no path, query, credentials or spaces.',
    )
  }

  let host: string
  let portText: string | undefined
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']')
    if (close === -1) throw new AllowEntryError(text, 'The IPv6 address has no closing "]".')
    host = entry.slice(1, close)
    const rest = entry.slice(close + 1)
    if (rest !== '') {
      if (!rest.startsWith(':'))
        throw new AllowEntryError(text, `Unexpected ${JSON.stringify(rest)} after "]".`)
      portText = rest.slice(1)
    }
    if (isIP(host) !== 6) throw new AllowEntryError(text, `${JSON.stringify(host)} is not an IPv6 address.`)
  } else if (entry.indexOf(':') !== entry.lastIndexOf(':')) {
    if (isIP(entry) !== 6) {
      throw new AllowEntryError(
        text,
        'Several ":" but not an IPv6 address; write IPv6 with a port as [addr]:port.',
      )
    }
    host = entry
  } else {
    const colon = entry.indexOf(':')
    host = colon === -1 ? entry : entry.slice(0, colon)
    portText = colon === -1 ? undefined : entry.slice(colon + 1)
    if (host === '') throw new AllowEntryError(text, 'The host is missing.')
  }

  const normalized = parseHostName(text, host)
  return portText === undefined ? { host: normalized } : { host: normalized, port: parsePort(text, portText) }
}

/** Parses every entry of an allowlist; throws `AllowEntryError` on the first bad one. */
export function parseAllowlist(entries: readonly string[]): AllowEntry[] {
  return entries.map(parseAllowEntry)
}

/**
 * Whether `hostname:port` is on the allowlist. Host names compare case-insensitively, IP addresses in
 * canonical form; an entry without a port allows every port.
 */
export function isAllowlisted(entries: readonly AllowEntry[], hostname: string, port: number): boolean {
  const host = normalizeHost(hostname)
  return entries.some((entry) => entry.host === host && (entry.port === undefined || entry.port === port))
}
