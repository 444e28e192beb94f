/**
 * Read-your-writes: the block of the latest command this client saw executed, per contract. A query
 * answered at an earlier block (by a worker that has not executed that command yet) is asked again of
 * another worker, so a query after a command always sees it.
 */
const latest = new WeakMap<object, Map<bigint, bigint>>()

/** Records that `contractId`'s state as of `block` includes one of this client's commands. */
export function noteCommandBlock(client: object, contractId: bigint, block: bigint): void {
  let blocks = latest.get(client)
  if (!blocks) {
    blocks = new Map()
    latest.set(client, blocks)
  }
  if ((blocks.get(contractId) ?? -1n) < block) blocks.set(contractId, block)
}

/** The block a query of `contractId` must be answered at (or after), if this client sent commands. */
export function lastCommandBlock(client: object, contractId: bigint): bigint | undefined {
  return latest.get(client)?.get(contractId)
}
