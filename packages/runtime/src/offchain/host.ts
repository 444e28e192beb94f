/**
 * The off-chain parts of an invocation host, shared by queries and job runs: `ctx.secrets` (read from the
 * committed state), `ctx.http.fetch` (through the egress client, one budget per invocation) and `ctx.evm`.
 */
import type { Egress } from '../egress/index.js'
import { readSecrets, type StateAccess } from '../follower/system-state.js'
import type { InvocationHost, StorageHost } from '../sandbox/types.js'
import type { EvmEndpoints } from './evm.js'

export interface OffChainServices {
  /** Outbound HTTP for contracts; without it `ctx.http.fetch` fails with UNAVAILABLE. */
  egress?: Egress | undefined
  /** Named RPC endpoints; without them `ctx.evm` fails with UNAVAILABLE. */
  evm?: EvmEndpoints | undefined
  /** The contract's secp256k1 key, for `ctx.evm.sendTransaction`. */
  signingKeyFor(contractId: string): Uint8Array
}

/** Host fields for one query or job run of `contractId`; `close()` cancels its HTTP requests still running. */
export function offChainHost(
  services: OffChainServices,
  state: StateAccess,
  contractId: string,
): Pick<InvocationHost, 'secrets' | 'fetch' | 'evm'> & { close(): void } {
  let secrets: Readonly<Record<string, string>> | undefined
  const session = services.egress?.session()
  const evm = services.evm
  return {
    secrets: () => {
      secrets ??= Object.freeze(readSecrets(state, contractId))
      return secrets
    },
    ...(session
      ? {
          fetch: (request) =>
            session.fetch({
              url: request.url,
              method: request.method,
              headers: request.headers,
              ...(request.body ? { body: request.body } : {}),
            }),
        }
      : {}),
    ...(evm ? { evm: evm.hostFor(() => services.signingKeyFor(contractId)) } : {}),
    close: () => session?.close(),
  }
}

/** The committed state of `contractId` as a read-only `StorageHost` (the sandbox refuses writes first). */
export function readOnlyStorage(
  state: StateAccess,
  contractId: string,
  what: 'queries' | 'job runs',
): StorageHost {
  const refuse = (): never => {
    throw new Error(`${what} are read-only`)
  }
  return { get: (key) => state.get(contractId, key), set: refuse, delete: refuse }
}
