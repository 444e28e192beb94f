/**
 * Maps QuickJS stack traces of the contract bundle back to the original TypeScript sources.
 *
 * QuickJS formats frames as `    at name (file:LINE:COL)` (1-based line and column) or
 * `    at name (native)`. Frames of the bundle are mapped through its source map; frames of the prelude
 * are the engine's own and are dropped.
 */
import { SourceMapConsumer } from 'source-map-js'

/** The filename the bundle is evaluated under; its frames are the ones to map. */
export const BUNDLE_FILENAME = 'contract.js'
/** The filename the prelude is evaluated under; its frames are hidden from contract authors. */
export const PRELUDE_FILENAME = 'veil:prelude'

const INLINE_MAP =
  /\/\/[#@][ \t]*sourceMappingURL=data:application\/json(?:;charset=[^;,]*)?;base64,([A-Za-z0-9+/=_-]+)\s*$/
const FRAME = /^\s*at (.*?) \((.*):(\d+):(\d+)\)\s*$/
const MAX_FRAMES = 32

/** Returns the JSON text of a trailing inline `sourceMappingURL` data URL, if the bundle has one. */
export function extractInlineSourceMap(code: string): string | undefined {
  const tail = code.slice(Math.max(0, code.lastIndexOf('//')))
  const match = INLINE_MAP.exec(tail)
  if (!match?.[1]) return undefined
  try {
    return Buffer.from(match[1], 'base64').toString('utf8')
  } catch {
    return undefined
  }
}

function tidySource(source: string): string {
  return source.replace(/^(?:\.\.?\/)+/, '').replace(/^webpack:\/\/\/?|^file:\/\//, '')
}

/** Turns raw QuickJS stacks into frames, mapping bundle positions when a source map is available. */
export class StackMapper {
  private consumer: SourceMapConsumer | null | undefined

  constructor(private readonly sourceMapJson: string | undefined) {}

  private getConsumer(): SourceMapConsumer | null {
    if (this.consumer === undefined) {
      try {
        this.consumer = this.sourceMapJson ? new SourceMapConsumer(JSON.parse(this.sourceMapJson)) : null
      } catch {
        // A broken map must not turn a contract error into an engine error; frames stay unmapped.
        this.consumer = null
      }
    }
    return this.consumer
  }

  private mapPosition(
    line: number,
    column: number,
  ): { source: string; line: number; column: number } | undefined {
    const consumer = this.getConsumer()
    if (!consumer) return undefined
    for (const bias of [SourceMapConsumer.GREATEST_LOWER_BOUND, SourceMapConsumer.LEAST_UPPER_BOUND]) {
      const original = consumer.originalPositionFor({ line, column: Math.max(0, column - 1), bias })
      if (original.source && original.line) {
        return { source: tidySource(original.source), line: original.line, column: original.column + 1 }
      }
    }
    return undefined
  }

  /**
   * Frames of `stack`, innermost first, without the engine's own: prelude frames, and the native frames
   * below the outermost contract frame (the dispatcher's `Reflect.apply`, promise machinery).
   */
  frames(stack: string): string[] {
    const out: string[] = []
    let lastContractFrame = -1
    for (const raw of stack.split('\n')) {
      if (out.length >= MAX_FRAMES) break
      const line = raw.trim()
      if (!line) continue
      const match = FRAME.exec(line)
      if (!match) {
        if (line.startsWith('at ') && !line.includes(PRELUDE_FILENAME)) out.push(line)
        continue
      }
      const [, name = '<anonymous>', file = '', lineText = '0', columnText = '0'] = match
      if (file === PRELUDE_FILENAME) continue
      const position =
        file === BUNDLE_FILENAME ? this.mapPosition(Number(lineText), Number(columnText)) : undefined
      if (file === BUNDLE_FILENAME) lastContractFrame = out.length
      out.push(
        position
          ? `at ${name} (${position.source}:${position.line}:${position.column})`
          : `at ${name} (${file}:${lineText}:${columnText})`,
      )
    }
    return lastContractFrame >= 0 ? out.slice(0, lastContractFrame + 1) : out
  }
}
