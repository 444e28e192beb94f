/**
 * Loop metering for the QuickJS WebAssembly binary: the basis of deterministic fuel.
 *
 * Why: QuickJS polls its interrupt handler only on calls and backward jumps of interpreted code and in
 * the regexp engine. A native call such as `'a'.repeat(2 ** 20).indexOf('a'.repeat(2 ** 17) + 'b')`
 * (naive string search) ran 269 s without one poll in a probe, and a synchronous WebAssembly call cannot
 * be pre-empted from the same thread. Interrupt counts are also a poor measure of work: one interrupt
 * covered 0.1 ms of an empty loop but 2.8 ms of a SHA-256 round, and a loop with a huge body could make
 * it seconds.
 *
 * What: every loop iteration of every function is counted, including QuickJS's bytecode dispatch loop
 * (so interpreted code is counted per bytecode) and all native loops; `memory.copy`/`memory.fill`, which
 * do O(n) work in one instruction, count one unit per 64 bytes. Counting is cheap: each such function
 * gets a local countdown, decremented at every loop header. When it reaches zero, the function adds the
 * chunk to an exported i64 accumulator, resets the countdown and calls the host hook (which checks the
 * limits and may throw to abort). When the function exits, the part of the chunk it used is added too.
 * The total is exact once all frames returned, and a pure function of the executed code.
 *
 * How: the rewrite appends two locals to each such function (countdown, scratch), wraps its body in a
 * block so that every exit (fall-through, `br` to the function label, `return`, rewritten to a `br`)
 * passes the flush, and appends one global and one export. No function, type or global index moves. The hook is an existing import
 * with signature (i32) -> i32 (QuickJS's interrupt callback), called with 0, which no runtime pointer
 * can be; the host-side wrapper routes that sentinel to the meter.
 *
 * Stack-low tracking (optional, `stackPointerExport`): every `global.set` of the shadow-stack pointer also
 * lowers a second exported i32 global, `veil_stack_low`, when the new value is below it. Compiled C code
 * only writes the shadow stack inside frames it allocated by moving that pointer down (WebAssembly has no
 * red zone), so the stack below the lowest pointer reached since the host last reset the global cannot
 * have been written: the snapshot restore skips it (see `snapshot.ts`). The global starts at 0, which
 * means "all of the stack may be dirty" until the host resets it. Tracking adds no loop and so no fuel.
 */

/** The name of the export that exposes the accumulated (flushed) iteration count, an i64 global. */
export const METER_EXPORT = 'veil_meter'
/** The name of the export of the lowest shadow-stack pointer reached since the host last reset it (i32). */
export const STACK_LOW_EXPORT = 'veil_stack_low'
/** Units a function consumes between two calls of the hook. */
export const CHUNK = 10_000

export interface MeteredWasm {
  /** The rewritten binary. */
  readonly bytes: Uint8Array<ArrayBuffer>
  /** How many loops were instrumented (for diagnostics and tests). */
  readonly loopCount: number
  /** How many functions got a countdown. */
  readonly functionCount: number
  /** With `stackPointerExport`: the stack-pointer global and its initial value (the top of the stack). */
  readonly stack: { readonly global: number; readonly top: number; readonly writes: number } | undefined
  /** The end of the highest active data segment: static data lies below (zero-initialised `.bss` follows). */
  readonly dataEnd: number
}

export interface MeterOptions {
  /**
   * An exported function whose body is exactly `global.get $sp` (Emscripten's `stackSave`): names the
   * shadow-stack pointer whose writes are tracked into `STACK_LOW_EXPORT`. Omit to skip the tracking.
   */
  readonly stackPointerExport?: string
}

export class WasmRewriteError extends Error {
  override name = 'WasmRewriteError'
}

export const SECTION_TYPE = 1
export const SECTION_IMPORT = 2
export const SECTION_FUNCTION = 3
const SECTION_GLOBAL = 6
export const SECTION_EXPORT = 7
export const SECTION_CODE = 10
const SECTION_DATA = 11

const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  globalGet: 0x23,
  globalSet: 0x24,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32LeS: 0x4c,
  i32LtU: 0x49,
  i32Sub: 0x6b,
  i32ShrU: 0x76,
  i64Add: 0x7c,
  i64ExtendI32S: 0xac,
} as const
/** Bulk memory instructions are charged one unit per 2^BULK_SHIFT bytes. */
const BULK_SHIFT = 6
const I32 = 0x7f
const I64 = 0x7e
const EMPTY_BLOCK = 0x40

