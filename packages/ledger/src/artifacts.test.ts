import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type {
  Abi,
  Address,
  ContractFunctionArgs,
  ContractFunctionName,
  ContractFunctionReturnType,
  Hex,
} from 'viem'
import { describe, expect, expectTypeOf, it } from 'vitest'
import { Commands, Contracts, Registry } from './artifacts/index.js'
import type { ReadonlyLedger } from './ledger.js'

const ARTIFACTS = { Registry, Contracts, Commands } as const

interface Declared {
  functions: Map<string, number>
  events: Set<string>
  errors: Set<string>
}

/** The externally visible functions (name → arity), events and errors a Solidity file declares. */
function declaredIn(name: keyof typeof ARTIFACTS): Declared {
  const path = fileURLToPath(new URL(`../contracts/${name}.sol`, import.meta.url))
  const source = readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
  const functions = new Map<string, number>()
  for (const match of source.matchAll(/\bfunction\s+(\w+)\s*\(([^)]*)\)([^{;]*)/g)) {
    const [, fn = '', params = '', modifiers = ''] = match
    if (!/\b(external|public)\b/.test(modifiers)) continue
    functions.set(fn, params.trim() === '' ? 0 : params.split(',').length)
  }
  // Public state variables and constants get a getter (mappings take one argument per key).
  for (const match of source.matchAll(
    /^\s*(mapping\s*\(.*\)|[\w.]+)\s+public\s+(?:constant\s+|immutable\s+)?(\w+)/gm,
  )) {
    const [, type = '', getter = ''] = match
    functions.set(getter, (type.match(/mapping/g) ?? []).length)
  }
  return {
    functions,
    events: new Set([...source.matchAll(/\bevent\s+(\w+)\s*\(/g)].map((m) => m[1] ?? '')),
    errors: new Set([...source.matchAll(/\berror\s+(\w+)\s*\(/g)].map((m) => m[1] ?? '')),
  }
}

function abiItems(abi: Abi, type: 'function' | 'event' | 'error') {
  return abi.flatMap((item) => (item.type === type ? [item] : []))
}

describe('compiled artifacts', () => {
  for (const name of ['Registry', 'Contracts', 'Commands'] as const) {
    it(`${name}: the ABI has every function, event and error of contracts/${name}.sol`, () => {
      const artifact: { contractName: string; abi: Abi; bytecode: Hex } = ARTIFACTS[name]
      expect(artifact.contractName).toBe(name)
      expect(artifact.bytecode).toMatch(/^0x[0-9a-f]{200,}$/)
      const declared = declaredIn(name)
      expect(declared.functions.size).toBeGreaterThan(0)

      const functions = new Map(abiItems(artifact.abi, 'function').map((f) => [f.name, f.inputs.length]))
      for (const [fn, arity] of declared.functions) {
        expect(functions.get(fn), `${name}.${fn}`).toBe(arity)
      }
      const events = new Set(abiItems(artifact.abi, 'event').map((e) => e.name))
      for (const event of declared.events) expect(events.has(event), `event ${name}.${event}`).toBe(true)
      const errors = new Set(abiItems(artifact.abi, 'error').map((e) => e.name))
      for (const error of declared.errors) expect(errors.has(error), `error ${name}.${error}`).toBe(true)
    })
  }

  it('keeps the ABIs as literal types, so viem types every call', () => {
    // These checks run in `tsc`: if the artifacts lost `as const`, names and return types would widen.
    expectTypeOf<'registerWorker'>().toMatchTypeOf<ContractFunctionName<typeof Registry.abi, 'nonpayable'>>()
    // submit is Commands' only payable function; a widened ABI would give `string` here.
    expectTypeOf<ContractFunctionName<typeof Commands.abi, 'payable'>>().toEqualTypeOf<'submit'>()
    expectTypeOf<ContractFunctionArgs<typeof Contracts.abi, 'nonpayable', 'deploy'>>().toEqualTypeOf<
      readonly [bigint, Hex, Hex, bigint]
    >()
    type ContractInfo = ContractFunctionReturnType<typeof Contracts.abi, 'view', 'getContract'>
    expectTypeOf<ContractInfo['owner']>().toEqualTypeOf<Address>()
    expectTypeOf<ContractInfo['pendingReadyAt']>().toEqualTypeOf<bigint>()
    expect(Registry.abi.some((item) => item.type === 'function' && item.name === 'registerWorker')).toBe(true)
  })

  it('types reads through getLedger', () => {
    // Never called: it only has to compile.
    async function typedReads(ledger: ReadonlyLedger) {
      const worker = await ledger.registry.read.getWorker(['0x0000000000000000000000000000000000000001'])
      expectTypeOf(worker.status).toEqualTypeOf<number>()
      expectTypeOf(worker.cluster).toEqualTypeOf<bigint>()
      expectTypeOf(worker.endpoint).toEqualTypeOf<string>()
      expectTypeOf(await ledger.registry.read.workers([0n, 10n])).toEqualTypeOf<readonly Address[]>()
      expectTypeOf(await ledger.commands.read.sequence([1n])).toEqualTypeOf<bigint>()
      expectTypeOf((await ledger.contracts.read.getCode(['0x00'])).size).toEqualTypeOf<number>()
      // @ts-expect-error getWorker takes an address, not a number
      await ledger.registry.read.getWorker([1n])
      // @ts-expect-error there is no such function in the Registry ABI
      await ledger.registry.read.getWorkers()
    }
    expect(typeof typedReads).toBe('function')
  })
})
