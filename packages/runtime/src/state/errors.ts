import { VeilError, type VeilErrorOptions } from '@veil/protocol'

/** Base class of every state-store failure; catch this to handle them all. */
export class StateStoreError extends VeilError {
  override name = 'StateStoreError'
  constructor(shortMessage: string, options: VeilErrorOptions & { code: string }) {
    super(shortMessage, options)
  }
}

/**
 * The chain rewound further than the undo log reaches. The store is left untouched at its cursor; the
 * worker must stop and resync (from genesis, or later from a verified snapshot). Code `REWIND_TOO_DEEP`.
 */
export class RewindTooDeepError extends StateStoreError {
  override name = 'RewindTooDeepError'
  /** The block the caller asked to return to. */
  readonly targetBlock: bigint
  /** The last committed block. */
  readonly cursorBlock: bigint
  /** The deepest block `rollbackTo` can still reach, or `undefined` when the undo log is empty. */
  readonly deepestReachableBlock: bigint | undefined

  constructor(
    targetBlock: bigint,
    cursorBlock: bigint,
    deepestReachableBlock: bigint | undefined,
    undoDepth: number,
  ) {
    super(`cannot rewind state from block ${cursorBlock} to block ${targetBlock}`, {
      code: 'REWIND_TOO_DEEP',
      details:
        deepestReachableBlock === undefined
          ? 'the undo log holds no blocks'
          : `the undo log (last ${undoDepth} blocks) reaches back to block ${deepestReachableBlock} only`,
      hint: 'the chain reorganised deeper than the undo window: stop this worker and resync its state from genesis',
      metaMessages: [
        `target block: ${targetBlock}`,
        `cursor block: ${cursorBlock}`,
        `deepest reachable block: ${deepestReachableBlock}`,
      ],
    })
    this.targetBlock = targetBlock
    this.cursorBlock = cursorBlock
    this.deepestReachableBlock = deepestReachableBlock
  }
}

/**
 * A block does not extend the committed cursor: wrong number (`BLOCK_NUMBER_MISMATCH`) or a parent hash
 * other than the cursor's hash (`BLOCK_PARENT_MISMATCH`, i.e. the chain reorganised: roll back first).
 */
export class BlockSequenceError extends StateStoreError {
  override name = 'BlockSequenceError'
  readonly reason: 'number' | 'parent'
  readonly expected: string
  readonly actual: string

  constructor(reason: 'number' | 'parent', expected: string, actual: string) {
    super(
      reason === 'number'
        ? 'block number does not follow the cursor'
        : 'block parent is not the cursor block',
      {
        code: reason === 'number' ? 'BLOCK_NUMBER_MISMATCH' : 'BLOCK_PARENT_MISMATCH',
        details: `expected ${reason === 'number' ? 'block number' : 'parent hash'} ${expected}, got ${actual}`,
        hint:
          reason === 'number'
            ? 'feed blocks to the state store in order, exactly once each'
            : 'the chain reorganised: roll the store back to the common ancestor, then apply the new blocks',
      },
    )
    this.reason = reason
    this.expected = expected
    this.actual = actual
  }
}

/** `beginBlock` or `rollbackTo` while a block writer is still open. Code `BLOCK_IN_PROGRESS`. */
export class BlockInProgressError extends StateStoreError {
  override name = 'BlockInProgressError'
  constructor(blockNumber: bigint, operation: string) {
    super(`cannot ${operation} while block ${blockNumber} is still open`, {
      code: 'BLOCK_IN_PROGRESS',
      hint: 'commit() or abort() the open block writer first',
    })
  }
}

/** A block writer was used after `commit`, `abort` or a failed commit. Code `BLOCK_WRITER_CLOSED`. */
export class BlockWriterClosedError extends StateStoreError {
  override name = 'BlockWriterClosedError'
  constructor(blockNumber: bigint, status: string) {
    super(`the writer of block ${blockNumber} is ${status}`, {
      code: 'BLOCK_WRITER_CLOSED',
      hint: 'begin a new block with store.beginBlock()',
    })
  }
}

/** A savepoint that is not (or no longer) valid for this writer. Code `INVALID_SAVEPOINT`. */
export class InvalidSavepointError extends StateStoreError {
  override name = 'InvalidSavepointError'
  constructor(details: string) {
    super('invalid savepoint', { code: 'INVALID_SAVEPOINT', details })
  }
}

/**
 * Stored bytes failed authentication or do not parse: the file was tampered with, a record was moved to
 * another key or contract, or the worker derives different contract secrets than the ones that wrote it.
 * Code `STATE_INTEGRITY`.
 */
export class StateIntegrityError extends StateStoreError {
  override name = 'StateIntegrityError'
  constructor(what: string, details: string, cause?: unknown) {
    super(`stored ${what} failed its integrity check`, {
      code: 'STATE_INTEGRITY',
      details,
      hint: 'check that the worker uses the cluster secret this state was written with; otherwise resync the state',
      ...(cause === undefined ? {} : { cause }),
    })
  }
}

/** A caller passed an invalid argument (ids, keys, hashes, numbers). Code `STATE_INVALID_ARGUMENT`. */
export class StateArgumentError extends StateStoreError {
  override name = 'StateArgumentError'
  /** The parameter that was rejected. */
  readonly argument: string
  constructor(argument: string, details: string) {
    super(`invalid ${argument}`, { code: 'STATE_INVALID_ARGUMENT', details })
    this.argument = argument
  }
}

/** The store was used after `close()`. Code `STATE_STORE_CLOSED`. */
export class StateStoreClosedError extends StateStoreError {
  override name = 'StateStoreClosedError'
  constructor() {
    super('the state store is closed', { code: 'STATE_STORE_CLOSED' })
  }
}

/** The directory holds a store in a format this version cannot read. Code `STATE_FORMAT_UNSUPPORTED`. */
export class StateFormatError extends StateStoreError {
  override name = 'StateFormatError'
  constructor(path: string, details: string) {
    super(`unsupported state store format in ${path}`, {
      code: 'STATE_FORMAT_UNSUPPORTED',
      details,
      hint: 'open it with the Veil version that wrote it, or resync this worker into an empty directory',
    })
  }
}