/** A cursor over a byte array that reads the WebAssembly binary encodings. */
export class Reader {
  pos: number
  constructor(
    readonly bytes: Uint8Array,
    pos = 0,
  ) {
    this.pos = pos
  }

  byte(): number {
    const value = this.bytes[this.pos]
    if (value === undefined) throw new WasmRewriteError(`unexpected end of binary at ${this.pos}`)
    this.pos++
    return value
  }

  u32(): number {
    let result = 0
    let shift = 0
    for (;;) {
      const b = this.byte()
      result += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return result
      shift += 7
      if (shift > 35) throw new WasmRewriteError(`LEB128 too long at ${this.pos}`)
    }
  }

  /** Skips a signed or unsigned LEB128 of any width. */
  skipLeb(): void {
    while ((this.byte() & 0x80) !== 0) {
      // continuation bytes
    }
  }

  name(): string {
    const length = this.u32()
    const text = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + length))
    this.pos += length
    return text
  }

  /** Skips the limits of a table or memory type. */
  limits(): void {
    const flags = this.byte()
    this.u32()
    if (flags & 1) this.u32()
  }
}

export function u32(value: number): number[] {
  const out: number[] = []
  let rest = value
  do {
    let b = rest & 0x7f
    rest = Math.floor(rest / 128)
    if (rest !== 0) b |= 0x80
    out.push(b)
  } while (rest !== 0)
  return out
}

function s32(value: number): number[] {
  const out: number[] = []
  let rest = value | 0
  for (;;) {
    const b = rest & 0x7f
    rest >>= 7
    if ((rest === 0 && (b & 0x40) === 0) || (rest === -1 && (b & 0x40) !== 0)) {
      out.push(b)
      return out
    }
    out.push(b | 0x80)
  }
}

export function encodeString(text: string): number[] {
  const bytes = new TextEncoder().encode(text)
  return [...u32(bytes.length), ...bytes]
}

export interface Section {
  readonly id: number
  readonly start: number
  readonly end: number
}

export function readSections(bytes: Uint8Array): Section[] {
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  for (let i = 0; i < magic.length; i++) {
    if (bytes[i] !== magic[i]) throw new WasmRewriteError('not a WebAssembly 1.0 binary')
  }
  const reader = new Reader(bytes, 8)
  const sections: Section[] = []
  while (reader.pos < bytes.length) {
    const id = reader.byte()
    const size = reader.u32()
    sections.push({ id, start: reader.pos, end: reader.pos + size })
    reader.pos += size
  }
  return sections
}

interface FuncType {
  readonly params: number
  readonly results: readonly number[]
}

function readTypes(bytes: Uint8Array, section: Section): FuncType[] {
  const reader = new Reader(bytes, section.start)
  const count = reader.u32()
  const types: FuncType[] = []
  for (let i = 0; i < count; i++) {
    if (reader.byte() !== 0x60) throw new WasmRewriteError('unsupported type form')
    const params = reader.u32()
    reader.pos += params
    const results: number[] = []
    const resultCount = reader.u32()
    for (let r = 0; r < resultCount; r++) results.push(reader.byte())
    types.push({ params, results })
  }
  return types
}

export interface Imports {
  /** Number of imported functions (defined functions are numbered after them). */
  readonly functions: number
  /** Number of imported globals (defined globals are numbered after them). */
  readonly globals: number
  readonly hook: { readonly index: number; readonly typeIndex: number } | undefined
}

export function readImports(
  bytes: Uint8Array,
  section: Section,
  hook?: { module: string; name: string },
): Imports {
  const reader = new Reader(bytes, section.start)
  const count = reader.u32()
  let functions = 0
  let globals = 0
  let found: Imports['hook']
  for (let i = 0; i < count; i++) {
    const module = reader.name()
    const name = reader.name()
    const kind = reader.byte()
    if (kind === 0x00) {
      const typeIndex = reader.u32()
      if (module === hook?.module && name === hook.name) found = { index: functions, typeIndex }
      functions++
    } else if (kind === 0x01) {
      reader.byte()
      reader.limits()
    } else if (kind === 0x02) {
      reader.limits()
    } else if (kind === 0x03) {
      reader.byte()
      reader.byte()
      globals++
    } else {
      throw new WasmRewriteError(`unsupported import kind ${kind}`)
    }
  }
  return { functions, globals, hook: found }
}

