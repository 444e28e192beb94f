import { HPKE_AEADS, type HpkeSuite } from '@veil/crypto/web'

/**
 * The AEAD the SDK seals with: AES-128-GCM, available in every WebCrypto. Its RFC 9180 id is the `aead`
 * byte of a sealed command payload.
 */
export const SDK_AEAD = 'aes-128-gcm' as const
export const SDK_AEAD_ID = HPKE_AEADS[SDK_AEAD].id
export const SDK_AEAD_KEY_LENGTH = HPKE_AEADS[SDK_AEAD].keyLength

export interface SealOnceResult {
  enc: Uint8Array
  ciphertext: Uint8Array
  /** The secret exported from the sender's context under `exportLabel`. */
  exported: Uint8Array
}

/**
 * Seals one message to `recipientPublicKey` and exports one secret from the same HPKE context (the key
 * that will open the answer or receipt). The context is dropped afterwards: one message per context.
 */
export async function sealOnce(
  hpke: HpkeSuite,
  params: {
    recipientPublicKey: Uint8Array
    info: string
    aad: Uint8Array
    plaintext: Uint8Array
    exportLabel: string
    exportLength: number
  },
): Promise<SealOnceResult> {
  const sender = await hpke.setupBaseS({
    recipientPublicKey: params.recipientPublicKey,
    info: params.info,
    aead: SDK_AEAD,
  })
  const ciphertext = await sender.seal(params.plaintext, params.aad)
  const exported = await sender.export(params.exportLabel, params.exportLength)
  return { enc: sender.enc, ciphertext, exported }
}

const ZERO_NONCE = new Uint8Array(12)

/**
 * Opens AES-128-GCM under a key exported from an HPKE context, with the all-zero nonce. Zero nonces are
 * safe only because each such key (receipt key, response key) seals exactly one message.
 */
export function openExported(hpke: HpkeSuite, key: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array) {
  return hpke.aeadOpen({ aead: SDK_AEAD, key, nonce: ZERO_NONCE, aad, ciphertext })
}
