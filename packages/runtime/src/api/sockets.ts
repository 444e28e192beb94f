import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { EventHub } from './events.js'

const EVENTS_PATH = /^\/v1\/contracts\/([1-9][0-9]{0,19})\/events$/
/** Messages queued for one slow subscriber before it is disconnected (so it cannot grow memory). */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024

/**
 * `GET /v1/contracts/:id/events[?fromBlock=n]` as a WebSocket: every event of the contract's successful
 * commands, as one JSON text message each, after its block commits. With `fromBlock`, the worker first
 * replays the events it still keeps from that block on (the last `RECENT_EVENTS_PER_CONTRACT`), then
 * goes on live, with no gap between the two (both happen in one turn of the event loop); a subscriber
 * resuming after a failover drops what it had already seen by position. Unknown contracts are refused
 * with 404, a malformed `fromBlock` with 400.
 */
export function attachEventSockets(
  server: Server,
  hub: EventHub,
  knows: (contract: string) => boolean,
): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 })
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://worker')
    const match = EVENTS_PATH.exec(url.pathname)
    const contract = match?.[1]
    const fromText = url.searchParams.get('fromBlock')
    if (fromText !== null && !/^\d{1,20}$/.test(fromText)) {
      socket.end(
        `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ ok: false, error: { code: 'BAD_REQUEST', message: 'fromBlock must be a block number' } })}`,
      )
      return
    }
    if (!contract || !knows(contract)) {
      socket.end(
        `HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ ok: false, error: { code: contract ? 'UNKNOWN_CONTRACT' : 'NOT_FOUND', message: 'no such event stream' } })}`,
      )
      return
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (fromText !== null)
        for (const event of hub.recent(contract, BigInt(fromText))) ws.send(JSON.stringify(event))
      const unsubscribe = hub.subscribe(contract, (event) => {
        if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
          ws.close(1013, 'subscriber too slow')
          return
        }
        ws.send(JSON.stringify(event))
      })
      ws.on('close', unsubscribe)
      ws.on('error', unsubscribe)
    })
  }
  server.on('upgrade', onUpgrade)
  return () => {
    server.off('upgrade', onUpgrade)
    for (const client of wss.clients) client.terminate()
    wss.close()
  }
}
