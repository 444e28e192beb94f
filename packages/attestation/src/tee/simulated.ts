/**
 * DEVELOPMENT ONLY: the simulated TEE. Same code path as real hardware — quotes over report data,
 * measurements checked against the ledger's allowlist, secrets sealed to disk — but nothing is
 * protected by hardware:
 *
 * - Quotes are signed by the **dev attestation key**, whose private key is public (below). A simulated
 *   quote therefore proves nothing; only a ledger in dev mode accepts it (`verifyWorkerQuote`).
 * - The measurement is whatever the caller says its code is: by convention a hash of the worker's code
 *   and version, computed by the worker itself.
 * - Sealing keys come from a per-machine **platform secret** (a file outside any data dir, or injected),
 *   so a data dir copied to another machine does not unseal, as with hardware sealing.
 *
 * Quote layout (big-endian):
 * ```
 * magic "VEILSIMQ" (8) ‖ version u16 = 1 ‖ measurement (32) ‖ report data (64) ‖ signature r‖s (64)
 * ```
 * The signature is secp256k1 ECDSA (low-s) over SHA-256 of everything before it.
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { checkReportData, REPORT_DATA_LENGTH, TeeError, type TeeProvider } from './provider.js'

const MAGIC = new TextEncoder().encode('VEILSIMQ')
const VERSION = 1
const HEADER = MAGIC.length + 2
export const SIMULATED_QUOTE_LENGTH = HEADER + 32 + REPORT_DATA_LENGTH + 64

/**
 * DEVELOPMENT ONLY, PUBLICLY KNOWN: SHA-256 of `veil/v1/dev-attestation-key (public, development only)`.
 * Anyone can sign simulated quotes with it; that is why production ledgers refuse them.
 */
export const DEV_ATTESTATION_PRIVATE_KEY: Uint8Array = sha256(
  new TextEncoder().encode('veil/v1/dev-attestation-key (public, development only)'),
)
/** The dev attestation public key (compressed secp256k1), which verifiers check simulated quotes against. */
export const DEV_ATTESTATION_PUBLIC_KEY: Uint8Array = secp256k1.getPublicKey(
  DEV_ATTESTATION_PRIVATE_KEY,
  true,
)

/** True when `quote` is in the simulated format (whether or not it verifies). */
export function isSimulatedQuote(quote: Uint8Array): boolean {
  return quote.length >= MAGIC.length && MAGIC.every((b, i) => quote[i] === b)
}

export interface SimulatedQuote {
  measurement: Uint8Array
  reportData: Uint8Array
}

/** Signs a simulated quote with the dev attestation key. */
export function createSimulatedQuote(measurement: Uint8Array, reportData: Uint8Array): Uint8Array {
  if (measurement.length !== 32)
    throw new TeeError(
      'REPORT_DATA_INVALID',
      `a simulated measurement has 32 bytes, got ${measurement.length}`,
    )
  checkReportData(reportData)
  const quote = new Uint8Array(SIMULATED_QUOTE_LENGTH)
  quote.set(MAGIC)
  new DataView(quote.buffer).setUint16(MAGIC.length, VERSION)
  quote.set(measurement, HEADER)
  quote.set(reportData, HEADER + 32)
  const signed = quote.subarray(0, HEADER + 32 + REPORT_DATA_LENGTH)
  const signature = secp256k1.sign(sha256(signed), DEV_ATTESTATION_PRIVATE_KEY, {
    prehash: false,
    lowS: true,
  })
  quote.set(signature, signed.length)
  return quote
}

