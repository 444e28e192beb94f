import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { EventHub } from './events.js'

const EVENTS_PATH = /^\/v1\/contracts\/([1-9][0-9]{0,19})\/events$/
/** Messages queued for one slow subscriber before it is disconnected (so it cannot grow memory). */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024

/**
 * `GET /v1/contracts/:id/events` as a WebSocket: every event of the contract's successful commands, as
 * one JSON text message each, after its block commits. Unknown contracts are refused with 404.
 */
export function attachEventSockets(
  server: Server,
  hub: EventHub,
  knows: (contract: string) => boolean,
): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 })
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const match = EVENTS_PATH.exec(new URL(request.url ?? '/', 'http://worker').pathname)
    const contract = match?.[1]
    if (!contract || !knows(contract)) {
      socket.end(
        `HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ ok: false, error: { code: contract ? 'UNKNOWN_CONTRACT' : 'NOT_FOUND', message: 'no such event stream' } })}`,
      )
      return
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
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
