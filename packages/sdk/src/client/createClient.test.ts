import type { NetworkFile } from '@veil/protocol'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, expectTypeOf, it } from 'vitest'
import type Counter from '../../../runtime/src/testing/contracts/counter.js'
import type { CommandResult } from '../actions/waitForCommandResult.js'
import { AccountRequiredError, ClientConfigError } from '../errors.js'
import type Notes from '../test-support/contracts/notes.js'
import { createClient } from './createClient.js'

const network: NetworkFile = {
  version: 1,
  chainId: 31337,
  rpcUrl: 'http://127.0.0.1:1',
  devMode: true,
  deployBlock: 1,
  contracts: {
    registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    contracts: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
    commands: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  },
  kms: null,
  workers: [],
}
const key = `0x${'42'.repeat(32)}` as const

describe('createClient', () => {
  it('takes the chain and ledger from a network file, and the account from a private key', async () => {
    const client = createClient({ network, account: key })
    expect(client.account?.address).toBe(privateKeyToAccount(key).address)
    expect(client.addresses).toEqual(network.contracts)
    expect(await client.getChainId()).toBe(31337)
    expect((await client.getChain()).id).toBe(31337)
    expect(client.chainClient.account?.address).toBe(privateKeyToAccount(key).address)
  })

  it('is read-only without an account', async () => {
    const client = createClient({ network })
    expect(client.account).toBeUndefined()
    expect(client.chainClient.account).toBeUndefined()
    await expect(client.createSession()).rejects.toBeInstanceOf(AccountRequiredError)
  })

  it('says what is missing from its parameters', () => {
    expect(() => createClient({ rpcUrl: 'http://x' })).toThrow(ClientConfigError)
    expect(() => createClient({ rpcUrl: 'http://x' })).toThrow('ledger addresses')
    expect(() => createClient({ addresses: network.contracts })).toThrow('chain RPC')
    let bad: unknown
    try {
      createClient({ network, account: '0x1234' })
    } catch (error) {
      bad = error
    }
    expect(bad).toBeInstanceOf(ClientConfigError)
    expect((bad as ClientConfigError).code).toBe('CLIENT_CONFIG_INVALID')
  })

  it('types contract handles from the contract itself', () => {
    const client = createClient({ network })
    const counter = client.contract<typeof Counter>(1n)
    expectTypeOf(counter.command.add).toEqualTypeOf<(by: number) => Promise<number>>()
    expectTypeOf(counter.query.get).toEqualTypeOf<() => Promise<number>>()
    const notes = client.contract<typeof Notes>('2')
    expectTypeOf(notes.command.add).toEqualTypeOf<(text: string, tags?: string[]) => Promise<bigint>>()
    expectTypeOf(notes.command.store).toEqualTypeOf<(blob: Uint8Array) => Promise<number>>()
    expectTypeOf(notes.query.note).parameter(0).toEqualTypeOf<bigint>()
    expectTypeOf(notes.query.whoami).returns.toEqualTypeOf<Promise<`0x${string}` | null>>()
    expectTypeOf(notes.send).returns.toEqualTypeOf<Promise<CommandResult>>()
    // @ts-expect-error: add takes a number
    void (() => counter.command.add('5'))
    // @ts-expect-error: no such command
    void (() => counter.command.sub(1))
    expect(counter.id).toBe(1n)
    expect(notes.id).toBe(2n)
  })

  it('never sends a command named "then" when a handle is awaited by mistake', async () => {
    const counter = createClient({ network }).contract<typeof Counter>(1)
    const awaited: unknown = await counter.command
    expect(awaited).toBe(counter.command)
    expect((counter.command as unknown as Record<string, unknown>).then).toBeUndefined()
    expect(typeof counter.query.get).toBe('function')
  })

  it.skipIf(typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function')(
    'asks for a WebSocket implementation when the runtime has none (browser entry on Node 20)',
    () => {
      const client = createClient({ network })
      expect(() => client.watchEvents({ contractId: 1n, onEvent: () => {} })).toThrow(ClientConfigError)
    },
  )
})