/** Skips a block type: the empty type, one value type, or a type index (s33). */
function skipBlockType(reader: Reader): void {
  const first = reader.bytes[reader.pos]
  if (first === EMPTY_BLOCK || (first !== undefined && first >= 0x6f && first <= 0x7f)) {
    reader.pos++
    return
  }
  reader.skipLeb()
}

function skipMemarg(reader: Reader): void {
  const align = reader.u32()
  // Multi-memory sets bit 6 of the alignment field and appends a memory index.
  if ((align & 0x40) !== 0) reader.u32()
  reader.skipLeb()
}

/**
 * Decodes one instruction's immediates, leaving the reader after it. Covers the MVP plus the
 * sign-extension, saturating-conversion, bulk-memory, reference-types and multi-value proposals; any
 * other opcode (SIMD, threads, exceptions, tail calls, GC) stops the rewrite rather than guessing.
 */
function skipImmediates(reader: Reader, opcode: number): void {
  if (opcode <= 0x01 || opcode === 0x05 || opcode === OP.end || opcode === OP.return) return
  if (opcode >= OP.block && opcode <= OP.if) {
    skipBlockType(reader)
    return
  }
  if (opcode === OP.br || opcode === 0x0d || opcode === OP.call) {
    reader.skipLeb()
    return
  }
  if (opcode === 0x0e) {
    const count = reader.u32()
    for (let i = 0; i <= count; i++) reader.skipLeb()
    return
  }
  if (opcode === 0x11) {
    reader.skipLeb()
    reader.skipLeb()
    return
  }
  if (opcode === OP.drop || opcode === 0x1b) return
  if (opcode === 0x1c) {
    reader.pos += reader.u32()
    return
  }
  if (opcode >= OP.localGet && opcode <= 0x26) {
    reader.skipLeb()
    return
  }
  if (opcode >= 0x28 && opcode <= 0x3e) {
    skipMemarg(reader)
    return
  }
  if (opcode === 0x3f || opcode === 0x40 || opcode === OP.i32Const || opcode === 0x42) {
    reader.skipLeb()
    return
  }
  if (opcode === 0x43) {
    reader.pos += 4
    return
  }
  if (opcode === 0x44) {
    reader.pos += 8
    return
  }
  if (opcode >= OP.i32Eqz && opcode <= 0xc4) return
  if (opcode === 0xd0) {
    reader.pos++
    return
  }
  if (opcode === 0xd1) return
  if (opcode === 0xd2) {
    reader.skipLeb()
    return
  }
  if (opcode === 0xfc) {
    const sub = reader.u32()
    if (sub <= 7) return
    if (sub === 8 || sub === 10 || sub === 12 || sub === 14) {
      reader.skipLeb()
      reader.skipLeb()
      return
    }
    if (sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) {
      reader.skipLeb()
      return
    }
  }
  throw new WasmRewriteError(`unsupported opcode 0x${opcode.toString(16)} at byte ${reader.pos - 1}`)
}

interface Rewrite {
  readonly hookIndex: number
  readonly accumulator: number
  /** Tracked stack pointer: `global.set sp` also lowers `low`. */
  readonly stack: { readonly sp: number; readonly low: number } | undefined
}

/** The global index of a `global.set`, or undefined for any other instruction. */
function globalSetIndex(opcode: number, reader: Reader, start: number): number | undefined {
  return opcode === OP.globalSet ? new Reader(reader.bytes, start + 1).u32() : undefined
}

/** `memory.copy` and `memory.fill`: O(n) work in one instruction, charged one unit per 64 bytes. */
function isBulkMemory(opcode: number, reader: Reader, start: number): boolean {
  if (opcode !== 0xfc) return false
  const sub = new Reader(reader.bytes, start + 1).u32()
  return sub === 10 || sub === 11
}

/**
 * Rewrites one function body (see the module comment); returns it unchanged when it neither loops,
 * bulk-copies nor moves the tracked stack pointer.
 */
