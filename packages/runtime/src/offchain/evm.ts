/**
 * `ctx.evm`: JSON-RPC calls on the network's named endpoints, and transactions signed with the
 * contract's own secp256k1 key (its `ctx.contract.address`). Endpoints are configuration (the network
 * file's `rpc` map, or `--rpc name=url` on `veil worker start`), trusted like the chain's own RPC: they
 * are not subject to the contracts' egress guard, and contracts can only name them, never give a URL.
 */
import { VeilError } from '@veil/protocol'
import { createPublicClient, createWalletClient, defineChain, type Hex, http, type PublicClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { EvmHost } from '../sandbox/types.js'

/** A refused or failed `ctx.evm` call; the contract sees `code: message`. */
export class EvmRequestError extends VeilError {
  override name = 'EvmRequestError'
  constructor(code: string, message: string) {
    super(message, { code })
  }
}

const RPC_NAME = /^[a-z][a-z0-9_-]{0,31}$/

/** Checks an operator's `name=url` endpoint (or a network file entry). */
export function parseRpcEndpoint(text: string): [string, string] {
  const eq = text.indexOf('=')
  const name = text.slice(0, eq)
  const url = text.slice(eq + 1)
  if (eq < 1 || !RPC_NAME.test(name)) {
    throw new EvmRequestError(
      'BAD_RPC',
      `--rpc expects name=url with a lowercase name (like mainnet=https://…), got ${JSON.stringify(text)}`,
    )
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new EvmRequestError(
      'BAD_RPC',
      `the URL of RPC endpoint ${name} is not a URL: ${JSON.stringify(url)}`,
    )
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new EvmRequestError('BAD_RPC', `RPC endpoint ${name} must be http(s), got ${parsed.protocol}`)
  }
  return [name, url]
}

const TIMEOUT_MS = 10_000

/** Clients per endpoint, shared by every contract of a worker. */
export class EvmEndpoints {
  readonly #urls: ReadonlyMap<string, string>
  readonly #clients = new Map<string, PublicClient>()

  constructor(endpoints: Readonly<Record<string, string>>) {
    for (const entry of Object.entries(endpoints)) parseRpcEndpoint(`${entry[0]}=${entry[1]}`)
    this.#urls = new Map(Object.entries(endpoints))
  }

  get names(): string[] {
    return [...this.#urls.keys()]
  }

  url(name: string): string {
    const url = this.#urls.get(name)
    if (url === undefined) {
      const known = this.names
      throw new EvmRequestError(
        'UNKNOWN_RPC',
        `no RPC endpoint named ${JSON.stringify(name)} in this network (${known.length ? `known: ${known.join(', ')}` : 'none is configured'})`,
      )
    }
    return url
  }

  client(name: string): PublicClient {
    let client = this.#clients.get(name)
    if (!client) {
      client = createPublicClient({ transport: http(this.url(name), { timeout: TIMEOUT_MS, retryCount: 0 }) })
      this.#clients.set(name, client)
    }
    return client
  }

  /** `ctx.evm` for one contract, whose transactions `signingKey` signs. */
  hostFor(signingKey: () => Uint8Array): EvmHost {
    // Derived on first use: most invocations never send a transaction.
    let signer: ReturnType<typeof privateKeyToAccount> | undefined
    const account = () => {
      signer ??= privateKeyToAccount(`0x${Buffer.from(signingKey()).toString('hex')}` as Hex)
      return signer
    }
    const failed = (name: string, error: unknown): never => {
      if (error instanceof EvmRequestError) throw error
      const message =
        error instanceof Error
          ? ((error as { shortMessage?: string }).shortMessage ?? error.message)
          : String(error)
      throw new EvmRequestError('RPC_FAILED', `${name}: ${message.split('\n')[0]}`)
    }
    return {
      call: async (rpc, request) => {
        const client = this.client(rpc)
        try {
          const result = await client.call({ to: request.to, data: request.data })
          return result.data ?? '0x'
        } catch (error) {
          return failed(rpc, error)
        }
      },
      sendTransaction: async (rpc, tx) => {
        const client = this.client(rpc)
        try {
          const chainId = await client.getChainId()
          const wallet = createWalletClient({
            account: account(),
            chain: defineChain({
              id: chainId,
              name: rpc,
              nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
              rpcUrls: { default: { http: [this.url(rpc)] } },
            }),
            transport: http(this.url(rpc), { timeout: TIMEOUT_MS, retryCount: 0 }),
          })
          return await wallet.sendTransaction({
            to: tx.to,
            data: tx.data,
            value: tx.value,
            ...(tx.gas !== undefined ? { gas: tx.gas } : {}),
          })
        } catch (error) {
          return failed(rpc, error)
        }
      },
    }
  }
}
