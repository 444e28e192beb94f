import { deriveContractKeys } from '@veil/crypto'
import { type Hex, PayloadError } from '@veil/protocol'
import { hexToBytes } from 'viem'
import type { QueryAead, QueryCrypto } from '../api/query.js'
import type { ContractSecrets } from '../state/index.js'
import type { CommandOpener } from './executor.js'

const AEAD_BY_ID: Record<number, QueryAead> = { 1: 'aes-128-gcm', 3: 'chacha20-poly1305' }

/**
 * Opens sealed command payloads (docs/protocol.md): `aead (1) ‖ enc (32) ‖ ct`, HPKE to the contract's
 * X25519 key, info naming chain, ledger and contract, aad = the sender's address. Also exports the
 * receipt key, which only the sender and the cluster's workers can derive.
 */
export class SealedCommandOpener implements CommandOpener {
  private readonly keys = new Map<string, Uint8Array>()
  /** Each contract's HPKE info, encoded once: the same array every time keeps HPKE's per-info cache hitting. */
  private readonly infos = new Map<string, Uint8Array>()

  constructor(
    private readonly options: {
      crypto: QueryCrypto
      chainId: number
      contractsAddress: Hex
      secrets: ContractSecrets
    },
  ) {}

  openCommand(
    body: Uint8Array,
    context: { cluster: string; contractId: string; sender: Hex },
  ): { plaintext: Uint8Array; receiptKey: Uint8Array } {
    const aead = AEAD_BY_ID[body[0] ?? -1]
    if (!aead)
      throw new PayloadError('unknown AEAD in the sealed payload', `id 0x${(body[0] ?? 0).toString(16)}`)
    if (body.length < 1 + 32 + 16) throw new PayloadError('the sealed payload is truncated')
    const info = this.info(context.contractId)
    let opened: ReturnType<QueryCrypto['openRequest']>
    try {
      opened = this.options.crypto.openRequest({
        privateKey: this.privateKey(context.contractId),
        enc: body.subarray(1, 33),
        ct: body.subarray(33),
        info,
        aead,
        aad: hexToBytes(context.sender),
      })
    } catch {
      throw new PayloadError(
        'the sealed payload does not open with the contract key (wrong key, sender or tampered)',
      )
    }
    return { plaintext: opened.plaintext, receiptKey: opened.exportSecret('veil/v1/receipt', 16) }
  }

  private info(contractId: string): Uint8Array {
    let info = this.infos.get(contractId)
    if (!info) {
      info = new TextEncoder().encode(
        `veil/v1/command/${this.options.chainId}/${this.options.contractsAddress.toLowerCase()}/${contractId}`,
      )
      this.infos.set(contractId, info)
    }
    return info
  }

  private privateKey(contractId: string): Uint8Array {
    let key = this.keys.get(contractId)
    if (!key) {
      key = deriveContractKeys(this.options.secrets.contractSecret(contractId)).x25519PrivateKey
      this.keys.set(contractId, key)
    }
    return key
  }
}
