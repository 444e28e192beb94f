/**
 * The prelude's Web APIs, checked inside the sandbox against Node's own implementations.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ContractEngine } from './engine.js'
import { bundle, call, resultOf } from './test-support.js'

describe('prelude Web APIs match Node', () => {
  let engine: ContractEngine
  beforeAll(async () => {
    engine = await ContractEngine.create(
      bundle(`{
        commands: {
          encode(ctx, texts) { const e = new TextEncoder(); return texts.map((t) => e.encode(t)) },
          decode(ctx, chunks) {
            return chunks.map((bytes) => {
              let fatal
              try { fatal = new TextDecoder('utf-8', { fatal: true }).decode(bytes) } catch (e) { fatal = null }
              return [new TextDecoder().decode(bytes), fatal]
            })
          },
          base64(ctx, texts) { return texts.map((t) => { const b = btoa(t); return [b, atob(b), atob(b.replace(/=+$/, ''))] }) },
        },
      }`),
      { limits: { command: { fuel: 2e9, deadlineMs: 60_000 } } },
    )
  })
  afterAll(() => engine.dispose())

  it('TextEncoder encodes like Node, lone surrogates included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 30 }),
        async (texts) => {
          const encoded = resultOf(await call(engine, 'command', 'encode', [texts])) as Uint8Array[]
          expect(encoded).toEqual(texts.map((t) => new TextEncoder().encode(t)))
        },
      ),
      { numRuns: 25 },
    )
  })

  it('TextDecoder decodes like Node, invalid sequences included', async () => {
    const interesting = fc.constantFrom(
      0x00,
      0x41,
      0x7f,
      0x80,
      0xbf,
      0xc0,
      0xc2,
      0xdf,
      0xe0,
      0xed,
      0xef,
      0xf0,
      0xf4,
      0xf5,
      0xff,
    )
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 24 }),
      fc.array(interesting, { maxLength: 12 }).map((a) => new Uint8Array(a)),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(bytes, { minLength: 1, maxLength: 30 }), async (chunks) => {
        const decoded = resultOf(await call(engine, 'command', 'decode', [chunks])) as [
          string,
          string | null,
        ][]
        const expected = chunks.map((c) => {
          let fatal: string | null
          try {
            fatal = new TextDecoder('utf-8', { fatal: true }).decode(c)
          } catch {
            fatal = null
          }
          return [new TextDecoder().decode(c), fatal]
        })
        expect(decoded).toEqual(expected)
      }),
      { numRuns: 40 },
    )
  })

  it('btoa and atob round-trip Latin-1 like Node', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) })),
        async (texts) => {
          const results = resultOf(await call(engine, 'command', 'base64', [texts])) as [
            string,
            string,
            string,
          ][]
          expect(results).toEqual(texts.map((t) => [btoa(t), t, t]))
        },
      ),
      { numRuns: 25 },
    )
  })
})
