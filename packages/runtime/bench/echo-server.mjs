// Baseline for the query bench: a plain, unencrypted hono echo on @hono/node-server, in its own process.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const app = new Hono()
app.post('/echo', async (c) => c.json(await c.req.json()))
// This process's CPU time, read by the bench client before and after its timed window.
app.get('/cpu', (c) => c.json(process.cpuUsage()))
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  process.stdout.write(`${JSON.stringify({ port: info.port })}\n`)
})
