import { readFileSync } from 'node:fs'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { createTdxProvider, type TdxProviderOptions } from '../tdx.js'
import { TeeError, type TeeProvider } from './provider.js'

export interface TdxTeeOptions extends TdxProviderOptions {
  /**
   * A file holding this TD's sealing root (32 bytes, hex or raw), e.g. on a volume that only this TD can
   * decrypt. TDX has no hardware sealing key of its own; without a source, sealing is unavailable.
   */
  sealingKeyFile?: string
}

/** The TEE of an Intel TDX confidential VM: quotes from configfs-tsm, sealing from `sealingKeyFile`. */
export function createTdxTee(options: TdxTeeOptions = {}): TeeProvider {
  const quotes = createTdxProvider(options)
  let root: Uint8Array | undefined
  const sealingRoot = () => {
    if (root) return root
    const file = options.sealingKeyFile
    if (!file)
      throw new TeeError('SEALING_UNAVAILABLE', 'the TDX TEE has no sealing key source', {
        details:
          'TDX offers no hardware sealing key; Veil reads a sealing root from a file only this TD can read',
        hint: 'pass --sealing-key-file <path> (32 bytes, e.g. on a LUKS volume unlocked inside the TD); see docs/trust.md',
      })
    const bytes = readFileSync(file)
    const text = bytes.toString('utf8').trim()
    root = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : bytes
    if (root.length !== 32)
      throw new TeeError(
        'SEALING_UNAVAILABLE',
        `the sealing key file ${file} must hold 32 bytes (or 64 hex digits)`,
      )
    return root
  }
  return {
    kind: 'tdx',
    getQuote: (reportData) => quotes.getQuote(reportData),
    sealingKey: async (label) =>
      hkdf(
        sha256,
        sealingRoot(),
        new TextEncoder().encode('veil/v1/tdx-tee'),
        new TextEncoder().encode(label),
        32,
      ),
  }
}
