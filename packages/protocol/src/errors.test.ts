import { describe, expect, it } from 'vitest'
import { UsageError, VeilError, walkCauses } from './errors.js'

describe('VeilError', () => {
  it('renders message, details and fix', () => {
    const e = new VeilError('port 8545 is taken', {
      code: 'PORT_IN_USE',
      details: 'EADDRINUSE',
      hint: 'use --port',
    })
    expect(e.message).toBe('port 8545 is taken\n\nDetails: EADDRINUSE\nFix: use --port')
    expect(e.toJSON()).toEqual({
      code: 'PORT_IN_USE',
      message: 'port 8545 is taken',
      details: 'EADDRINUSE',
      hint: 'use --port',
    })
  })

  it('walks causes to the root', () => {
    const root = new Error('root')
    const mid = new VeilError('mid', { cause: root })
    const top = new VeilError('top', { cause: mid })
    expect(top.walk()).toBe(root)
    expect(top.walk((e) => e instanceof VeilError && e.shortMessage === 'mid')).toBe(mid)
    expect(walkCauses(top, () => false)).toBeUndefined()
  })

  it('marks usage errors', () => {
    expect(new UsageError('bad flag').code).toBe('USAGE')
  })
})
