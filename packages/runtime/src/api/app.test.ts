import { describe, expect, it } from 'vitest'
import { createWorkerApp, type WorkerHealth, type WorkerInfo } from './app.js'

const info: WorkerInfo = {
  version: '0.1.0',
  address: '0x0000000000000000000000000000000000000001',
  x25519: `0x${'11'.repeat(32)}`,
  measurement: `0x${'22'.repeat(32)}`,
  tee: 'simulated',
  quote: null,
  cluster: '1',
  chain: { block: '7', hash: `0x${'33'.repeat(32)}` },
  stateDigest: `0x${'44'.repeat(32)}`,
}

describe('worker API', () => {
  it('serves /v1/info', async () => {
    const app = createWorkerApp({ info: () => info, health: () => ({ phase: 'following', lagBlocks: 0 }) })
    const response = await app.request('/v1/info')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual(info)
  })

  it.each<[WorkerHealth, number]>([
    [{ phase: 'following', lagBlocks: 2 }, 200],
    [{ phase: 'registering' }, 503],
    [{ phase: 'failed', error: { code: 'REWIND_TOO_DEEP', message: 'x' } }, 503],
  ])('answers /healthz %o with %i', async (health, status) => {
    const app = createWorkerApp({ info: () => info, health: () => health })
    const response = await app.request('/healthz')
    expect(response.status).toBe(status)
    expect(await response.json()).toEqual({ ok: status === 200, ...health })
  })

  it('answers unknown routes with a JSON 404', async () => {
    const app = createWorkerApp({ info: () => info, health: () => ({ phase: 'starting' }) })
    const response = await app.request('/v2/nope')
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
  })

  it('never leaks internal errors', async () => {
    const app = createWorkerApp({
      info: () => {
        throw new Error('secret detail')
      },
      health: () => ({ phase: 'starting' }),
    })
    const response = await app.request('/v1/info')
    expect(response.status).toBe(500)
    expect(await response.text()).not.toContain('secret detail')
  })
})
