export { type CliIO, type Command, type CommandContext, ExitCode, type OptionSpec } from './command.js'
export { commands } from './commands/index.js'
export { commandHelp, main, rootHelp } from './main.js'
