import type { LedgerAddresses } from '@veil/protocol'
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  http,
  type PublicClient,
  type TestClient,
} from 'viem'
import {
  generatePrivateKey,
  type HDAccount,
  type PrivateKeyAccount,
  privateKeyToAccount,
} from 'viem/accounts'
import { devAccount } from './accounts.js'
import { type AnvilInstance, type AnvilOptions, startAnvil } from './anvil.js'
import { deployLedger, type LedgerDeployment } from './deploy.js'
import { getLedger, type Ledger, type LedgerWalletClient } from './ledger.js'

export interface TestLedger {
  anvil: AnvilInstance
  deployment: LedgerDeployment
  addresses: LedgerAddresses
  publicClient: PublicClient
  /** Wallet client and typed ledger for dev account `index` (0 is the registry owner). */
  as(index: number): { account: HDAccount; walletClient: LedgerWalletClient; ledger: Ledger }
  owner: Ledger
  /** anvil's test actions: snapshots and reverts, balances, time. */
  testClient: TestClient<'anvil'>
  /** A new random account holding 1 ETH for gas, with its wallet client and typed ledger. */
  newAccount(): Promise<{ account: PrivateKeyAccount; walletClient: LedgerWalletClient; ledger: Ledger }>
  stop(): Promise<void>
}

/**
 * Starts a throwaway anvil (in memory, free port) and deploys the ledger, for integration tests.
 * Always `await stop()` in `afterAll`.
 */
export async function startTestLedger(
  options: { devMode?: boolean; anvil?: AnvilOptions } = {},
): Promise<TestLedger> {
  const anvil = await startAnvil({ ...options.anvil })
  try {
    const chain = defineChain({
      id: 31337,
      name: 'anvil',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [anvil.rpcUrl] } },
    })
    const transport = http(anvil.rpcUrl)
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 }) as PublicClient
    const wallets = new Map<number, ReturnType<TestLedger['as']>>()
    const deployment = await deployLedger({
      publicClient,
      walletClient: createWalletClient({ account: devAccount(0), chain, transport }),
      devMode: options.devMode ?? true,
    })
    const as = (index: number) => {
      let entry = wallets.get(index)
      if (!entry) {
        const account = devAccount(index)
        const walletClient = createWalletClient({ account, chain, transport })
        entry = {
          account,
          walletClient,
          ledger: getLedger({ publicClient, walletClient, addresses: deployment.addresses }),
        }
        wallets.set(index, entry)
      }
      return entry
    }
    const testClient = createTestClient({ mode: 'anvil', chain, transport })
    const newAccount = async () => {
      const account = privateKeyToAccount(generatePrivateKey())
      await testClient.setBalance({ address: account.address, value: 10n ** 18n })
      const walletClient = createWalletClient({ account, chain, transport })
      return {
        account,
        walletClient,
        ledger: getLedger({ publicClient, walletClient, addresses: deployment.addresses }),
      }
    }
    return {
      anvil,
      deployment,
      addresses: deployment.addresses,
      publicClient,
      as,
      owner: as(0).ledger,
      testClient,
      newAccount,
      stop: () => anvil.stop(),
    }
  } catch (error) {
    await anvil.stop()
    throw error
  }
}
