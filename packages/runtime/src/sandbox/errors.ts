import { VeilError, type VeilErrorOptions } from '@veil/protocol'

type SandboxErrorOptions = Omit<VeilErrorOptions, 'code'>

/**
 * Why an invocation failed. Every subclass carries a stable `code`; messages are deterministic for
 * commands (they only depend on the contract, its input and its limits) except `TimeoutError`, which
 * depends on the wall clock.
 */
export abstract class SandboxError extends VeilError {
  override name = 'SandboxError'
}

/** The invocation used up its fuel budget. */
export class OutOfFuelError extends SandboxError {
  override name = 'OutOfFuelError'
  constructor(readonly limit: number) {
    super('The contract ran out of fuel', {
      code: 'OUT_OF_FUEL',
      details: `The invocation used its whole budget of ${limit} fuel.`,
      hint: 'Do less work per call (paginate, precompute) or raise the fuel limit.',
    })
  }
}

/** QuickJS could not allocate within the memory limit. */
export class OutOfMemoryError extends SandboxError {
  override name = 'OutOfMemoryError'
  constructor(readonly limitBytes: number) {
    super('The contract ran out of memory', {
      code: 'OUT_OF_MEMORY',
      details: `The invocation exceeded its memory limit of ${limitBytes} bytes.`,
      hint: 'Keep less data in memory at once, or raise the memory limit.',
    })
  }
}

/** The wall-clock deadline passed. Not deterministic: fuel is meant to run out first. */
export class TimeoutError extends SandboxError {
  override name = 'TimeoutError'
  constructor(readonly deadlineMs: number) {
    super('The contract timed out', {
      code: 'TIMEOUT',
      details: `The invocation ran longer than ${deadlineMs} ms.`,
      hint: 'Do less work per call, or raise the deadline.',
    })
  }
}

/** The contract recursed past the stack limit. */
export class StackOverflowError extends SandboxError {
  override name = 'StackOverflowError'
  constructor(detail: string) {
    super('The contract overflowed its stack', {
      code: 'STACK_OVERFLOW',
      details: detail,
      hint: 'Replace deep recursion with a loop, or flatten deeply nested data.',
    })
  }
}

/** What a contract threw, with its stack mapped to the original sources when a source map is known. */
export interface ContractErrorInfo {
  /** `error.name` for Error objects, or a description of the thrown value's type. */
  readonly errorName: string
  readonly errorMessage: string
  /** Stack frames, innermost first, e.g. `at add (src/counter.ts:12:5)`. */
  readonly frames: readonly string[]
  /** True when the contract threw something that is not an Error (a string, a plain object, ...). */
  readonly thrownNonError: boolean
}

/** The contract threw (or its promise rejected). */
export class ContractError extends SandboxError implements ContractErrorInfo {
  override name = 'ContractError'
  readonly errorName: string
  readonly errorMessage: string
  readonly frames: readonly string[]
  readonly thrownNonError: boolean
  /** `frames` as one text, one frame per line (empty when the error carried no stack). */
  readonly mappedStack: string
  constructor(info: ContractErrorInfo, options: SandboxErrorOptions = {}) {
    super(`${info.errorName}: ${info.errorMessage}`, {
      ...options,
      code: 'CONTRACT_ERROR',
      metaMessages: info.frames.length > 0 ? [...info.frames] : [],
    })
    this.errorName = info.errorName
    this.errorMessage = info.errorMessage
    this.frames = info.frames
    this.thrownNonError = info.thrownNonError
    this.mappedStack = info.frames.join('\n')
  }
}

/** The handler's result cannot be returned: not encodable, or larger than `maxResultBytes`. */
export class InvalidResultError extends SandboxError {
  override name = 'InvalidResultError'
  constructor(details: string) {
    super('The contract returned an invalid result', {
      code: 'INVALID_RESULT',
      details,
      hint: 'Return JSON-like data (plus bigint and Uint8Array) within the result size limit.',
    })
  }
}

/** The contract used something its invocation kind does not allow (e.g. a query writing storage). */
export class NotAllowedError extends SandboxError {
  override name = 'NotAllowedError'
  constructor(details: string) {
    super('Operation not allowed', { code: 'NOT_ALLOWED', details })
  }
}

/** No handler of that name exists for the requested invocation kind. */
export class UnknownMethodError extends SandboxError {
  override name = 'UnknownMethodError'
  constructor(
    readonly kind: string,
    readonly method: string,
  ) {
    super(`Unknown ${kind} "${method}"`, {
      code: 'UNKNOWN_METHOD',
      details: `The contract defines no ${kind} named "${method}".`,
    })
  }
}

/** The arguments are not a valid encoded array of values. */
export class InvalidArgumentsError extends SandboxError {
  override name = 'InvalidArgumentsError'
  constructor(details: string) {
    super('Invalid arguments', {
      code: 'INVALID_ARGUMENTS',
      details,
      hint: 'Pass the arguments as an encodeValue() text of an array.',
    })
  }
}

/**
 * The sandbox itself failed (a WebAssembly trap, an engine invariant). The instance that failed is
 * rebuilt; the invocation is not retried.
 */
export class SandboxCrashError extends SandboxError {
  override name = 'SandboxCrashError'
  constructor(details: string, options: SandboxErrorOptions = {}) {
    super('The sandbox crashed', { ...options, code: 'SANDBOX_CRASH', details })
  }
}

/**
 * One of the caller's own callbacks (storage, emit, log) threw. Not the contract's fault and not
 * deterministic: callers should treat it as an infrastructure failure.
 */
export class HostCallbackError extends SandboxError {
  override name = 'HostCallbackError'
  constructor(cause: unknown) {
    super('A host callback failed during the invocation', {
      code: 'HOST_CALLBACK_FAILED',
      details: cause instanceof Error ? cause.message : String(cause),
      cause,
    })
  }
}

/** The contract bundle could not be loaded (syntax error, wrong shape, top-level code failed). */
export class InvalidBundleError extends SandboxError {
  override name = 'InvalidBundleError'
  constructor(details: string, options: SandboxErrorOptions = {}) {
    super('Invalid contract bundle', {
      ...options,
      code: 'INVALID_BUNDLE',
      details,
      hint: 'Build the contract with `veil build`: an esbuild IIFE whose global `__veilModule.default` is a defineContract() object.',
    })
  }
}

/** The engine was used after `dispose()`. */
export class EngineDisposedError extends VeilError {
  override name = 'EngineDisposedError'
  constructor() {
    super('The contract engine was disposed', { code: 'ENGINE_DISPOSED' })
  }
}

/**
 * How an invocation's failure is reported to a caller (receipts, answers, job outcomes): the code, the
 * message (a contract's own message as it threw it; otherwise the summary and its details), and the
 * contract's source-mapped stack when there is one.
 */
export function reportedError(error: SandboxError): { code: string; message: string; stack?: string } {
  const stack = error instanceof ContractError && error.mappedStack ? error.mappedStack : undefined
  return {
    code: error.code ?? 'CONTRACT_ERROR',
    message:
      error instanceof ContractError || !error.details
        ? error.shortMessage
        : `${error.shortMessage}. ${error.details}`,
    ...(stack ? { stack } : {}),
  }
}