function meterBody(
  body: Uint8Array,
  type: FuncType,
  rewrite: Rewrite,
): { out: Uint8Array | number[]; loops: number; metered: boolean; stackWrites: number } {
  const reader = new Reader(body)
  const groups = reader.u32()
  const groupsEnd = reader.pos
  let locals = 0
  for (let i = 0; i < groups; i++) {
    locals += reader.u32()
    reader.byte()
  }
  const codeStart = reader.pos
  const sp = rewrite.stack?.sp

  // First pass: does the function need rewriting at all? Other functions stay byte-identical.
  let loops = 0
  let bulk = 0
  let stackWrites = 0
  while (reader.pos < body.length) {
    const start = reader.pos
    const opcode = reader.byte()
    skipImmediates(reader, opcode)
    if (opcode === OP.loop) loops++
    else if (isBulkMemory(opcode, reader, start)) bulk++
    else if (sp !== undefined && globalSetIndex(opcode, reader, start) === sp) stackWrites++
  }
  if (loops === 0 && bulk === 0 && stackWrites === 0) return { out: body, loops, metered: false, stackWrites }
  // Functions that only move the stack pointer get a scratch local and no countdown.
  const metered = loops > 0 || bulk > 0
  if (metered && type.results.length > 1) {
    throw new WasmRewriteError('multi-value function results are not supported')
  }

  const counter = u32(type.params + locals)
  const scratch = u32(type.params + locals + (metered ? 1 : 0))
  const chunk = s32(CHUNK)
  const acc = u32(rewrite.accumulator)
  // accumulator += CHUNK - counter (the counter may be negative after bulk charges)
  // biome-ignore format: one WebAssembly instruction per group reads better than one byte per line
  const flush = [
    OP.globalGet, ...acc,
    OP.i32Const, ...chunk, OP.localGet, ...counter, OP.i32Sub, OP.i64ExtendI32S,
    OP.i64Add,
    OP.globalSet, ...acc,
  ]
  // if (--counter <= 0) { flush; counter = CHUNK; hook(0) }
  // biome-ignore format: one WebAssembly instruction per group reads better than one byte per line
  const probe = [
    OP.localGet, ...counter, OP.i32Const, 1, OP.i32Sub, OP.localTee, ...counter,
    OP.i32Const, 0, OP.i32LeS,
    OP.if, EMPTY_BLOCK,
    ...flush,
    OP.i32Const, ...chunk, OP.localSet, ...counter,
    OP.i32Const, 0, OP.call, ...u32(rewrite.hookIndex), OP.drop,
    OP.end,
  ]
  // [.., n] -> [.., n] and counter -= n >> 6
  // biome-ignore format: one WebAssembly instruction per group reads better than one byte per line
  const bulkCharge = [
    OP.localTee, ...scratch,
    OP.localGet, ...counter, OP.localGet, ...scratch, OP.i32Const, BULK_SHIFT, OP.i32ShrU, OP.i32Sub,
    OP.localSet, ...counter,
  ]
  // [.., p] -> [..]: sp = p; if (p < low) low = p (unsigned). Contains no branch to an outer label.
  const trackedStackWrite: number[] = []
  if (rewrite.stack) {
    const spIndex = u32(rewrite.stack.sp)
    const low = u32(rewrite.stack.low)
    // biome-ignore format: one WebAssembly instruction per group reads better than one byte per line
    trackedStackWrite.push(
      OP.localTee, ...scratch, OP.globalSet, ...spIndex,
      OP.localGet, ...scratch, OP.globalGet, ...low, OP.i32LtU,
      OP.if, EMPTY_BLOCK,
      OP.localGet, ...scratch, OP.globalSet, ...low,
      OP.end,
    )
  }

  const out: number[] = [...u32(groups + 1)]
  for (let i = groupsEnd; i < codeStart; i++) out.push(body[i] as number)
  out.push(metered ? 2 : 1, I32)
  if (metered) {
    out.push(OP.i32Const, ...chunk, OP.localSet, ...counter)
    out.push(OP.block, type.results[0] ?? EMPTY_BLOCK)
  }

  reader.pos = codeStart
  // Blocks opened inside the wrapper; `br open` targets the wrapper, i.e. exits through the flush.
  let open = 0
  while (reader.pos < body.length) {
    const start = reader.pos
    const opcode = reader.byte()
    skipImmediates(reader, opcode)
    if (sp !== undefined && globalSetIndex(opcode, reader, start) === sp) {
      out.push(...trackedStackWrite)
      continue
    }
    if (metered && opcode === OP.return) {
      out.push(OP.br, ...u32(open))
      continue
    }
    if (metered && opcode === OP.end && open === 0) {
      // The function's own end: close the wrapper, flush, then end the function.
      out.push(OP.end, ...flush, OP.end)
      continue
    }
    if (isBulkMemory(opcode, reader, start)) out.push(...bulkCharge)
    for (let i = start; i < reader.pos; i++) out.push(body[i] as number)
    if (opcode === OP.block || opcode === OP.loop || opcode === OP.if) open++
    else if (opcode === OP.end) open--
    if (opcode === OP.loop) out.push(...probe)
  }
  return { out, loops, metered, stackWrites }
}

