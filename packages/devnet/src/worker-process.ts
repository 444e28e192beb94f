import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { type Hex, VeilError } from '@veil/protocol'

/** How to run `veil` (so the devnet can start workers without importing the CLI). */
export interface VeilCommand {
  command: string
  args: string[]
}

/** `node <@veil/cli>/bin/veil.js`, resolved at run time. */
export function defaultVeilCommand(): VeilCommand {
  const require = createRequire(import.meta.url)
  return { command: process.execPath, args: [require.resolve('@veil/cli/bin/veil.js')] }
}

export interface WorkerProcess {
  index: number
  url: string
  address: Hex
  child: ChildProcess
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<number | string | null>
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

export interface SpawnWorkerOptions {
  index: number
  veil: VeilCommand
  networkPath: string
  dataDir: string
  /** Pays the worker identity's gas (a funded dev account). */
  operatorKey: Hex
  logLevel: 'debug' | 'info' | 'warn' | 'error'
  /** Each line the worker logs. */
  onLog: (line: string) => void
  startTimeoutMs?: number
  /** Extra environment for the worker (on top of this process's). */
  env?: Record<string, string>
  /** `--egress-allow` entries. */
  egressAllow?: readonly string[]
}

/** Starts `veil worker start` as a child process and resolves once it reports ready. */
export function spawnWorker(options: SpawnWorkerOptions): Promise<WorkerProcess> {
  const child = spawn(
    options.veil.command,
    [
      ...options.veil.args,
      'worker',
      'start',
      '--network',
      options.networkPath,
      '--data',
      options.dataDir,
      '--port',
      '0',
      '--json',
      '--exit-with-parent',
      '--log-level',
      options.logLevel,
      ...(options.egressAllow ?? []).flatMap((entry) => ['--egress-allow', entry]),
    ],
    {
      // stdin stays open as a lifeline: if this process dies, the worker sees EOF and stops.
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env, VEIL_OPERATOR_KEY: options.operatorKey },
    },
  )
  const exited = new Promise<number | string | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal))
    child.once('error', () => resolve(null))
  })
  let stderrTail: string[] = []
  let partial = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      stderrTail = [...stderrTail.slice(-15), line]
      options.onLog(line)
    }
  })
  const stop = async (graceMs = 4_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }

  return new Promise((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(() => {
      void stop(1_000)
      reject(
        new VeilError(
          `worker ${options.index} did not become ready within ${(options.startTimeoutMs ?? 60_000) / 1000} s`,
          {
            code: 'WORKER_START_FAILED',
            metaMessages: stderrTail.map((l) => `worker ${options.index}: ${l}`),
          },
        ),
      )
    }, options.startTimeoutMs ?? 60_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8')
      const line = stdout.split('\n').find((l) => l.includes('"event":"ready"'))
      if (!line) return
      clearTimeout(timer)
      const ready = JSON.parse(line) as { url: string; address: Hex }
      child.stdout?.resume()
      resolve({ index: options.index, url: ready.url, address: ready.address, child, exited, stop })
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(
        new VeilError(`worker ${options.index} exited during start-up (${code})`, {
          code: 'WORKER_START_FAILED',
          metaMessages: stderrTail.map((l) => `worker ${options.index}: ${l}`),
          hint: `its data is in ${options.dataDir}; \`veil dev --reset\` starts from scratch`,
        }),
      )
    })
  })
}
