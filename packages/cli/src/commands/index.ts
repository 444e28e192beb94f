import type { Command } from '../command.js'
import { attestVerifyCommand } from './attest.js'
import { buildCommand } from './build.js'
import { callCommand } from './call.js'
import { contractsCommand } from './contracts.js'
import { deployCommand } from './deploy.js'
import { devCommand } from './dev.js'
import { initCommand } from './init.js'
import { kmsStartCommand } from './kms.js'
import { logsCommand } from './logs.js'
import {
  contractBalanceCommand,
  contractFundCommand,
  poolAddWorkerCommand,
  poolClaimCommand,
  poolCreateCommand,
  poolStakeCommand,
  poolUnstakeCommand,
  poolWithdrawCommand,
  rewardsCommand,
  tokenBalanceCommand,
} from './mining.js'
import { queryCommand } from './query.js'
import { secretsDeleteCommand, secretsSetCommand } from './secrets.js'
import { workerStartCommand } from './worker.js'
import { workersCommand } from './workers.js'

/** Every `veil` command, registered in one place. */
export const commands: Command[] = [
  initCommand,
  devCommand,
  buildCommand,
  deployCommand,
  callCommand,
  queryCommand,
  logsCommand,
  secretsSetCommand,
  secretsDeleteCommand,
  contractsCommand,
  workersCommand,
  tokenBalanceCommand,
  poolCreateCommand,
  poolAddWorkerCommand,
  poolStakeCommand,
  poolUnstakeCommand,
  poolWithdrawCommand,
  poolClaimCommand,
  rewardsCommand,
  contractFundCommand,
  contractBalanceCommand,
  workerStartCommand,
  kmsStartCommand,
  attestVerifyCommand,
]
