import { encodeAbiParameters, encodeEventTopics, type Hex, keccak256, type Log, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { Commands } from './artifacts/index.js'
import { decodeLedgerLogs, ledgerAbi } from './events.js'

const COMMANDS = '0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0'
const SENDER = '0x90F79bf6EB2c4f870365E785982E1f101E93b906'

function log(topics: [Hex, ...Hex[]], data: Hex, logIndex: number): Log {
  return {
    address: COMMANDS,
    blockHash: keccak256(toHex('block')),
    blockNumber: 7n,
    data,
    logIndex,
    transactionHash: keccak256(toHex('tx')),
    transactionIndex: 0,
    removed: false,
    topics,
  }
}

function commandLog(seq: bigint, payload: Hex, logIndex: number): Log {
  const [signature, ...indexed] = encodeEventTopics({
    abi: Commands.abi,
    eventName: 'Command',
    args: { contractId: 1n, seq, sender: SENDER },
  })
  const topics = indexed.filter((topic): topic is Hex => typeof topic === 'string')
  return log([signature, ...topics], encodeAbiParameters([{ type: 'bytes' }], [payload]), logIndex)
}

describe('decodeLedgerLogs', () => {
  it('decodes ledger events in the given order', () => {
    const events = decodeLedgerLogs([commandLog(1n, '0x01', 0), commandLog(2n, '0x0202', 1)])
    expect(events.map((e) => e.eventName)).toEqual(['Command', 'Command'])
    expect(events.map((e) => e.args)).toEqual([
      { contractId: 1n, seq: 1n, sender: SENDER, payload: '0x01' },
      { contractId: 1n, seq: 2n, sender: SENDER, payload: '0x0202' },
    ])
  })

  it('skips logs with unknown topics', () => {
    const foreign = log([keccak256(toHex('Transfer(address,address,uint256)'))], '0x', 1)
    const events = decodeLedgerLogs([foreign, commandLog(1n, '0xff', 2)])
    expect(events).toHaveLength(1)
    expect(events[0]?.logIndex).toBe(2)
  })

  it('covers the events of the three ledger contracts and Billing', () => {
    const names = ledgerAbi.flatMap((item) => (item.type === 'event' ? [item.name] : []))
    expect(names).toEqual(
      expect.arrayContaining([
        'WorkerRegistered',
        'CodeUploaded',
        'Command',
        'ContractKeysSet',
        'ContractFunded',
        'FuelPriceChanged',
        'UsageClaimed',
      ]),
    )
  })
})