/** Verifies a simulated quote's format and dev-key signature; returns its contents or throws why not. */
export function verifySimulatedQuote(quote: Uint8Array): SimulatedQuote {
  if (!isSimulatedQuote(quote)) throw new Error('not a simulated quote (no VEILSIMQ magic)')
  if (quote.length !== SIMULATED_QUOTE_LENGTH)
    throw new Error(`a simulated quote has ${SIMULATED_QUOTE_LENGTH} bytes, got ${quote.length}`)
  const version = new DataView(quote.buffer, quote.byteOffset, quote.byteLength).getUint16(MAGIC.length)
  if (version !== VERSION) throw new Error(`unsupported simulated quote version ${version}`)
  const signed = quote.subarray(0, HEADER + 32 + REPORT_DATA_LENGTH)
  const signature = quote.subarray(signed.length)
  const ok = secp256k1.verify(signature, sha256(signed), DEV_ATTESTATION_PUBLIC_KEY, {
    prehash: false,
    lowS: true,
  })
  if (!ok) throw new Error('the simulated quote is not signed by the dev attestation key')
  return {
    measurement: quote.slice(HEADER, HEADER + 32),
    reportData: quote.slice(HEADER + 32, HEADER + 32 + REPORT_DATA_LENGTH),
  }
}

export interface SimulatedTeeOptions {
  /** The 32-byte measurement this TEE reports (by convention: a hash of the code and version). */
  measurement: Uint8Array
  /**
   * This machine's platform secret (32 bytes), from which sealing keys derive. Default: read from (or
   * created at) `platformSecretFile`.
   */
  platformSecret?: Uint8Array
  /** Default `$VEIL_SIM_PLATFORM_SECRET_FILE` or `~/.veil/simulated-tee-platform.key`. */
  platformSecretFile?: string
}

/** The default place of the simulated platform secret: per user and machine, outside every data dir. */
export function defaultPlatformSecretFile(env: Record<string, string | undefined> = process.env): string {
  return env.VEIL_SIM_PLATFORM_SECRET_FILE || join(homedir(), '.veil', 'simulated-tee-platform.key')
}

/**
 * DEVELOPMENT ONLY. A simulated TEE (see the module comment): explicit in its name and `kind`, refused
 * by production ledgers and by `veil worker start --production`.
 */
export function createSimulatedTee(
  options: SimulatedTeeOptions,
): TeeProvider & { readonly measurement: Uint8Array } {
  const measurement = Uint8Array.from(options.measurement)
  if (measurement.length !== 32)
    throw new TeeError(
      'REPORT_DATA_INVALID',
      `a simulated measurement has 32 bytes, got ${measurement.length}`,
    )
  let platform: Uint8Array | undefined = options.platformSecret && Uint8Array.from(options.platformSecret)
  if (platform && platform.length !== 32)
    throw new TeeError('SEALING_UNAVAILABLE', 'the simulated platform secret must be 32 bytes')
  const platformSecret = () => {
    platform ??= loadOrCreatePlatformSecret(options.platformSecretFile ?? defaultPlatformSecretFile())
    return platform
  }
  return {
    kind: 'simulated',
    measurement,
    getQuote: async (reportData) => createSimulatedQuote(measurement, reportData),
    // Bound to the machine (platform secret), not the measurement: like sealing to the signer, so a
    // new Veil version on the same machine still opens what the previous one sealed.
    sealingKey: async (label) =>
      hkdf(
        sha256,
        platformSecret(),
        new TextEncoder().encode('veil/v1/simulated-tee'),
        new TextEncoder().encode(label),
        32,
      ),
  }
}

function loadOrCreatePlatformSecret(path: string): Uint8Array {
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8').trim()
    if (!/^[0-9a-f]{64}$/.test(text))
      throw new TeeError(
        'SEALING_UNAVAILABLE',
        `the simulated TEE platform secret in ${path} is unreadable`,
        {
          hint: 'it must hold 64 hex digits; deleting it makes every data dir sealed on this machine unreadable',
        },
      )
    return hexToBytes(text)
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, `${bytesToHex(randomBytes(32))}\n`, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  try {
    linkSync(tmp, path) // atomic and exclusive: if another process created it meanwhile, keep theirs
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  } finally {
    unlinkSync(tmp)
  }
  return loadOrCreatePlatformSecret(path)
}
