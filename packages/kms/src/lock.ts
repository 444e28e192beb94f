import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { KmsError } from './errors.js'

/**
 * An exclusive, process-scoped lock on the KMS data dir: a file holding the owner's pid, created with
 * `wx`. A lock left behind by a process that no longer exists is taken over. Two KMS processes on one
 * data dir would each believe they own the master secret's files; this makes the second one refuse.
 */
export class DataDirLock {
  /** Locks held by this process: its own pid in a lock file is not proof the lock is stale. */
  private static readonly held = new Set<string>()

  private constructor(private readonly path: string) {}

  static acquire(path: string): DataDirLock {
    if (DataDirLock.held.has(path)) {
      throw new KmsError('DATA_DIR_IN_USE', 'the KMS data dir is already in use by this process', {
        details: `lock file ${path}`,
        hint: 'stop the other KmsService first, or give this one another data dir',
      })
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 })
        DataDirLock.held.add(path)
        return new DataDirLock(path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const holder = Number(readFileSafe(path))
        if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
          throw new KmsError('DATA_DIR_IN_USE', `the KMS data dir is already in use by process ${holder}`, {
            details: `lock file ${path}`,
            hint: `stop the other KMS (kill ${holder}) before starting this one; one master secret is served by one process`,
          })
        }
        rmSync(path, { force: true }) // stale: its owner is gone
      }
    }
    throw new KmsError('DATA_DIR_IN_USE', 'could not lock the KMS data dir', { details: `lock file ${path}` })
  }

  /** Idempotent. */
  release(): void {
    if (!DataDirLock.held.delete(this.path)) return
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
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
