import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { VeilError } from '@veil/protocol'
import { afterAll, describe, expect, it } from 'vitest'
import { startAnvil } from './anvil.js'

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  return ((await response.json()) as { result: unknown }).result
}

describe('startAnvil', () => {
  const dir = mkdtempSync(join(tmpdir(), 'veil-anvil-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('starts on a free loopback port, answers, and stops', async () => {
    const anvil = await startAnvil()
    expect(anvil.rpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(await rpc(anvil.rpcUrl, 'eth_chainId')).toBe('0x7a69')
    await anvil.stop()
    expect(await anvil.exited).not.toBeUndefined()
  })

  it('persists state across a SIGTERM restart', async () => {
    const statePath = join(dir, 'state.json')
    const first = await startAnvil({ statePath })
    await rpc(first.rpcUrl, 'evm_mine')
    await rpc(first.rpcUrl, 'evm_mine')
    const height = await rpc(first.rpcUrl, 'eth_blockNumber')
    expect(height).toBe('0x2')
    await first.stop()
    const second = await startAnvil({ statePath })
    expect(await rpc(second.rpcUrl, 'eth_blockNumber')).toBe(height)
    await second.stop()
  })

  it('reports a taken port with a fix', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      await startAnvil({ port })
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(VeilError)
      expect((error as VeilError).code).toBe('PORT_IN_USE')
      expect((error as VeilError).message).toContain(String(port))
      expect((error as VeilError).hint).toContain('--port')
    } finally {
      blocker.close()
    }
  })

  it('names a missing binary', async () => {
    await expect(startAnvil({ binary: join(dir, 'no-such-anvil') })).rejects.toMatchObject({
      code: 'ANVIL_NOT_FOUND',
    })
    process.env.VEIL_ANVIL = join(dir, 'missing')
    try {
      await expect(startAnvil()).rejects.toMatchObject({ code: 'ANVIL_NOT_FOUND' })
    } finally {
      delete process.env.VEIL_ANVIL
    }
  })
})
