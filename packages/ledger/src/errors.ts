import { VeilError, type VeilErrorOptions } from '@veil/protocol'
import { BaseError, ContractFunctionRevertedError } from 'viem'

/** A failure talking to, or reverted by, the ledger contracts. */
export class LedgerError extends VeilError {
  override name = 'LedgerError'
  /** The Solidity custom error's name when the ledger reverted, e.g. `NotKmsSigner`. */
  readonly errorName: string | undefined
  readonly errorArgs: readonly unknown[]

  constructor(
    shortMessage: string,
    options: VeilErrorOptions & { errorName?: string; errorArgs?: readonly unknown[] } = {},
  ) {
    super(shortMessage, options)
    this.errorName = options.errorName
    this.errorArgs = options.errorArgs ?? []
  }
}

/** What to do about each named revert of the ledger contracts. */
const HINTS: Record<string, string> = {
  OwnableUnauthorizedAccount: 'only the registry owner may do this; send it from the owner account',
  NotKmsSigner: 'only a KMS signer may do this; the registry owner adds signers with addKmsSigner',
  NotOwnerOrKmsSigner: 'only the registry owner or a KMS signer may revoke a worker',
  NotContractOwner: "only the contract's owner may do this; use the account that deployed it",
  CodeTooLarge: 'contract bundles are capped at 512 KiB; minify the bundle or trim dependencies',
  EmptyCode: 'upload a non-empty bundle (build it with `veil build`)',
  UnknownCode: 'upload the code first (`uploadCode`), then deploy or upgrade with its hash',
  UnknownCluster: 'deploy to an existing cluster (the devnet creates cluster 1)',
  UnknownContract: 'check the contract id (`veil contracts` lists them)',
  UnknownWorker: 'the worker is not registered',
  WorkerAlreadyRegistered: 'this identity is registered already; a worker registers once',
  WorkerIsRevoked: 'a revoked worker cannot be used again; register a new identity',
  WorkerInCluster: 'remove the worker from its current cluster first',
  MeasurementNotAllowed: 'the registry owner must allow this measurement (allowMeasurement) first',
  UpgradeNotReady: 'the upgrade delay has not passed yet; try again after readyAt',
  NoPendingUpgrade: 'schedule an upgrade first',
  PayloadTooLarge: 'command payloads are capped at 128 KiB',
  EmptyPayload: 'a command needs a payload',
  InvalidEndpoint: 'the endpoint must be a URL of 1 to 256 bytes',
  InvalidQuote: 'the quote must be 1 byte to 16 KiB',
  InvalidPublicKey: 'the X25519 public key must be 32 non-zero bytes',
  InvalidAddress: 'the address must not be the zero address',
  WorkerNotPending: 'only a pending worker can be approved; check its status with getWorker',
  NotClusterMember: 'the worker is not a member of that cluster',
  InitPayloadTooLarge: 'init payloads are capped at 128 KiB; pass large data through commands instead',
  UpgradeDelayTooLong: 'the upgrade delay can be at most 30 days',
  DevModeAlreadyDisabled: 'dev mode is already off, and it cannot be turned on again',
  RenounceDisabled: 'the registry cannot be left without an owner; transfer ownership instead',
  OwnableInvalidOwner: 'the new owner must not be the zero address',
}

/**
 * Turns a viem error from a ledger call into a `LedgerError` that names the reverting function and the
 * Solidity custom error, with a hint. Other errors are wrapped with their message.
 */
export function explainLedgerError(error: unknown, action = 'ledger call'): LedgerError {
  if (error instanceof LedgerError) return error
  if (error instanceof BaseError) {
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
    if (reverted instanceof ContractFunctionRevertedError) {
      const errorName = reverted.data?.errorName ?? reverted.reason ?? 'unknown'
      const errorArgs = reverted.data?.args ?? []
      const rendered = `${errorName}(${errorArgs.map(renderArg).join(', ')})`
      return new LedgerError(`${action} reverted: ${rendered}`, {
        code: 'LEDGER_REVERT',
        errorName,
        errorArgs,
        ...(HINTS[errorName] ? { hint: HINTS[errorName] } : {}),
        cause: error,
      })
    }
    return new LedgerError(`${action} failed: ${error.shortMessage}`, {
      code: 'LEDGER_CALL_FAILED',
      cause: error,
    })
  }
  return new LedgerError(`${action} failed: ${error instanceof Error ? error.message : String(error)}`, {
    code: 'LEDGER_CALL_FAILED',
    cause: error,
  })
}

function renderArg(arg: unknown): string {
  return typeof arg === 'bigint' ? arg.toString() : typeof arg === 'string' ? arg : JSON.stringify(arg)
}
