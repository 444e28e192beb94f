import { describe, expect, it } from 'vitest'
import { BlockWriterClosedError, StateStoreError } from './errors.js'
import { stateRecordKey } from './layout.js'
import { LtHash } from './lthash.js'
import { type ContractStateKeys, deriveContractStateKeys, hashStateKey } from './sealing.js'
import { chainHeader, testSecrets } from './testing.js'
import { BlockWriter, type BlockWriteSet, type WriterHost } from './writer.js'

function fakeHost(commit: (writeSet: BlockWriteSet) => void): WriterHost & { released: number } {
  const secrets = testSecrets()
  const host = {
    released: 0,
    keysFor: (contractId: string) => deriveContractStateKeys(contractId, secrets.contractSecret(contractId)),
    committedState: (keys: ContractStateKeys, name: string) => {
      const hkey = hashStateKey(keys, Buffer.from(name))
      return {
        hkey,
        recordKey: stateRecordKey(keys.contractId, hkey),
        raw: undefined,
        value: undefined,
        element: undefined,
      }
    },
    readRaw: () => undefined,
    commitBlock: commit,
    release: () => {
      host.released++
    },
  }
  return host
}

describe('BlockWriter', () => {
  it('hands the store only net changes, sealed, with their previous raw bytes', () => {
    let seen: BlockWriteSet | undefined
    const host = fakeHost((writeSet) => {
      seen = writeSet
    })
    const writer = new BlockWriter(host, chainHeader(1n), LtHash.empty())
    writer.set('1', 'a', '1')
    writer.set('1', 'b', '2')
    writer.delete('1', 'b') // inserted then deleted: no change at all
    writer.putPlain('code', 'x', Uint8Array.of(1))
    writer.get('1', 'only-read')
    writer.commit()
    expect(seen?.changes).toHaveLength(2)
    expect(seen?.changes.every((change) => change.previous === undefined && change.raw !== undefined)).toBe(
      true,
    )
    expect(host.released).toBe(1)
  })

  it('a failed commit leaves the writer failed and reports STATE_COMMIT_FAILED with the cause', () => {
    const host = fakeHost(() => {
      throw new Error('disk full')
    })
    const writer = new BlockWriter(host, chainHeader(9n), LtHash.empty())
    writer.set('1', 'a', '1')
    let error: unknown
    try {
      writer.commit()
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(StateStoreError)
    expect((error as StateStoreError).code).toBe('STATE_COMMIT_FAILED')
    expect((error as StateStoreError).message).toContain('disk full')
    expect((error as StateStoreError).walk()).toBeInstanceOf(Error)
    expect(writer.status).toBe('failed')
    expect(host.released).toBe(1)
    expect(() => writer.get('1', 'a')).toThrow(BlockWriterClosedError)
    writer.abort() // harmless
    expect(host.released).toBe(1)
  })
})
