/**
 * `AnswerSigner`: signs answers once per event-loop turn. Every answer finished in one turn of the
 * event loop (under load, the queries whose requests opened in that turn: about 8 at a time with the
 * bench's 16 clients) is a leaf of one Merkle tree whose root the worker signs once, as an EIP-712
 * `AnswerBatch(root)`; each answer carries its proof. An answer alone in its turn (an idle worker, a
 * sequential client) is signed as a plain `Answer`, exactly as before batching, and carries no proof.
 *
 * A signature was the largest single cost of an answer (≈ 45–70 µs on libsecp256k1); a tree of 16 costs
 * 15 keccak256 (≈ 1.4 µs each). Nothing waits longer than the turn it was answered in: the batch is
 * signed in the loop's check phase, right after the poll phase that read the requests.
 */
import { type AnswerMessage, hashAnswerStruct, merkleTree } from '@veil/crypto'
import type { Hex } from '@veil/protocol'
import { bytesToHex } from 'viem'

/** An answer's signature, and its Merkle proof when it was signed as one of a batch. */
export interface SignedAnswer {
  signature: Hex
  /** Sibling hashes from the answer's leaf up (absent: `signature` is over the `Answer` itself). */
  proof?: Hex[]
}

export interface AnswerSignerOptions {
  /** The EIP-712 `Answer` signature by the worker's identity key. */
  signAnswer(answer: AnswerMessage): Hex
  /** The EIP-712 `AnswerBatch(root)` signature by the worker's identity key. */
  signAnswerBatch(root: Uint8Array): Hex
  /** Answers per tree at most (default 256: proofs of at most 8 hashes); a full batch is signed at once. */
  maxBatch?: number
  /** Called with the size of every batch signed (metrics). */
  onBatch?(size: number): void
}

interface Waiting {
  answer: AnswerMessage
  resolve(signed: SignedAnswer): void
  reject(error: unknown): void
}

const DEFAULT_MAX_BATCH = 256

export class AnswerSigner {
  private queue: Waiting[] = []
  private scheduled = false
  private readonly maxBatch: number

  constructor(private readonly options: AnswerSignerOptions) {
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH
    if (!Number.isSafeInteger(this.maxBatch) || this.maxBatch < 1)
      throw new RangeError(`maxBatch must be a positive integer, got ${this.maxBatch}`)
  }

  /** Signs `answer` with the others of this event-loop turn. */
  sign(answer: AnswerMessage): Promise<SignedAnswer> {
    return new Promise((resolve, reject) => {
      this.queue.push({ answer, resolve, reject })
      if (this.queue.length >= this.maxBatch) this.flush()
      else if (!this.scheduled) {
        this.scheduled = true
        setImmediate(this.onTurnEnd)
      }
    })
  }

  private readonly onTurnEnd = (): void => {
    this.scheduled = false
    this.flush()
  }

  private flush(): void {
    const batch = this.queue
    if (batch.length === 0) return
    this.queue = []
    try {
      this.options.onBatch?.(batch.length)
      const [only] = batch
      if (batch.length === 1 && only) {
        only.resolve({ signature: this.options.signAnswer(only.answer) })
        return
      }
      const { root, proofs } = merkleTree(batch.map((w) => hashAnswerStruct(w.answer)))
      const signature = this.options.signAnswerBatch(root)
      batch.forEach((waiting, i) => {
        waiting.resolve({ signature, proof: (proofs[i] ?? []).map((node) => bytesToHex(node)) })
      })
    } catch (error) {
      for (const waiting of batch) waiting.reject(error)
    }
  }
}
