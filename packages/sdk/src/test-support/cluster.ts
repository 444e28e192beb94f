/**
 * TEST SUPPORT. A real Veil cluster (anvil, ledger, the dev gatekeeper that approves workers and
 * publishes contract keys, in-process workers) for the SDK's and CLI's end-to-end tests.
 */
import { devAccount } from '@veil/ledger'
import { CONTRACTS, startTestCluster, type TestCluster, type TestWorker } from '@veil/runtime/testing'

export { CONTRACTS, type TestCluster, type TestWorker }

/** Starts a cluster of `workers` workers (anvil, ledger, gatekeeper). Always `await cluster.stop()`. */
export function startSdkCluster(workers = 2): Promise<TestCluster> {
  return startTestCluster({ workers })
}

/** Dev account 1: what clients use on a devnet (0 is the owner / KMS stand-in). */
export const CLIENT_ACCOUNT = devAccount(1)
