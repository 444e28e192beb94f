import { DEV_MASTER_SECRET, devContractKeys, hpkeCommandInfo, setupBaseS } from '@veil/crypto'
import { PayloadError, systemClock } from '@veil/protocol'
import { concat, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { createNodeQueryCrypto } from '../api/crypto.js'
import { DevContractSecrets } from '../state/index.js'
import { SealedCommandOpener } from './opener.js'

const contracts: Hex = '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512'
const sender: Hex = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const stranger: Hex = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const context = { cluster: '1', contractId: '7', sender }

const opener = new SealedCommandOpener({
  crypto: createNodeQueryCrypto({
    chainId: 31337,
    registry: contracts,
    signingKey: new Uint8Array(32).fill(1),
    clock: systemClock,
  }),
  chainId: 31337,
  contractsAddress: contracts,
  secrets: new DevContractSecrets({ devMasterSecret: DEV_MASTER_SECRET, clusterId: '1' }),
})

function seal(plaintext: string, aad: Hex = sender) {
  const hpke = setupBaseS({
    recipientPublicKey: devContractKeys('1', '7').x25519PublicKey,
    info: hpkeCommandInfo({ chainId: 31337, contracts, contractId: '7' }),
    aead: 'aes-128-gcm',
  })
  const ct = hpke.seal(new TextEncoder().encode(plaintext), Buffer.from(aad.slice(2), 'hex'))
  return {
    body: concat([new Uint8Array([0x01]), hpke.enc, ct]),
    receiptKey: hpke.export('veil/v1/receipt', 16),
  }
}

describe('SealedCommandOpener', () => {
  it('opens a payload sealed to the contract key by its sender, and derives the sender’s receipt key', () => {
    const { body, receiptKey } = seal('{"args":[5],"method":"add"}')
    const opened = opener.openCommand(body, context)
    expect(new TextDecoder().decode(opened.plaintext)).toBe('{"args":[5],"method":"add"}')
    expect(opened.receiptKey).toEqual(receiptKey)
  })

  it.each([
    ['an empty body', new Uint8Array(0), /unknown AEAD/],
    ['an unknown AEAD byte', new Uint8Array([0x7f, ...new Uint8Array(60)]), /unknown AEAD/],
    ['a truncated body', new Uint8Array([0x01, ...new Uint8Array(40)]), /truncated/],
    ['garbage of the right length', new Uint8Array([0x01, ...new Uint8Array(80).fill(9)]), /does not open/],
  ])('refuses %s with a PayloadError', (_name, body, message) => {
    expect(() => opener.openCommand(body, context)).toThrow(PayloadError)
    expect(() => opener.openCommand(body, context)).toThrow(message)
  })

  it('refuses a payload submitted by someone other than the account it was sealed for', () => {
    const { body } = seal('{"args":[],"method":"x"}')
    expect(() => opener.openCommand(body, { ...context, sender: stranger })).toThrow(/does not open/)
  })

  it('refuses any flipped byte', () => {
    const { body } = seal('{"args":[],"method":"x"}')
    for (const index of [1, 20, 40, body.length - 1]) {
      const tampered = body.slice()
      tampered[index] = (tampered[index] ?? 0) ^ 0x01
      expect(() => opener.openCommand(tampered, context), `byte ${index}`).toThrow(PayloadError)
    }
  })
})
