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

/** Fans committed contract events out to subscribers, per contract. A slow listener never blocks others. */
export class EventHub {
  private readonly listeners = new Map<string, Set<Listener>>()

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
