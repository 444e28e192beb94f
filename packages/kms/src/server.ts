import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { VeilError } from '@veil/protocol'
import type { Hono } from 'hono'

export interface HttpServer {
  url: string
  port: number
  close(): Promise<void>
}

/** Serves a hono app on `host:port` (0 picks a free port); resolves once it is listening. */
export function startHttpServer(app: Hono, options: { host: string; port: number }): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, hostname: options.host, port: options.port },
      (info: AddressInfo) => {
        const host = options.host.includes(':') ? `[${options.host}]` : options.host
        resolve({
          url: `http://${host}:${info.port}`,
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              // Idle keep-alive sockets would hold close() open; end them.
              ;(server as Server).closeAllConnections()
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
