/**
 * An exclusive, process-scoped lock on a data dir (Node only, `@veil/protocol/dir-lock`): a file holding
 * the owner's pid, created with `wx` and mode 0600. A lock left behind by a process that no longer
 * exists is taken over. The KMS and the devnet use it so that a second process on the same dir refuses
 * to start instead of sharing its files.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { VeilError } from './errors.js'

/** How a refusal reads: what the dir is, the error code, and how to get out of it. */
export interface DirLockOwner {
  /** What is locked, for messages: "the KMS data dir". */
  what: string
  /** The error code of a refusal (default `DIR_IN_USE`). */
  code?: string
  /** The fix when this very process holds the lock already. */
  heldHereHint: string
  /** The fix when another live process holds it. */
  heldByHint: (pid: number) => string
}

export class DirLock {
  /** Locks held by this process: its own pid in a lock file is not proof the lock is stale. */
  private static readonly held = new Set<string>()

  private constructor(private readonly path: string) {}

  static acquire(path: string, owner: DirLockOwner): DirLock {
    const refuse = (message: string, hint?: string) =>
      new VeilError(message, {
        code: owner.code ?? 'DIR_IN_USE',
        details: `lock file ${path}`,
        ...(hint ? { hint } : {}),
      })
    if (DirLock.held.has(path))
      throw refuse(`${owner.what} is already in use by this process`, owner.heldHereHint)
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 })
        DirLock.held.add(path)
        return new DirLock(path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const holder = Number(readFileSafe(path))
        if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
          throw refuse(`${owner.what} is already in use by process ${holder}`, owner.heldByHint(holder))
        }
        rmSync(path, { force: true }) // stale: its owner is gone
      }
    }
    throw refuse(`could not lock ${owner.what}`)
  }

  /** Idempotent. */
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
