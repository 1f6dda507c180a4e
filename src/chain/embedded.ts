// An in-process EDR chain (Hardhat 3's simulated network) driven through viem.
import {
  type Account,
  type Address,
  type Chain,
  createPublicClient,
  createTestClient,
  createWalletClient,
  custom,
  type EIP1193Provider,
  type PublicClient,
  type TestClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { hardhat as hardhatChain } from 'viem/chains';
import { hardhat } from './hardhat.ts';

/** An in-process chain answers at once: poll often and never serve a cached block number. */
const LOCAL = { pollingInterval: 50, cacheTime: 0 } as const;

export interface EmbeddedChain {
  chain: Chain;
  /** The EIP-1193 provider of the EDR network. */
  provider: EIP1193Provider;
  publicClient: PublicClient<Transport, Chain>;
  /** Sends from accounts[0]. */
  walletClient: WalletClient<Transport, Chain, Account>;
  testClient: TestClient<'hardhat', Transport, Chain>;
  /** Funded accounts (unlocked on the node, which signs for them). */
  accounts: Address[];
  /** A wallet client sending from accounts[index]. */
  wallet(index: number): WalletClient<Transport, Chain, Account>;
  close(): Promise<void>;
}

/**
 * Starts a fresh in-process EDR chain (the `default` network of hardhat.config.ts) and returns
 * viem clients bound to it. Every call gives an independent chain; close it when done.
 */
export async function startEmbeddedChain(): Promise<EmbeddedChain> {
  const hre = await hardhat();
  const connection = await hre.network.connect();
  const provider = connection.provider as unknown as EIP1193Provider;
  // No retries: a revert on an in-process chain is final (viem would otherwise retry it with backoff).
  const transport = custom(provider, { retryCount: 0 });
  const chain = hardhatChain;
  const accounts = (await provider.request({ method: 'eth_accounts' })) as Address[];
  const wallet = (index: number) => {
    const address = accounts[index];
    if (!address)
      throw new RangeError(`The embedded chain has ${accounts.length} accounts, not ${index + 1}.`);
    return createWalletClient({ account: address, chain, transport, ...LOCAL });
  };
  return {
    chain,
    provider,
    publicClient: createPublicClient({ chain, transport, ...LOCAL }),
    walletClient: wallet(0),
    testClient: createTestClient({ mode: 'hardhat', chain, transport, ...LOCAL }),
    accounts,
    wallet,
    close: () => connection.close(),
  };
}