export function section(id: number, content: ArrayLike<number>): number[] {
  const out = [id, ...u32(content.length)]
  for (let i = 0; i < content.length; i++) out.push(content[i] as number)
  return out
}

/**
 * Meters every loop and bulk memory operation of `wasm` (see the module comment). `hook` names an
 * imported function of type (i32) -> i32 that the metered code calls with 0 every `CHUNK` units of one
 * function, after adding them to the exported accumulator.
 */
export function meterWasm(
  wasm: Uint8Array,
  hook: { module: string; name: string },
  options: MeterOptions = {},
): MeteredWasm {
  const sections = readSections(wasm)
  const find = (id: number): Section | undefined => sections.find((s) => s.id === id)
  const typeSection = find(SECTION_TYPE)
  const importSection = find(SECTION_IMPORT)
  const functionSection = find(SECTION_FUNCTION)
  const codeSection = find(SECTION_CODE)
  const exportSection = find(SECTION_EXPORT)
  if (!typeSection || !importSection || !functionSection || !codeSection || !exportSection) {
    throw new WasmRewriteError('binary lacks a type, import, function, export or code section')
  }
  const types = readTypes(wasm, typeSection)
  const imports = readImports(wasm, importSection, hook)
  if (!imports.hook) throw new WasmRewriteError(`import ${hook.module}.${hook.name} not found`)
  const hookType = types[imports.hook.typeIndex]
  if (hookType?.params !== 1 || hookType.results.length !== 1 || hookType.results[0] !== I32) {
    throw new WasmRewriteError('the hook import is not (i32) -> i32')
  }

  const functions = new Reader(wasm, functionSection.start)
  const functionTypes: FuncType[] = []
  const declared = functions.u32()
  for (let i = 0; i < declared; i++) {
    const type = types[functions.u32()]
    if (!type) throw new WasmRewriteError(`function ${i} has an unknown type`)
    functionTypes.push(type)
  }

  const globalSection = find(SECTION_GLOBAL)
  const globals = globalSection ? readGlobals(wasm, globalSection) : Object.assign([], { entriesStart: 0 })
  const accumulator = imports.globals + globals.length
  const exports = readExports(wasm, exportSection)
  const codeBodies = readCodeBodies(wasm, codeSection)
  if (codeBodies.length !== functionTypes.length) {
    throw new WasmRewriteError('function and code sections disagree')
  }

  let stack: MeteredWasm['stack']
  let rewriteStack: Rewrite['stack']
  if (options.stackPointerExport !== undefined) {
    const sp = findStackPointer(options.stackPointerExport, exports, imports, codeBodies, globals)
    stack = { global: sp.global, top: sp.top, writes: 0 }
    rewriteStack = { sp: sp.global, low: accumulator + 1 }
  }
  const rewrite: Rewrite = { hookIndex: imports.hook.index, accumulator, stack: rewriteStack }

  const newCode: number[] = [...u32(codeBodies.length)]
  let loopCount = 0
  let functionCount = 0
  let stackWrites = 0
  for (let i = 0; i < codeBodies.length; i++) {
    const body = codeBodies[i] as Uint8Array
    const {
      out,
      loops,
      metered,
      stackWrites: writes,
    } = meterBody(body, functionTypes[i] as FuncType, rewrite)
    if (metered) functionCount++
    loopCount += loops
    stackWrites += writes
    for (const b of u32(out.length)) newCode.push(b)
    for (let k = 0; k < out.length; k++) newCode.push(out[k] as number)
  }

  if (stack) stack = { ...stack, writes: stackWrites }

  // New globals after the existing ones: the accumulator (i64, mutable, 0) and, when tracking the stack,
  // the lowest stack pointer (i32, mutable, 0 = "everything may be dirty").
  const newGlobals = [[I64, 0x01, 0x42, 0x00, OP.end]]
  if (stack) newGlobals.push([I32, 0x01, OP.i32Const, 0x00, OP.end])
  const globalsBody = [...u32(globals.length + newGlobals.length)]
  if (globalSection) globalsBody.push(...wasm.subarray(globals.entriesStart, globalSection.end))
  for (const entry of newGlobals) globalsBody.push(...entry)
  const newExports = [[...encodeString(METER_EXPORT), 0x03, ...u32(accumulator)]]
  if (stack) newExports.push([...encodeString(STACK_LOW_EXPORT), 0x03, ...u32(accumulator + 1)])
  const exportsBody = [
    ...u32(exports.length + newExports.length),
    ...wasm.subarray(exports.entriesStart, exportSection.end),
    ...newExports.flat(),
  ]

  const parts: number[][] = []
  let wroteGlobals = false
  for (const s of sections) {
    if (s.id === SECTION_GLOBAL) {
      parts.push(section(SECTION_GLOBAL, globalsBody))
      wroteGlobals = true
    } else if (s.id === SECTION_EXPORT) {
      // The global section precedes the export section; create it if the binary had none.
      if (!wroteGlobals) parts.push(section(SECTION_GLOBAL, globalsBody))
      wroteGlobals = true
      parts.push(section(SECTION_EXPORT, exportsBody))
    } else if (s.id === SECTION_CODE) {
      parts.push(section(SECTION_CODE, newCode))
    } else {
      parts.push(section(s.id, wasm.subarray(s.start, s.end)))
    }
  }
  let total = 8
  for (const part of parts) total += part.length
  const bytes = new Uint8Array(total)
  bytes.set(wasm.subarray(0, 8), 0)
  let offset = 8
  for (const part of parts) {
    bytes.set(part, offset)
    offset += part.length
  }
  const dataSection = find(SECTION_DATA)
  return { bytes, loopCount, functionCount, stack, dataEnd: dataSection ? readDataEnd(wasm, dataSection) : 0 }
}

