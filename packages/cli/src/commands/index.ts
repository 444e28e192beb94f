import type { Command } from '../command.js'
import { buildCommand } from './build.js'
import { devCommand } from './dev.js'
import { workerStartCommand } from './worker.js'

/** Every `veil` command, registered in one place. */
export const commands: Command[] = [devCommand, buildCommand, workerStartCommand]
