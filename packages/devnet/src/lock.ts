import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { VeilError } from '@veil/protocol'

/**
 * An exclusive, process-scoped lock on a data dir: a file holding the owner's pid. A lock left behind by
 * a process that no longer exists is taken over.
 */
export class DirLock {
  /** Locks held by this process: its own pid in a lock file is not proof the lock is stale. */
  private static readonly held = new Set<string>()

  private constructor(private readonly path: string) {}

  static acquire(path: string, what: string): DirLock {
    if (DirLock.held.has(path)) {
      throw new VeilError(`${what} is already in use by this process`, {
        code: 'DIR_IN_USE',
        details: `lock file ${path}`,
        hint: 'dispose the other LocalNetwork first, or use another data dir with --dir',
      })
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, String(process.pid), { flag: 'wx' })
        DirLock.held.add(path)
        return new DirLock(path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const holder = Number(readFileSafe(path))
        if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
          throw new VeilError(`${what} is already in use by process ${holder}`, {
            code: 'DIR_IN_USE',
            details: `lock file ${path}`,
            hint: `stop the other \`veil dev\` (kill ${holder}), or use another data dir with --dir`,
          })
        }
        rmSync(path, { force: true }) // stale: its owner is gone
      }
    }
    throw new VeilError(`could not lock ${what}`, { code: 'DIR_IN_USE', details: `lock file ${path}` })
  }

  release(): void {
    if (!DirLock.held.delete(this.path)) return
    if (readFileSafe(this.path) === String(process.pid)) rmSync(this.path, { force: true })
  }
}

function readFileSafe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return undefined
  }
}

/** Whether a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
