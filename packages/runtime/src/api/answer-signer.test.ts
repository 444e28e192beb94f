import {
  type AnswerMessage,
  createTypedHashSigner,
  recoverAnswerSigner,
  signAnswer,
  signAnswerBatch,
} from '@veil/crypto'
import { describe, expect, it } from 'vitest'
import { AnswerSigner } from './answer-signer.js'

const KEY = `0x${'5a'.repeat(32)}` as const
const signer = createTypedHashSigner(KEY)
const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const

function answer(i: number): AnswerMessage {
  return {
    request: new Uint8Array(32).fill(i),
    response: new Uint8Array(32).fill(255 - i),
    contractId: 1n,
    block: BigInt(100 + i),
  }
}

function counting(maxBatch?: number) {
  const calls = { single: 0, batch: 0, sizes: [] as number[] }
  const answers = new AnswerSigner({
    signAnswer: (a) => {
      calls.single++
      return signAnswer(signer, domain, a)
    },
    signAnswerBatch: (root) => {
      calls.batch++
      return signAnswerBatch(signer, domain, root)
    },
    onBatch: (size) => calls.sizes.push(size),
    ...(maxBatch ? { maxBatch } : {}),
  })
  return { answers, calls }
}

describe('AnswerSigner', () => {
  it('signs an answer alone in its turn as a plain Answer, with no proof', async () => {
    const { answers, calls } = counting()
    const signed = await answers.sign(answer(1))
    expect(signed.proof).toBeUndefined()
    expect(signed.signature).toBe(signAnswer(signer, domain, answer(1)))
    expect(recoverAnswerSigner(domain, answer(1), signed.signature)).toBe(signer.address)
    expect(calls).toEqual({ single: 1, batch: 0, sizes: [1] })
  })

  it('signs the answers of one turn once; each verifies with its proof and only with it', async () => {
    const { answers, calls } = counting()
    const all = Array.from({ length: 13 }, (_, i) => answer(i))
    const signed = await Promise.all(all.map((a) => answers.sign(a)))
    expect(calls).toEqual({ single: 0, batch: 1, sizes: [13] })
    expect(new Set(signed.map((s) => s.signature)).size).toBe(1)
    signed.forEach((s, i) => {
      const proof = s.proof ?? []
      expect(proof.length).toBeGreaterThan(0)
      expect(recoverAnswerSigner(domain, all[i] as AnswerMessage, s.signature, proof)).toBe(signer.address)
      // Another answer's proof does not verify this one.
      const other = signed[(i + 1) % signed.length]?.proof ?? []
      expect(recoverAnswerSigner(domain, all[i] as AnswerMessage, s.signature, other)).not.toBe(
        signer.address,
      )
    })
  })

  it('starts a new batch every turn', async () => {
    const { answers, calls } = counting()
    await Promise.all([answers.sign(answer(1)), answers.sign(answer(2))])
    await answers.sign(answer(3))
    await Promise.all([answers.sign(answer(4)), answers.sign(answer(5)), answers.sign(answer(6))])
    expect(calls.sizes).toEqual([2, 1, 3])
  })

  it('signs a full batch at once, without waiting for the turn to end', async () => {
    const { answers, calls } = counting(4)
    const signed = await Promise.all(Array.from({ length: 10 }, (_, i) => answers.sign(answer(i))))
    expect(calls.sizes).toEqual([4, 4, 2])
    signed.forEach((s, i) => {
      expect(recoverAnswerSigner(domain, answer(i), s.signature, s.proof)).toBe(signer.address)
    })
  })

  it('fails every answer of a batch whose signing failed, and goes on with the next', async () => {
    let fail = true
    const answers = new AnswerSigner({
      signAnswer: (a) => signAnswer(signer, domain, a),
      signAnswerBatch: (root) => {
        if (fail) throw new Error('signer unavailable')
        return signAnswerBatch(signer, domain, root)
      },
    })
    const results = await Promise.allSettled([answers.sign(answer(1)), answers.sign(answer(2))])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    fail = false
    const signed = await Promise.all([answers.sign(answer(1)), answers.sign(answer(2))])
    expect(recoverAnswerSigner(domain, answer(2), signed[1]?.signature ?? '0x', signed[1]?.proof)).toBe(
      signer.address,
    )
  })

  it('refuses a nonsensical batch size', () => {
    expect(
      () => new AnswerSigner({ signAnswer: () => '0x', signAnswerBatch: () => '0x', maxBatch: 0 }),
    ).toThrow(/maxBatch/)
  })
})