interface GlobalEntry {
  readonly valueType: number
  readonly mutable: boolean
  /** The value of an `i32.const` initialiser, otherwise undefined. */
  readonly i32Init: number | undefined
}

/** The defined globals, and where their entries start (after the count). */
function readGlobals(bytes: Uint8Array, section: Section): GlobalEntry[] & { entriesStart: number } {
  const reader = new Reader(bytes, section.start)
  const count = reader.u32()
  const entriesStart = reader.pos
  const globals: GlobalEntry[] = []
  for (let i = 0; i < count; i++) {
    const valueType = reader.byte()
    const mutable = reader.byte() === 1
    // A constant expression: a few instructions up to `end`.
    let i32Init: number | undefined
    let first = true
    for (;;) {
      const opcode = reader.byte()
      if (opcode === OP.end) break
      if (first && opcode === OP.i32Const) {
        const start = reader.pos
        i32Init = readS32(reader)
        reader.pos = start
      } else {
        i32Init = undefined
      }
      first = false
      skipImmediates(reader, opcode)
    }
    globals.push({ valueType, mutable, i32Init })
  }
  return Object.assign(globals, { entriesStart })
}

function readS32(reader: Reader): number {
  let result = 0
  let shift = 0
  let b: number
  do {
    b = reader.byte()
    result |= (b & 0x7f) << shift
    shift += 7
  } while (b & 0x80 && shift < 35)
  if (shift < 32 && b & 0x40) result |= -1 << shift
  return result
}

export interface ExportEntry {
  readonly name: string
  readonly kind: number
  readonly index: number
}

export function readExports(bytes: Uint8Array, section: Section): ExportEntry[] & { entriesStart: number } {
  const reader = new Reader(bytes, section.start)
  const count = reader.u32()
  const entriesStart = reader.pos
  const exports: ExportEntry[] = []
  for (let i = 0; i < count; i++)
    exports.push({ name: reader.name(), kind: reader.byte(), index: reader.u32() })
  return Object.assign(exports, { entriesStart })
}

