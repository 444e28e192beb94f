import { fileURLToPath } from 'node:url'
import { createTestContract } from '@veil/contract/testing'
import { afterEach, describe, expect, it } from 'vitest'
import type Counter from './counter.js'

const file = fileURLToPath(new URL('./counter.ts', import.meta.url))

describe('counter', () => {
  let dispose: (() => void) | undefined
  afterEach(() => dispose?.())

  it('adds, emits and answers queries', async () => {
    const counter = await createTestContract<typeof Counter>(file)
    dispose = counter.dispose
    await counter.init({ start: 2 })
    expect(await counter.command.add(3)).toBe(5)
    expect(counter.last?.logs).toEqual([
      { level: 'info', message: '0x00000000000000000000000000000000000A11CE added 3: now 5' },
    ])
    expect(await counter.query.get()).toBe(5)
    expect(counter.events).toEqual([
      { name: 'added', data: { by: 3, n: 5, caller: '0x00000000000000000000000000000000000A11CE' } },
    ])
  })

  it('rejects a fractional amount and changes nothing', async () => {
    const counter = await createTestContract<typeof Counter>(file)
    dispose = counter.dispose
    await counter.init({ start: 1 })
    await expect(counter.command.add(0.5)).rejects.toThrow('add expects a whole number, got 0.5')
    expect(await counter.query.get()).toBe(1)
  })
})
