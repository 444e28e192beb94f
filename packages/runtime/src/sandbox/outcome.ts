/**
 * Turns what a run observed into the typed outcome callers see. The precedence is fixed, so that the
 * same run always yields the same error:
 *
 *   limits (fuel, memory, deadline) > traps > host failures > rule violations > escaped exceptions
 *   > the guest's own report > "the handler never settled".
 */
import {
  ContractError,
  HostCallbackError,
  InvalidArgumentsError,
  InvalidResultError,
  OutOfFuelError,
  OutOfMemoryError,
  SandboxCrashError,
  type SandboxError,
  StackOverflowError,
  TimeoutError,
  UnknownMethodError,
} from './errors.js'
import { MeterAbort } from './fuel.js'
import type { GuestFailure } from './guest-protocol.js'
import type { RawRun } from './instance.js'
import type { StackMapper } from './source-map.js'
import type { InvokeOutcome } from './types.js'
import { canonicalValueProblem, utf8Length } from './value-check.js'

function isHostStackOverflow(trap: unknown): boolean {
  return trap instanceof RangeError && /call stack/i.test(trap.message)
}

/** QuickJS's own errors for exhausted memory and stack, as the guest sees them. */
function resourceError(name: string, message: string, memoryBytes: number): SandboxError | undefined {
  if (message === 'out of memory') return new OutOfMemoryError(memoryBytes)
  if (
    (name === 'InternalError' || name === 'RangeError') &&
    /^(stack overflow|Maximum call stack size exceeded)$/.test(message)
  ) {
    return new StackOverflowError(`QuickJS raised "${message}".`)
  }
  return undefined
}

function parseFailure(json: string): GuestFailure | undefined {
  try {
    const parsed: unknown = JSON.parse(json)
    if (parsed && typeof parsed === 'object' && 'type' in parsed) return parsed as GuestFailure
  } catch {
    // fall through
  }
  return undefined
}

export interface OutcomeContext {
  readonly kind: string
  readonly method: string
  readonly memoryBytes: number
  readonly fuelLimit: number
  readonly deadlineMs: number
  readonly maxResultBytes: number
  readonly mapper: StackMapper
}

function failureError(failure: GuestFailure, context: OutcomeContext): SandboxError {
  switch (failure.type) {
    case 'invalid-arguments':
      return new InvalidArgumentsError(failure.message)
    case 'invalid-result':
      return new InvalidResultError(failure.message)
    case 'unknown-method':
      return new UnknownMethodError(context.kind, context.method)
    case 'thrown':
      return (
        (failure.nonError ? undefined : resourceError(failure.name, failure.message, context.memoryBytes)) ??
        new ContractError({
          errorName: failure.name,
          errorMessage: failure.message,
          frames: context.mapper.frames(failure.stack),
          thrownNonError: failure.nonError,
        })
      )
  }
}

function failed(error: SandboxError, fuel: number): InvokeOutcome {
  return { ok: false, error, fuel }
}

/** Classifies one run. */
export function toOutcome(run: RawRun, context: OutcomeContext): InvokeOutcome {
  const { state, fuel } = run
  const stop = run.stopReason ?? (run.trap instanceof MeterAbort ? run.trap.reason : undefined)
  if (stop === 'fuel') return failed(new OutOfFuelError(context.fuelLimit), context.fuelLimit)
  if (stop === 'memory') return failed(new OutOfMemoryError(context.memoryBytes), fuel)
  if (stop === 'deadline') return failed(new TimeoutError(context.deadlineMs), fuel)
  if (run.trap !== undefined) {
    if (isHostStackOverflow(run.trap)) {
      return failed(
        new StackOverflowError('The contract nested calls or data deeper than the engine supports.'),
        fuel,
      )
    }
    const detail = run.trap instanceof Error ? `${run.trap.name}: ${run.trap.message}` : String(run.trap)
    return failed(new SandboxCrashError(detail, { cause: run.trap }), fuel)
  }
  if (state.hostFailure !== undefined) return failed(new HostCallbackError(state.hostFailure), fuel)
  if (state.violation) return failed(state.violation, fuel)
  if (run.escaped) {
    const { name, message } = run.escaped
    const error =
      resourceError(name, message, context.memoryBytes) ??
      new ContractError({ errorName: name, errorMessage: message, frames: [], thrownNonError: false })
    return failed(error, fuel)
  }
  const outcome = run.outcome
  if (!outcome) {
    return failed(
      new ContractError({
        errorName: 'Error',
        errorMessage: 'the handler returned a promise that never settled',
        frames: [],
        thrownNonError: false,
      }),
      fuel,
    )
  }
  if (!outcome.ok) {
    const failure = parseFailure(outcome.failureJson)
    return failed(
      failure ? failureError(failure, context) : new SandboxCrashError('unreadable failure report'),
      fuel,
    )
  }
  const bytes = utf8Length(outcome.resultText)
  if (bytes > context.maxResultBytes) {
    return failed(
      new InvalidResultError(`The encoded result is ${bytes} bytes, more than ${context.maxResultBytes}.`),
      fuel,
    )
  }
  const problem = canonicalValueProblem(outcome.resultText)
  if (problem)
    return failed(new InvalidResultError(`The result is not a valid value encoding: ${problem}.`), fuel)
  return { ok: true, resultText: outcome.resultText, fuel }
}