export function readCodeBodies(bytes: Uint8Array, section: Section): Uint8Array[] {
  const reader = new Reader(bytes, section.start)
  const count = reader.u32()
  const bodies: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const size = reader.u32()
    bodies.push(bytes.subarray(reader.pos, reader.pos + size))
    reader.pos += size
  }
  return bodies
}

/**
 * The shadow-stack pointer: the global that the export `name` (Emscripten's `stackSave`) returns. It must
 * be a defined, mutable, unexported i32 with a constant initial value (the top of the stack), so that only
 * the module's own code, whose writes are all tracked, can move it.
 */
function findStackPointer(
  name: string,
  exports: readonly ExportEntry[],
  imports: Imports,
  bodies: readonly Uint8Array[],
  globals: readonly GlobalEntry[],
): { global: number; top: number } {
  const fail = (why: string): never => {
    throw new WasmRewriteError(`cannot track the stack pointer: ${why}`)
  }
  const getter =
    exports.find((e) => e.kind === 0x00 && e.name === name) ?? fail(`no exported function ${name}`)
  const body = bodies[getter.index - imports.functions] ?? fail(`export ${name} is an imported function`)
  // Exactly: no locals, global.get $sp, end.
  const reader = new Reader(body)
  if (reader.u32() !== 0 || reader.byte() !== OP.globalGet)
    fail(`export ${name} is not a stack-pointer getter`)
  const global = reader.u32()
  if (reader.byte() !== OP.end || reader.pos !== body.length)
    fail(`export ${name} is not a stack-pointer getter`)
  if (global < imports.globals) fail('the stack pointer is an imported global')
  const entry = globals[global - imports.globals] ?? fail(`global ${global} does not exist`)
  if (entry.valueType !== I32 || !entry.mutable || entry.i32Init === undefined) {
    fail(`global ${global} is not a mutable i32 with a constant initial value`)
  }
  if (exports.some((e) => e.kind === 0x03 && e.index === global)) fail('the stack pointer is exported')
  return { global, top: (entry.i32Init as number) >>> 0 }
}

/** The end of the highest active data segment with a constant offset (memory 0). */
function readDataEnd(bytes: Uint8Array, section: Section): number {
  const reader = new Reader(bytes, section.start)
  const count = reader.u32()
  let end = 0
  for (let i = 0; i < count; i++) {
    const flags = reader.u32()
    let offset: number | undefined
    if (flags === 0 || flags === 2) {
      if (flags === 2) reader.u32()
      const opcode = reader.byte()
      if (opcode === OP.i32Const) offset = readS32(reader) >>> 0
      else skipImmediates(reader, opcode)
      if (reader.byte() !== OP.end) throw new WasmRewriteError('unsupported data segment offset')
    }
    const size = reader.u32()
    reader.pos += size
    if (offset !== undefined) end = Math.max(end, offset + size)
  }
  return end
}

/**
 * Addresses the code loads from through a constant address (`i32.const c` then a load with offset o:
 * c + o), i.e. the static variables it reads. Diagnostics for tests: `quickjs-wasm.ts` assumes all static
 * data lies below the shadow stack, and a test checks it with this.
 */
export function constantLoadAddresses(wasm: Uint8Array): Set<number> {
  const codeSection = readSections(wasm).find((s) => s.id === SECTION_CODE)
  const addresses = new Set<number>()
  if (!codeSection) return addresses
  for (const body of readCodeBodies(wasm, codeSection)) {
    const reader = new Reader(body)
    const groups = reader.u32()
    for (let i = 0; i < groups; i++) {
      reader.u32()
      reader.byte()
    }
    let constant: number | undefined
    while (reader.pos < body.length) {
      const opcode = reader.byte()
      if (opcode === OP.i32Const) {
        constant = readS32(reader) >>> 0
        continue
      }
      // i32/i64/f32/f64 loads (0x28–0x35) take the address as their only operand.
      if (opcode >= 0x28 && opcode <= 0x35 && constant !== undefined) {
        const align = reader.u32()
        if ((align & 0x40) !== 0) reader.u32()
        addresses.add(constant + reader.u32())
      } else if (opcode >= 0x28 && opcode <= 0x35) {
        skipMemarg(reader)
      } else {
        skipImmediates(reader, opcode)
      }
      constant = undefined
    }
  }
  return addresses
}
