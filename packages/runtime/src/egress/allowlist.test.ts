import { describe, expect, it } from 'vitest'
import { AllowEntryError, isAllowlisted, parseAllowEntry, parseAllowlist } from './allowlist.js'

describe('parseAllowEntry', () => {
  it.each([
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['api.example.com', { host: 'api.example.com' }],
    ['API.Example.com:443', { host: 'api.example.com', port: 443 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
    ['[::1]', { host: '::1' }],
    ['::1', { host: '::1' }],
    ['[::FFFF:127.0.0.1]:80', { host: '::ffff:7f00:1', port: 80 }],
    ['localhost:3000', { host: 'localhost', port: 3000 }],
    ['  example.com.  ', { host: 'example.com' }],
    ['bücher.example', { host: 'xn--bcher-kva.example' }],
  ])('parses %s', (text, expected) => {
    expect(parseAllowEntry(text)).toEqual(expected)
  })

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['http://api.example.com', /scheme/],
    ['https://api.example.com:443', /scheme/],
    ['api.example.com/path', /no path/],
    ['user@api.example.com', /credentials/],
    ['api.example.com:', /port "" is not a number/],
    ['api.example.com:0', /port "0"/],
    ['api.example.com:65536', /port "65536"/],
    ['api.example.com:http', /port "http"/],
    ['api.example.com:-1', /port "-1"/],
    [':8080', /host is missing/],
    ['[::1', /closing/],
    ['[::1]9000', /after "\]"/],
    ['[example.com]:80', /not an IPv6 address/],
    ['1:2:3', /IPv6 with a port as \[addr\]:port/],
    ['*.example.com', /neither a host name nor an IP address/],
    ['bad_label-.com', /neither a host name nor an IP address/],
    ['127.1', /dotted-quad/],
    ['0x7f000001:80', /dotted-quad/],
  ])('rejects %j', (text, message) => {
    let error: unknown
    try {
      parseAllowEntry(text)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(AllowEntryError)
    const allowError = error as AllowEntryError
    expect(allowError.code).toBe('EGRESS_ALLOW_INVALID')
    expect(allowError.details).toMatch(message)
    // Every rejection says which form is expected.
    expect(allowError.message).toContain('host[:port]')
  })
})

describe('isAllowlisted', () => {
  const entries = parseAllowlist(['127.0.0.1:8080', 'API.example.com', '[::1]:9000', 'localhost:3000'])

  it('matches host and port', () => {
    expect(isAllowlisted(entries, '127.0.0.1', 8080)).toBe(true)
    expect(isAllowlisted(entries, '127.0.0.1', 8081)).toBe(false)
    expect(isAllowlisted(entries, '127.0.0.2', 8080)).toBe(false)
    expect(isAllowlisted(entries, 'localhost', 3000)).toBe(true)
    expect(isAllowlisted(entries, 'localhost', 3001)).toBe(false)
  })

  it('allows every port of an entry without one', () => {
    expect(isAllowlisted(entries, 'api.example.com', 443)).toBe(true)
    expect(isAllowlisted(entries, 'api.example.com', 8443)).toBe(true)
    expect(isAllowlisted(entries, 'other.example.com', 443)).toBe(false)
    expect(isAllowlisted(entries, 'sub.api.example.com', 443)).toBe(false)
  })

  it('compares host names case-insensitively and IPv6 in canonical form', () => {
    expect(isAllowlisted(entries, 'Api.Example.COM', 80)).toBe(true)
    expect(isAllowlisted(entries, 'api.example.com.', 80)).toBe(true)
    expect(isAllowlisted(entries, '[::1]', 9000)).toBe(true)
    expect(isAllowlisted(entries, '0:0:0:0:0:0:0:1', 9000)).toBe(true)
    expect(isAllowlisted(entries, '::1', 9001)).toBe(false)
  })

  it('allows nothing when empty', () => {
    expect(isAllowlisted([], '127.0.0.1', 8080)).toBe(false)
  })
})
