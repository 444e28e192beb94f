import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { VeilError } from '@veil/protocol'
import type { Hono } from 'hono'

export interface HttpServer {
  url: string
  port: number
  /** The Node server, e.g. to attach WebSocket routes. */
  server: Server
  close(): Promise<void>
}

/**
 * A handler that runs on the Node server before the hono app, for a hot route that would rather skip the
 * fetch `Request`/`Response` adaptation: returns true if it took the request, false to pass it on.
 */
export type NodeRoute = (req: IncomingMessage, res: ServerResponse) => boolean

/**
 * Serves a hono app on `host:port` (0 picks a free port), with `routes` tried first; resolves once it is
 * listening.
 */
export function startHttpServer(
  app: Hono,
  options: { host: string; port: number; routes?: readonly NodeRoute[] },
): Promise<HttpServer> {
  const routes = options.routes ?? []
  const withRoutes = (serverOptions: ServerOptions, listener: RequestListener): Server =>
    createServer(serverOptions, (req, res) => {
      for (const route of routes) if (route(req, res)) return
      listener(req, res)
    })
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: app.fetch,
        hostname: options.host,
        port: options.port,
        ...(routes.length > 0 ? { createServer: withRoutes as typeof createServer } : {}),
      },
      (info: AddressInfo) => {
        const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${info.port}`
        resolve({
          url,
          port: info.port,
          server: server as Server,
          close: () =>
            new Promise<void>((done) => {
              // Idle keep-alive sockets would hold close() open; end them.
              ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
              server.close(() => done())
            }),
        })
      },
    )
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new VeilError(`port ${options.port} on ${options.host} is already in use`, {
              code: 'PORT_IN_USE',
              hint: 'choose another with --port (0 picks a free one)',
            })
          : error,
      )
    })
  })
}
