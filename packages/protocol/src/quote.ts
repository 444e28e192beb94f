/**
 * Where a quote carries its 64 bytes of report data, for clients that check a worker's key binding
 * without verifying the quote itself (the KMS verified it before approving the worker on the ledger).
 * Pure byte offsets, no crypto: browser-safe. Full verification is `@veil/attestation`.
 *
 * - Veil simulated quote: `"VEILSIMQ" ‖ u16 version ‖ measurement (32) ‖ report data (64) ‖ …`
 * - Intel DCAP: a 48-byte header (u16le version, …, u32le TEE type at 4: 0 = SGX, 0x81 = TDX), then for
 *   v3/v4 the report body (SGX report: report data at 320; TD report: at 520), for v5 a u16 body type and
 *   u32 body size first.
 */
const SIM_MAGIC = [0x56, 0x45, 0x49, 0x4c, 0x53, 0x49, 0x4d, 0x51] // "VEILSIMQ"
const HEADER = 48
const SGX_REPORT_DATA = 320
const TD_REPORT_DATA = 520
const REPORT_DATA_LENGTH = 64

/** Which kind of quote `quote` is, by its header; `undefined` when it is neither. */
export function quoteKind(quote: Uint8Array): 'simulated' | 'sgx' | 'tdx' | undefined {
  if (quote.length >= 8 && SIM_MAGIC.every((b, i) => quote[i] === b)) return 'simulated'
  if (quote.length < HEADER) return undefined
  const view = new DataView(quote.buffer, quote.byteOffset, quote.byteLength)
  const version = view.getUint16(0, true)
  const tee = view.getUint32(4, true)
  if (version === 3 && tee === 0) return 'sgx'
  if ((version === 4 || version === 5) && tee === 0x81) return 'tdx'
  return undefined
}

/** The 64 bytes of report data `quote` carries, or `undefined` when it is not a quote Veil knows. */
export function quoteReportData(quote: Uint8Array): Uint8Array | undefined {
  const kind = quoteKind(quote)
  let offset: number
  if (kind === 'simulated') offset = 10 + 32
  else if (kind === 'sgx') offset = HEADER + SGX_REPORT_DATA
  else if (kind === 'tdx') {
    const version = new DataView(quote.buffer, quote.byteOffset, quote.byteLength).getUint16(0, true)
    offset = HEADER + (version === 5 ? 6 : 0) + TD_REPORT_DATA
  } else return undefined
  if (quote.length < offset + REPORT_DATA_LENGTH) return undefined
  return quote.slice(offset, offset + REPORT_DATA_LENGTH)
}
