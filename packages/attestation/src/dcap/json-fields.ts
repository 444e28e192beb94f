/**
 * Typed field readers for Intel's JSON collateral. Every error names the JSON path and what was
 * expected, e.g. `tcbInfo.tcbLevels[2].tcb.pcesvn: expected an integer 0–65535`.
 */

import { fromHex } from '../bytes.js'
import { DcapError, type DcapErrorCode } from './errors.js'

const ISO_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/

export class JsonFields {
  constructor(
    private readonly value: Record<string, unknown>,
    readonly path: string,
    private readonly code: DcapErrorCode,
    private readonly what: string,
  ) {}

  /** Wraps `value` (must be a JSON object). */
  static of(value: unknown, path: string, code: DcapErrorCode, what: string): JsonFields {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DcapError(code, `${what} is malformed`, { details: `${path}: expected an object` })
    }
    return new JsonFields(value as Record<string, unknown>, path, code, what)
  }

  fail(key: string, expected: string): DcapError {
    return new DcapError(this.code, `${this.what} is malformed`, {
      details: `${this.path}.${key}: expected ${expected}`,
    })
  }

  has(key: string): boolean {
    return this.value[key] !== undefined
  }

  raw(key: string): unknown {
    return this.value[key]
  }

  object(key: string): JsonFields {
    return JsonFields.of(this.value[key], `${this.path}.${key}`, this.code, this.what)
  }

  array(key: string): unknown[] {
    const v = this.value[key]
    if (!Array.isArray(v)) throw this.fail(key, 'an array')
    return v
  }

  /** `array(key)` mapped through `JsonFields.of`, with indexed paths. */
  objects(key: string): JsonFields[] {
    return this.array(key).map((item, i) =>
      JsonFields.of(item, `${this.path}.${key}[${i}]`, this.code, this.what),
    )
  }

  string(key: string): string {
    const v = this.value[key]
    if (typeof v !== 'string') throw this.fail(key, 'a string')
    return v
  }

  integer(key: string, max = 0xffff): number {
    const v = this.value[key]
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      throw this.fail(key, `an integer 0–${max}`)
    }
    return v
  }

  /** Hex of exactly `length` bytes (either case). */
  hex(key: string, length: number): Uint8Array {
    const v = this.value[key]
    const bytes = typeof v === 'string' ? fromHex(v) : undefined
    if (bytes === undefined || bytes.length !== length) throw this.fail(key, `hex of ${length} bytes`)
    return bytes
  }

  /** An ISO 8601 UTC time, as unix seconds. */
  time(key: string): number {
    const v = this.value[key]
    const ms = typeof v === 'string' && ISO_TIME_RE.test(v) ? Date.parse(v) : Number.NaN
    if (Number.isNaN(ms)) throw this.fail(key, 'an ISO 8601 UTC time like 2025-06-04T09:51:38Z')
    return Math.floor(ms / 1000)
  }

  /** Optional array of strings (advisory ids); `[]` when absent. */
  strings(key: string): string[] {
    const v = this.value[key]
    if (v === undefined) return []
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
      throw this.fail(key, 'an array of strings')
    return v as string[]
  }
}
