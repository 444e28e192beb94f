import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { type NetworkFile, parseNetworkFile, VeilError } from '@veil/protocol'

/** Writes a file so that readers never see half of it: write a sibling, then rename over. */
export function writeFileAtomic(path: string, contents: string): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, contents)
  renameSync(tmp, path)
}

/**
 * Reads and validates a `network.json`. Every failure names the file and the fix: a missing file means
 * no network was started there; an unreadable one is best regenerated.
 */
export function readNetworkFile(path: string): NetworkFile {
  if (!existsSync(path)) {
    throw new VeilError(`no Veil network at ${path}`, {
      code: 'NETWORK_FILE_MISSING',
      hint: 'start a local network with `npm run dev` (or `veil dev`), or pass --network <file>',
    })
  }
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new VeilError(`cannot read ${path}`, {
      code: 'NETWORK_FILE_UNREADABLE',
      details: (error as Error).message,
      hint: 'check the file permissions, or start from scratch with `veil dev --reset`',
      cause: error,
    })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new VeilError(`${path} is not valid JSON`, {
      code: 'NETWORK_FILE_INVALID',
      details: (error as Error).message,
      hint: 'delete it and start from scratch with `veil dev --reset`',
      cause: error,
    })
  }
  return parseNetworkFile(parsed, path)
}
