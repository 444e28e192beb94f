/**
 * Size caps shared by the host and the guest prelude. Plain constants with no imports, so that the
 * prelude bundle can include them without pulling in host code.
 */

/** Storage keys are at most this many UTF-8 bytes. */
export const MAX_STORAGE_KEY_BYTES = 1024
/** Encoded storage values are at most this many UTF-8 bytes. */
export const MAX_STORAGE_VALUE_BYTES = 256 * 1024
/** Event names are at most this many UTF-8 bytes. */
export const MAX_EVENT_NAME_BYTES = 256
/** Encoded event data is at most this many UTF-8 bytes. */
export const MAX_EVENT_DATA_BYTES = 64 * 1024
/** One log message is at most this many characters (the prelude truncates, the host enforces). */
export const MAX_LOG_MESSAGE_CHARS = 4096
/** One `ctx.random` / `crypto.getRandomValues` call returns at most this many bytes. */
export const MAX_RANDOM_BYTES = 65_536
/** Largest accepted `argsText`, in UTF-8 bytes. */
export const MAX_ARGS_BYTES = 4 * 1024 * 1024
/** Largest failure report (a JSON `GuestFailure`) the host reads from the guest. */
export const MAX_FAILURE_CHARS = 32 * 1024
/** One `ctx.keys.sign` message is at most this many bytes (UTF-8 for text). */
export const MAX_SIGN_MESSAGE_BYTES = 65_536
/** A `ctx.keys.derive` path is at most this many characters (as `MAX_USER_PATH_LENGTH` of @veil/crypto). */
export const MAX_KEY_PATH_CHARS = 256
/**
 * A `ctx.keys.derive` path: printable ASCII other than space, in non-empty '/'-separated segments. The
 * guest checks it to throw a real RangeError; the host checks again with @veil/crypto's
 * `isContractUserKeyPath` (a test keeps the two equal).
 */
export const KEY_PATH_PATTERN = /^[\x21-\x2e\x30-\x7e]+(?:\/[\x21-\x2e\x30-\x7e]+)*$/
/** The JSON of one host I/O request (`ctx.http.fetch` init without its body, `ctx.evm.*`). */
export const MAX_IO_REQUEST_CHARS = 64 * 1024
/** A `ctx.http.fetch` request body is at most this many bytes. */
export const MAX_FETCH_BODY_BYTES = 1024 * 1024
/** The JSON of one `ctx.jobs.*` call (job arguments included). */
export const MAX_JOB_REQUEST_CHARS = 64 * 1024
