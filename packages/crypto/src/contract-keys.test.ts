import { createHash } from 'node:crypto'
import { x25519 } from '@noble/curves/ed25519.js'
import { toHex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { DEV_MASTER_SECRET, deriveContractKeys, devContractKeys } from './contract-keys.js'

describe('contract keys', () => {
  it('the dev master secret is the documented public constant', () => {
    const expected = createHash('sha256')
      .update('veil/v1/dev-master-secret (public, development only)')
      .digest()
    expect(DEV_MASTER_SECRET).toEqual(new Uint8Array(expected))
  })

  it('derives a valid X25519 pair and the Ethereum address of the signing key', () => {
    const keys = deriveContractKeys(new Uint8Array(32).fill(3))
    expect(keys.x25519PublicKey).toEqual(x25519.getPublicKey(keys.x25519PrivateKey))
    expect(keys.address.toLowerCase()).toBe(privateKeyToAddress(toHex(keys.signingKey)).toLowerCase())
  })

  it('differs per contract and cluster, and is stable', () => {
    const a = devContractKeys('1', '1')
    expect(devContractKeys('1', '1')).toEqual(a)
    expect(devContractKeys('1', '2').x25519PublicKey).not.toEqual(a.x25519PublicKey)
    expect(devContractKeys('2', '1').address).not.toBe(a.address)
  })
})
