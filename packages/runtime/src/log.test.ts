import { describe, expect, it } from 'vitest'
import { createLogger } from './log.js'

describe('createLogger', () => {
  it('writes pino JSON lines with the component', () => {
    const lines: string[] = []
    const log = createLogger({ format: 'json', write: (l) => lines.push(l) }).forComponent(
      'veil:runtime:follower',
    )
    log.info('block committed', { block: 5 })
    log.debug('hidden at info level')
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level: 30,
      msg: 'block committed',
      block: 5,
      component: 'veil:runtime:follower',
    })
  })

  it('writes readable text, filtered by level', () => {
    const lines: string[] = []
    const log = createLogger({
      level: 'warn',
      write: (l) => lines.push(l),
      base: { worker: 1 },
    }).forComponent('veil:runtime:worker')
    log.info('nope')
    log.warn('lagging', { blocks: 3n })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} warn {2}worker=1 \[runtime:worker\] lagging blocks=3\n$/)
  })
})
