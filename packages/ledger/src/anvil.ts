import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { type Logger, silentLogger, VeilError } from '@veil/protocol'

const require = createRequire(import.meta.url)

export interface AnvilOptions {
  /** Interface to bind; only loopback makes sense for a development chain. */
  host?: string
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number
  chainId?: number
  /** File to load the chain from and dump it to (`--state`); omit for an in-memory chain. */
  statePath?: string
  /** Seconds between periodic state dumps, so a hard kill loses at most this much. */
  stateIntervalSeconds?: number
  /** Seconds between blocks; omit for automine (a block per transaction). */
  blockTimeSeconds?: number
  hardfork?: string
  /** How long to wait for the node to answer JSON-RPC. */
  startTimeoutMs?: number
  /** Path of the anvil binary; defaults to `VEIL_ANVIL` or the one shipped by `@foundry-rs/anvil`. */
  binary?: string
  /** Start anvil in its own process group, so a Ctrl-C in the terminal reaches only our shutdown logic. */
  detached?: boolean
  logger?: Logger
}

export interface AnvilInstance {
  readonly rpcUrl: string
  readonly wsUrl: string
  readonly port: number
  readonly pid: number
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string | null>
  /** Stops anvil with SIGTERM (so `--state` is written), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>
}

const PLATFORM_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' }

/** Finds the anvil binary shipped in the platform package of `@foundry-rs/anvil`. */
export function resolveAnvilBinary(): string {
  const fromEnv = process.env.VEIL_ANVIL
  if (fromEnv) {
    if (!existsSync(fromEnv)) {
      throw new VeilError(`VEIL_ANVIL points to ${fromEnv}, which does not exist`, {
        code: 'ANVIL_NOT_FOUND',
        hint: 'unset VEIL_ANVIL to use the anvil installed by npm, or point it at an anvil binary',
      })
    }
    return fromEnv
  }
  const arch = PLATFORM_ARCH[process.arch]
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil'
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch ?? process.arch}`
  try {
    const path = join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', exe)
    if (existsSync(path)) return path
  } catch {
    // fall through to the error below
  }
  throw new VeilError(`the anvil binary for ${process.platform}-${process.arch} is not installed`, {
    code: 'ANVIL_NOT_FOUND',
    details: `expected the npm package ${pkg} (an optional dependency of @foundry-rs/anvil)`,
    hint: 'run `npm install` again; on an unsupported platform install Foundry and set VEIL_ANVIL=/path/to/anvil',
  })
}

/**
 * Starts anvil on loopback and resolves once it answers JSON-RPC.
 *
 * @example
 * const anvil = await startAnvil({ statePath: '.veil/anvil-state.json' })
 * // ... use anvil.rpcUrl
 * await anvil.stop()
 */
export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilInstance> {
  const log = (options.logger ?? silentLogger).forComponent('veil:ledger:anvil')
  const host = options.host ?? '127.0.0.1'
  const binary = options.binary ?? resolveAnvilBinary()
  const args = ['--host', host, '--port', String(options.port ?? 0)]
  if (options.chainId !== undefined) args.push('--chain-id', String(options.chainId))
  if (options.hardfork) args.push('--hardfork', options.hardfork)
  if (options.blockTimeSeconds !== undefined) args.push('--block-time', String(options.blockTimeSeconds))
  if (options.statePath) {
    args.push('--state', options.statePath, '--state-interval', String(options.stateIntervalSeconds ?? 1))
  }

  const child = spawn(binary, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  })
  let spawnError: Error | undefined
  const exited = new Promise<number | string | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal))
    // A binary that cannot be executed emits 'error' and never 'exit'.
    child.once('error', (error) => {
      spawnError = error
      resolve(null)
    })
  })
  let output = ''
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8192)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)

  try {
    const port = await waitForListening(
      child,
      exited,
      () => output,
      options.startTimeoutMs ?? 15_000,
      binary,
      () => spawnError,
      options.port ?? 0,
    )
    const rpcUrl = `http://${host}:${port}`
    await waitForRpc(rpcUrl, exited, () => output, options.startTimeoutMs ?? 15_000)
    // Keep draining the pipes so a chatty anvil never blocks on a full buffer.
    child.stdout?.resume()
    child.stderr?.resume()
    log.info('anvil ready', { rpcUrl, pid: child.pid })
    const pid = child.pid ?? -1
    return {
      rpcUrl,
      wsUrl: `ws://${host}:${port}`,
      port,
      pid,
      exited,
      stop: (graceMs = 4_000) => stopChild(child, exited, graceMs),
    }
  } catch (error) {
    await stopChild(child, exited, 1_000)
    throw error
  }
}

function waitForListening(
  child: ChildProcess,
  exited: Promise<number | string | null>,
  output: () => string,
  timeoutMs: number,
  binary: string,
  spawnError: () => Error | undefined,
  requestedPort: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(
        new VeilError(`anvil did not start listening within ${timeoutMs} ms`, {
          code: 'ANVIL_START_FAILED',
          metaMessages: tail(output()),
          hint: 'check the output above; a corrupt state file can be discarded with `veil dev --reset`',
        }),
      )
    }, timeoutMs)
    const onData = () => {
      const match = /Listening on [^\s:]+:(\d+)/.exec(output())
      if (match) {
        cleanup()
        resolve(Number(match[1]))
      }
    }
    const cleanup = () => {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
    }
    child.stdout?.on('data', onData)
    void exited.then((code) => {
      cleanup()
      const failed = spawnError()
      reject(failed ? spawnFailure(binary, failed) : anvilExitError(code, output(), requestedPort))
    })
  })
}

async function waitForRpc(
  rpcUrl: string,
  exited: Promise<number | string | null>,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  let dead: number | string | null | undefined
  void exited.then((code) => {
    dead = code
  })
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (dead !== undefined) throw anvilExitError(dead, output(), 0)
    try {
      const response = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        signal: AbortSignal.timeout(1_000),
      })
      if (response.ok) return
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new VeilError(`anvil at ${rpcUrl} did not answer within ${timeoutMs} ms`, {
    code: 'ANVIL_START_FAILED',
    metaMessages: tail(output()),
  })
}

function anvilExitError(code: number | string | null, output: string, port: number): VeilError {
  const inUse = /address already in use|Address in use|os error 98/i.test(output)
  if (inUse) {
    return new VeilError(`port ${port} on 127.0.0.1 is already in use`, {
      code: 'PORT_IN_USE',
      details: 'anvil could not bind its JSON-RPC port',
      hint: 'stop whatever uses the port (another `veil dev`?), or choose another with --port (0 picks a free one)',
    })
  }
  return new VeilError(`anvil exited during start-up (${code})`, {
    code: 'ANVIL_START_FAILED',
    metaMessages: tail(output),
    hint: 'if the chain state file is corrupt, start from scratch with `veil dev --reset`',
  })
}

function spawnFailure(binary: string, error: Error): VeilError {
  return new VeilError(`cannot run anvil at ${binary}`, {
    code: 'ANVIL_NOT_FOUND',
    details: error.message,
    hint: 'run `npm install` again, or set VEIL_ANVIL to a working anvil binary',
    cause: error,
  })
}

function tail(output: string): string[] {
  return output
    .trim()
    .split('\n')
    .slice(-8)
    .map((line) => `anvil: ${line}`)
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
