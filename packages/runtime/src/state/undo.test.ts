import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { StateIntegrityError } from './errors.js'
import { TableId } from './layout.js'
import { LTHASH_BYTES } from './lthash.js'
import { hashOf } from './testing.js'
import { decodeUndoRecord, encodeUndoRecord, type UndoRecord } from './undo.js'

const record: fc.Arbitrary<UndoRecord> = fc.record({
  previousCursor: fc.option(
    fc.record({ number: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), hash: fc.string().map(hashOf) }),
    { nil: undefined },
  ),
  previousLattice: fc.uint8Array({ minLength: LTHASH_BYTES, maxLength: LTHASH_BYTES }),
  entries: fc.array(
    fc.record({
      table: fc.constantFrom(TableId.state, TableId.plain, TableId.receipts),
      key: fc.uint8Array({ maxLength: 80 }),
      previous: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: undefined }),
    }),
    { maxLength: 10 },
  ),
})

describe('undo records', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(record, (r) => {
        expect(decodeUndoRecord(encodeUndoRecord(r))).toEqual(r)
      }),
    )
  })

  it('reject truncated or padded bytes', () => {
    fc.assert(
      fc.property(record, fc.nat(), (r, cut) => {
        const bytes = encodeUndoRecord(r)
        const at = cut % bytes.length
        expect(() => decodeUndoRecord(bytes.subarray(0, at))).toThrow(StateIntegrityError)
        expect(() => decodeUndoRecord(Buffer.concat([bytes, Buffer.of(0)]))).toThrow(StateIntegrityError)
      }),
      { numRuns: 50 },
    )
  })
})
