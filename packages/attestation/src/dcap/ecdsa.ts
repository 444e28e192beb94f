/**
 * ECDSA P-256 / SHA-256 checks on node:crypto. Every DCAP signature is this one algorithm: certificates
 * and CRLs carry DER-encoded signatures, quotes and Intel's JSON collateral raw r||s (64 bytes).
 */

import { createPublicKey, type KeyObject, verify } from 'node:crypto'

export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2'

/** A P-256 public key from its SPKI DER, or `undefined` when it is not one. */
export function p256KeyFromSpki(spki: Uint8Array): KeyObject | undefined {
  try {
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })
    return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? key : undefined
  } catch {
    return undefined
  }
}

/** A P-256 public key from raw x||y (the quote's attestation key), or `undefined` if not on the curve. */
export function p256KeyFromRaw(xy: Uint8Array): KeyObject | undefined {
  if (xy.length !== 64) return undefined
  try {
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: Buffer.from(xy.subarray(0, 32)).toString('base64url'),
        y: Buffer.from(xy.subarray(32, 64)).toString('base64url'),
      },
      format: 'jwk',
    })
  } catch {
    return undefined
  }
}

/** Verifies a raw r||s signature (64 bytes) over `data`. Never throws. */
export function verifyRawSignature(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false
  try {
    return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature)
  } catch {
    return false
  }
}

/** Verifies a DER (ECDSA-Sig-Value) signature over `data`. Never throws. */
export function verifyDerSignature(key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify('sha256', data, { key, dsaEncoding: 'der' }, signature)
  } catch {
    return false
  }
}
