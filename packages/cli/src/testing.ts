import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { CliIO } from './command.js'
import { main } from './main.js'

export const VEIL_BIN = fileURLToPath(new URL('../bin/veil.js', import.meta.url))

/** Runs `veil` in-process with captured output. */
export async function runCli(
  argv: string[],
  options: { cwd?: string; env?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIO = {
    out: (t) => {
      stdout += `${t}\n`
    },
    err: (t) => {
      stderr += `${t}\n`
    },
    isTTY: false,
    env: { ...options.env },
    cwd: options.cwd ?? process.cwd(),
  }
  const code = await main(argv, io, options.signal ?? new AbortController().signal)
  return { code, stdout, stderr }
}

/** A `veil` child process with its output collected, for commands that run until signalled. */
export interface VeilProcess {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves when `predicate` matches the output so far (stdout + stderr), or rejects on exit/timeout. */
  waitFor(predicate: RegExp, timeoutMs?: number): Promise<void>
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>
}

export function spawnVeil(
  argv: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): VeilProcess {
  const child = spawn(process.execPath, [VEIL_BIN, ...argv], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  const listeners = new Set<() => void>()
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
    for (const l of listeners) l()
  })
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
    for (const l of listeners) l()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate.test(out + err)) {
            done()
            resolve()
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`timed out waiting for ${predicate}; output:\n${out}${err}`))
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          listeners.delete(check)
        }
        listeners.add(check)
        void exited.then((code) => {
          if (!predicate.test(out + err)) {
            done()
            reject(new Error(`veil exited (${code}) before ${predicate}; output:\n${out}${err}`))
          }
        })
        check()
      })
    },
  }
}
