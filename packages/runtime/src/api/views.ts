import { bytesToBase64url, type CommandReceipt, encodeValue } from '@veil/protocol'

/** A value in tagged JSON: `JSON.parse(encodeValue(v))`, so bigint and bytes survive JSON transport. */
export function tagged(value: unknown): unknown {
  return JSON.parse(encodeValue(value))
}

/**
 * A transaction's receipts as served by `GET /v1/receipts/:txHash` (docs/protocol.md). For a sealed
 * command only the sealed body is served: what it did, and whether it failed, is the sender's to read.
 */
export function receiptsView(txHash: string, receipts: CommandReceipt[]): unknown {
  return {
    v: 1,
    txHash,
    receipts: receipts.map((r) => ({
      logIndex: r.logIndex,
      kind: r.kind,
      contract: r.contractId,
      seq: String(r.seq),
      block: String(r.blockNumber),
      blockHash: r.blockHash,
      sender: r.sender,
      fuel: r.fuel,
      ...(r.charge === undefined ? {} : { charge: String(r.charge) }),
      stateDigest: r.stateDigest,
      events: tagged(r.events),
      ...(r.sealed
        ? { sealed: bytesToBase64url(r.sealed) }
        : { ok: r.ok, method: r.method, ...(r.ok ? { result: tagged(r.result) } : { error: r.error }) }),
    })),
  }
}
