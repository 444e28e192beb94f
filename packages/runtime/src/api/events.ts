/** A contract event as subscribers receive it. `data` is tagged JSON (parse of `encodeValue`). */
export interface EventMessage {
  contract: string
  block: string
  txHash: `0x${string}`
  logIndex: number
  name: string
  data: unknown
}

type Listener = (event: EventMessage) => void

/** Recent events kept per contract for subscribers that resume (`recent`). */
export const RECENT_EVENTS_PER_CONTRACT = 1024

/**
 * Fans committed contract events out to subscribers, per contract. A slow listener never blocks others.
 * It also keeps each contract's most recent events, so a subscriber that reconnects (say, after its
 * worker stopped) can resume from a block instead of missing what was published meanwhile.
 */
export class EventHub {
  private readonly listeners = new Map<string, Set<Listener>>()
  private readonly recentEvents = new Map<string, EventMessage[]>()

  constructor(private readonly keep = RECENT_EVENTS_PER_CONTRACT) {}

  /** The kept events of `contract` from block `fromBlock` on, oldest first. */
  recent(contract: string, fromBlock: bigint): EventMessage[] {
    return (this.recentEvents.get(contract) ?? []).filter((event) => BigInt(event.block) >= fromBlock)
  }

  subscribe(contract: string, listener: Listener): () => void {
    let set = this.listeners.get(contract)
    if (!set) {
      set = new Set()
      this.listeners.set(contract, set)
    }
    set.add(listener)
    return () => {
      set?.delete(listener)
      if (set?.size === 0) this.listeners.delete(contract)
    }
  }

  publish(event: EventMessage): void {
    let kept = this.recentEvents.get(event.contract)
    if (!kept) {
      kept = []
      this.recentEvents.set(event.contract, kept)
    }
    kept.push(event)
    if (kept.length > this.keep) kept.splice(0, kept.length - this.keep)
    for (const listener of this.listeners.get(event.contract) ?? []) {
      try {
        listener(event)
      } catch {
        // A broken subscriber is its own problem.
      }
    }
  }

  get subscriberCount(): number {
    let n = 0
    for (const set of this.listeners.values()) n += set.size
    return n
  }
}
