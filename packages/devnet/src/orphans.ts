import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { Logger } from '@veil/protocol'
import { isAlive } from '@veil/protocol/dir-lock'

/**
 * Remembers a child process's pid in a file, so that if this process is killed hard (SIGKILL) the next
 * start can stop the orphan, but only if its command line still names `marker` (our state file): a
 * recycled pid belonging to anything else is left alone.
 */
export async function stopOrphan(pidFile: string, marker: string, logger: Logger): Promise<void> {
  if (!existsSync(pidFile)) return
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  rmSync(pidFile, { force: true })
  if (!Number.isSafeInteger(pid) || pid <= 0 || !isAlive(pid)) return
  let cmdline = ''
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
  } catch {
    return // not Linux, or already gone: nothing we can safely identify
  }
  if (!cmdline.includes(marker)) return
  logger.warn('stopping a chain left running by a previous veil dev that was killed', { pid })
  process.kill(pid, 'SIGTERM') // anvil writes its state on SIGTERM
  const deadline = Date.now() + 5_000
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  if (isAlive(pid)) process.kill(pid, 'SIGKILL')
}

export function rememberPid(pidFile: string, pid: number): void {
  writeFileSync(pidFile, String(pid))
}
