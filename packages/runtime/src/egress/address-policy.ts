import { isIP } from 'node:net'
import { domainToASCII } from 'node:url'
import ipaddr from 'ipaddr.js'

type IPv4 = ipaddr.IPv4
type IPv6 = ipaddr.IPv6
type Range<T> = { readonly range: [T, number]; readonly reason: string }

const v4 = (cidr: string, reason: string): Range<IPv4> => ({ range: ipaddr.IPv4.parseCIDR(cidr), reason })
const v6 = (cidr: string, reason: string): Range<IPv6> => ({ range: ipaddr.IPv6.parseCIDR(cidr), reason })

/**
 * IPv4 ranges a contract may never reach, most specific first (the metadata hosts sit inside link-local
 * and CGNAT). Anything else is public unicast. See the IANA IPv4 special-purpose address registry.
 */
const IPV4_REFUSED: readonly Range<IPv4>[] = [
  v4('169.254.169.254/32', 'cloud metadata'), // AWS, GCP, Azure, OCI, DigitalOcean, …
  v4('100.100.100.200/32', 'cloud metadata'), // Alibaba Cloud
  v4('0.0.0.0/8', 'unspecified'), // "this network"; 0.0.0.0 reaches the local host on Linux
  v4('127.0.0.0/8', 'loopback'),
  v4('10.0.0.0/8', 'private'),
  v4('172.16.0.0/12', 'private'),
  v4('192.168.0.0/16', 'private'),
  v4('169.254.0.0/16', 'link-local'),
  v4('100.64.0.0/10', 'carrier-grade NAT'),
  v4('224.0.0.0/4', 'multicast'),
  v4('255.255.255.255/32', 'broadcast'),
  v4('240.0.0.0/4', 'reserved'),
  v4('192.0.2.0/24', 'documentation'),
  v4('198.51.100.0/24', 'documentation'),
  v4('203.0.113.0/24', 'documentation'),
  v4('198.18.0.0/15', 'benchmarking'),
  v4('192.0.0.0/24', 'reserved'), // IETF protocol assignments (DS-Lite, NAT64 discovery, …)
  v4('192.88.99.0/24', 'reserved'), // deprecated 6to4 relay anycast
]

/** IPv6 ranges refused before looking for an embedded IPv4 address (they overlap ::/96). */
const IPV6_REFUSED_FIRST: readonly Range<IPv6>[] = [
  v6('fd00:ec2::254/128', 'cloud metadata'), // AWS IMDS over IPv6 (inside fc00::/7)
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
]

/** IPv6 forms carrying an IPv4 address in their last 32 bits: judged by that IPv4 address. */
const IPV6_EMBEDDING_LOW32: readonly [IPv6, number][] = [
  ipaddr.IPv6.parseCIDR('::ffff:0:0/96'), // IPv4-mapped
  ipaddr.IPv6.parseCIDR('::ffff:0:0:0/96'), // IPv4-translated (RFC 6145)
  ipaddr.IPv6.parseCIDR('::/96'), // IPv4-compatible (deprecated)
  ipaddr.IPv6.parseCIDR('64:ff9b::/96'), // NAT64 well-known prefix (RFC 6052)
]

const SIX_TO_FOUR = ipaddr.IPv6.parseCIDR('2002::/16') // IPv4 address in bits 16..47 (RFC 3056)

const IPV6_REFUSED: readonly Range<IPv6>[] = [
  v6('fe80::/10', 'link-local'),
  v6('fec0::/10', 'site-local'),
  v6('fc00::/7', 'unique local'),
  v6('ff00::/8', 'multicast'),
  v6('100::/64', 'reserved'), // discard-only
  v6('64:ff9b:1::/48', 'local-use NAT64'), // RFC 8215: the IPv4 address may sit anywhere, refuse it all
  v6('2001::/32', 'tunnel'), // Teredo: the embedded IPv4 address is obfuscated, refuse outright
  v6('2001:2::/48', 'benchmarking'),
  v6('2001:db8::/32', 'documentation'),
  v6('3fff::/20', 'documentation'),
  v6('2001::/23', 'reserved'), // the rest of the IETF protocol assignments (ORCHID, …)
]

/** Only 2000::/3 is allocated as global unicast; everything else left is reserved or unassigned. */
const IPV6_GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3')

/** IPv4-compatible written the deprecated way, `::a.b.c.d` (ipaddr.js reads it as IPv4-mapped). */
const DEPRECATED_COMPATIBLE = /^::\d+\.\d+\.\d+\.\d+(%.*)?$/

/**
 * Parses `ip` the way the kernel will read it when connecting: only what `net.isIP` accepts (no octal,
 * hex or short IPv4 forms), so the address checked is the address connected to.
 */
function parseAddress(ip: string): IPv4 | IPv6 | undefined {
  const family = isIP(ip)
  try {
    if (family === 4) return ipaddr.IPv4.parse(ip)
    if (family !== 6) return undefined
    const address = ipaddr.IPv6.parse(ip)
    if (DEPRECATED_COMPATIBLE.test(ip)) {
      const [, , , , , , high = 0, low = 0] = address.parts
      return new ipaddr.IPv6([0, 0, 0, 0, 0, 0, high, low])
    }
    return address
  } catch {
    return undefined
  }
}

function ipv4Reason(address: IPv4): string | undefined {
  return IPV4_REFUSED.find(({ range }) => address.match(range))?.reason
}

function embeddedIPv4(high: number, low: number): IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff])
}

function ipv6Reason(address: IPv6): string | undefined {
  const first = IPV6_REFUSED_FIRST.find(({ range }) => address.match(range))
  if (first) return first.reason
  const parts = address.parts
  if (IPV6_EMBEDDING_LOW32.some((range) => address.match(range))) {
    return ipv4Reason(embeddedIPv4(parts[6] ?? 0, parts[7] ?? 0))
  }
  if (address.match(SIX_TO_FOUR)) return ipv4Reason(embeddedIPv4(parts[1] ?? 0, parts[2] ?? 0))
  const refused = IPV6_REFUSED.find(({ range }) => address.match(range))
  if (refused) return refused.reason
  return address.match(IPV6_GLOBAL_UNICAST) ? undefined : 'reserved'
}

/**
 * Why a contract must not contact `ip` (`'loopback'`, `'private'`, `'cloud metadata'`, …), or
 * `undefined` for a public unicast address. IPv6 addresses embedding an IPv4 address (mapped,
 * compatible, NAT64, 6to4) are judged by the embedded address; Teredo is refused as `'tunnel'`.
 *
 * @example refusedAddressReason('::ffff:127.0.0.1') // 'loopback'
 */
export function refusedAddressReason(ip: string): string | undefined {
  const address = parseAddress(ip)
  if (address === undefined) return 'not an IP address'
  return address instanceof ipaddr.IPv4 ? ipv4Reason(address) : ipv6Reason(address)
}

/**
 * The form hosts are compared in: brackets removed, IP addresses canonical (`[::FFFF:127.0.0.1]` →
 * `::ffff:7f00:1`), names lower-case ASCII (IDNA) without a trailing dot.
 */
export function normalizeHost(hostname: string): string {
  let host = hostname.trim()
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const address = parseAddress(host)
  if (address !== undefined) return address.toString()
  host = host.toLowerCase()
  if (host.endsWith('.')) host = host.slice(0, -1)
  return domainToASCII(host) || host
}
