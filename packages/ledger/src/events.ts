import { type Log, parseEventLogs } from 'viem'
import { Billing, Commands, Contracts, Registry } from './artifacts/index.js'

/**
 * Every ledger ABI item in one list, for decoding logs from any of the three ledger contracts and from
 * Billing, whose balance and price events workers replay in ledger order like commands.
 */
export const ledgerAbi = [...Registry.abi, ...Contracts.abi, ...Commands.abi, ...Billing.abi] as const

/**
 * Decodes raw logs from the ledger contracts into typed events (`eventName` + `args`), in the order
 * given. Logs from other contracts or with unknown topics are skipped.
 */
export function decodeLedgerLogs(logs: Log[]) {
  return parseEventLogs({ abi: ledgerAbi, logs })
}

export type LedgerEvent = ReturnType<typeof decodeLedgerLogs>[number]
export type LedgerEventName = LedgerEvent['eventName']
