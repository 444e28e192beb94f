import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { UsageError } from '@veil/protocol'
import { flag, stringOption } from '../args.js'
import { type Command, ExitCode } from '../command.js'
import { toJson } from '../output.js'

const USAGE = 'veil attest verify --quote <file> --collateral <file> [--at <unix seconds>]'

export const attestVerifyCommand: Command = {
  name: ['attest', 'verify'],
  summary: 'verify an Intel DCAP quote (SGX v3, TDX v4/v5) against its collateral',
  description:
    'Checks the quote’s signatures, the PCK certificate chain up to the Intel SGX Root CA, the CRLs, the\n' +
    'TCB info and QE identity (signatures, issuers, validity) and matches the platform’s TCB level, at\n' +
    'the given time (default: now). The quote file may be binary or hex; the collateral is JSON in\n' +
    'dcap-qvl’s QuoteCollateralV3 layout. Exit 0 when the quote is valid, 1 when not.',
  options: {
    quote: {
      type: 'string',
      valueName: '<file>',
      description: 'the quote (binary, or hex with or without 0x)',
    },
    collateral: { type: 'string', valueName: '<file>', description: 'collateral.json' },
    at: { type: 'string', valueName: '<unix seconds>', description: 'verify as of this time (default: now)' },
    'allow-debug': { type: 'boolean', description: 'accept debug enclaves and TDs (never in production)' },
  },
  json: true,
  examples: [
    'veil attest verify --quote quote.bin --collateral collateral.json',
    'veil attest verify --quote quote.hex --collateral collateral.json --at 1752919234 --json',
  ],
  async run(ctx) {
    const { io } = ctx
    if (ctx.positionals.length > 0)
      throw new UsageError(`unexpected argument "${ctx.positionals[0]}"`, { hint: USAGE })
    const quotePath = required(stringOption(ctx, 'quote'), '--quote')
    const collateralPath = required(stringOption(ctx, 'collateral'), '--collateral')
    const atText = stringOption(ctx, 'at')
    if (atText !== undefined && !/^\d{1,12}$/.test(atText))
      throw new UsageError(`--at must be unix seconds, got "${atText}"`, { hint: USAGE })
    const now = atText === undefined ? Math.floor(Date.now() / 1000) : Number(atText)
    const quote = readQuote(resolve(io.cwd, quotePath))
    const { parseCollateral, verifyQuote } = await import('@veil/attestation')
    const collateral = parseCollateral(readText(resolve(io.cwd, collateralPath), '--collateral'))
    const verdict = verifyQuote(quote, collateral, { now, allowDebug: flag(ctx, 'allow-debug') })
    const measurement =
      verdict.measurement === null
        ? null
        : 'mrEnclave' in verdict.measurement
          ? { mrEnclave: verdict.measurement.mrEnclave, mrSigner: verdict.measurement.mrSigner }
          : {
              mrTd: verdict.measurement.mrTd,
              rtmr0: verdict.measurement.rtmr0,
              rtmr1: verdict.measurement.rtmr1,
              rtmr2: verdict.measurement.rtmr2,
              rtmr3: verdict.measurement.rtmr3,
            }
    const result = {
      valid: verdict.valid,
      tee: verdict.tee,
      quoteVersion: verdict.quoteVersion,
      status: verdict.status,
      advisoryIds: verdict.advisoryIds,
      measurement,
      reportData: verdict.reportData,
      ...(verdict.valid ? {} : { error: verdict.error }),
    }
    if (flag(ctx, 'json')) io.out(toJson(result))
    else {
      io.out(
        verdict.valid
          ? `valid: ${verdict.tee} quote v${verdict.quoteVersion}, TCB status ${verdict.status}`
          : `INVALID: ${verdict.error.code}: ${verdict.error.message}`,
      )
      if (verdict.advisoryIds.length > 0) io.out(`advisories: ${verdict.advisoryIds.join(', ')}`)
      if (measurement) for (const [k, v] of Object.entries(measurement)) io.out(`${k.padEnd(10)} ${v}`)
      if (verdict.reportData) io.out(`reportData ${verdict.reportData}`)
      io.err(`verified as of ${new Date(now * 1000).toISOString()}`)
    }
    return verdict.valid ? ExitCode.ok : ExitCode.failure
  },
}

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new UsageError(`${name} is required`, { hint: USAGE })
  return value
}

function readText(path: string, option: string): string {
  if (!existsSync(path)) throw new UsageError(`${option}: no file at ${path}`)
  return readFileSync(path, 'utf8')
}

/** A quote file: raw bytes, or hex text (optionally 0x-prefixed, whitespace ignored). */
function readQuote(path: string): Uint8Array {
  if (!existsSync(path)) throw new UsageError(`--quote: no file at ${path}`)
  const raw = readFileSync(path)
  const text = raw.toString('latin1').trim().replace(/^0x/i, '').replace(/\s+/g, '')
  if (text.length > 0 && text.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(text))
    return new Uint8Array(Buffer.from(text, 'hex'))
  return new Uint8Array(raw)
}
