import { parseArgs } from 'node:util'
import { createTextLogger, UsageError } from '@veil/protocol'
import { type CliIO, type Command, type CommandContext, ExitCode, type OptionSpec } from './command.js'
import { commands } from './commands/index.js'
import { columns, printError } from './output.js'
import { version } from './version.js'

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'show help for the command' },
  json: { type: 'boolean', description: 'print machine-readable JSON on stdout' },
}

/** Finds the command whose name matches the longest prefix of `words`. */
function findCommand(words: string[]): { command: Command; rest: string[] } | undefined {
  let best: { command: Command; rest: string[] } | undefined
  for (const command of commands) {
    const n = command.name.length
    if (words.length >= n && command.name.every((w, i) => words[i] === w)) {
      if (!best || n > best.command.name.length) best = { command, rest: words.slice(n) }
    }
  }
  return best
}

export function commandHelp(command: Command): string {
  const name = `veil ${command.name.join(' ')}`
  const options = {
    ...command.options,
    ...(command.json ? { json: GLOBAL_OPTIONS.json } : {}),
    help: GLOBAL_OPTIONS.help,
  }
  const lines = [command.summary, '', `Usage: ${name}${command.args ? ` ${command.args}` : ''} [options]`]
  if (command.description) lines.push('', command.description)
  lines.push(
    '',
    'Options:',
    columns(
      Object.entries(options).map(([key, spec]) => {
        if (!spec) return ['', '']
        const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${key}${spec.valueName ? ` ${spec.valueName}` : ''}`
        const def =
          spec.default !== undefined && spec.default !== false ? ` (default: ${String(spec.default)})` : ''
        return [flag, `${spec.description}${def}`]
      }),
    ),
  )
  if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`))
  return lines.join('\n')
}

export function rootHelp(): string {
  return [
    `veil ${version}: a decentralized confidential cloud. Fat contracts in TypeScript, run by attested workers.`,
    '',
    'Usage: veil <command> [options]',
    '',
    'Commands:',
    columns(commands.map((c) => [`${c.name.join(' ')}${c.args ? ` ${c.args}` : ''}`, c.summary])),
    '',
    'Options:',
    columns([
      ['-h, --help', 'show help (also `veil <command> --help`)'],
      ['-V, --version', 'print the version'],
    ]),
    '',
    'Exit codes: 0 success, 1 failure, 2 bad usage.',
  ].join('\n')
}

/**
 * Runs one `veil` invocation and returns its exit code. Never calls `process.exit`: `bin/veil.js` owns
 * the process, its signals and its exit.
 */
export async function main(argv: string[], io: CliIO, signal: AbortSignal): Promise<number> {
  const first = argv[0]
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? findCommand(argv.slice(1)) : undefined
    io.out(topic ? commandHelp(topic.command) : rootHelp())
    return ExitCode.ok
  }
  if (first === '--version' || first === '-V') {
    io.out(version)
    return ExitCode.ok
  }
  const wantsJson = argv.includes('--json')
  const found = findCommand(argv)
  if (!found) {
    const unknown = argv.filter((a) => !a.startsWith('-')).join(' ')
    printError(
      io,
      new UsageError(`unknown command "${unknown || argv.join(' ')}"`, {
        hint: 'run `veil --help` to list the commands',
      }),
      wantsJson,
    )
    return ExitCode.usage
  }
  const { command, rest } = found
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...toParseOptions(command.options), ...toParseOptions(GLOBAL_OPTIONS) },
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    const name = command.name.join(' ')
    printError(
      io,
      new UsageError((error as Error).message.split('\n')[0] ?? 'invalid arguments', {
        hint: `run \`veil ${name} --help\` for the options`,
      }),
      wantsJson,
    )
    return ExitCode.usage
  }
  if (parsed.values.help) {
    io.out(commandHelp(command))
    return ExitCode.ok
  }
  const ctx: CommandContext = {
    io,
    options: parsed.values as CommandContext['options'],
    positionals: parsed.positionals,
    signal,
    logger: createTextLogger({ write: (line) => io.err(line.replace(/\n$/, '')), level: 'warn' }),
  }
  try {
    return await command.run(ctx)
  } catch (error) {
    printError(io, error, Boolean(parsed.values.json))
    return error instanceof UsageError ? ExitCode.usage : ExitCode.failure
  }
}

function toParseOptions(options: Record<string, OptionSpec>) {
  const out: Record<
    string,
    { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean }
  > = {}
  for (const [key, spec] of Object.entries(options)) {
    out[key] = {
      type: spec.type,
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
      ...(spec.default !== undefined ? { default: spec.default } : {}),
    }
  }
  return out
}
