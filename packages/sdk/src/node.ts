/**
 * The Node entry of @veil/sdk: the same API as the browser entry, with `ws` as the WebSocket for event
 * subscriptions (Node 20 has no global WebSocket) and HPKE on node:crypto (≈10× faster than WebCrypto).
 */
import { nodeHpke } from '@veil/crypto'
import WebSocket from 'ws'
import type { WebSocketConstructor } from './client/baseClient.js'
import {
  type CreateClientParameters,
  createClient as createUniversalClient,
  type VeilClient,
} from './client/createClient.js'

export * from './index.js'

/**
 * Creates a Veil client (see the browser entry's `createClient`), with `ws` and node:crypto HPKE.
 *
 * @example
 * const client = createClient({ network: JSON.parse(readFileSync('.veil/network.json', 'utf8')), account: key })
 */
export function createClient(params: CreateClientParameters): VeilClient {
  return createUniversalClient({ WebSocket: WebSocket as WebSocketConstructor, hpke: nodeHpke, ...params })
}
