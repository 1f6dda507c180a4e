// A registry of its own for the AgentRegistry tests (its owner and its "markets" are test
// accounts), and any number of extra funded accounts.
import assert from 'node:assert/strict';
import {
  type Address,
  type Chain,
  createWalletClient,
  custom,
  getContract,
  type Hex,
  numberToHex,
  parseEther,
} from 'viem';
import { agentRegistryAbi } from '../../src/chain/bindings/abis.ts';
import { deployArtifact } from '../../src/chain/deploy.ts';
import type { EmbeddedChain } from '../../src/chain/embedded.ts';

export const MIN_STAKE = parseEther('1');
/** The standalone registry's auditThreshold (DEFAULT_PARAMS' auditStake). */
export const AUDIT_THRESHOLD = parseEther('0.2');

/** `n` fresh funded addresses that the node signs for (impersonated), beyond the built-in accounts. */
export async function extraWallets(chain: EmbeddedChain, n: number, tag: number) {
  const wallets = [];
  for (let i = 0; i < n; i++) {
    const address = numberToHex((BigInt(tag) << 32n) + BigInt(i + 1), { size: 20 }) as Address;
    await chain.testClient.setBalance({ address, value: parseEther('1000') });
    await chain.testClient.impersonateAccount({ address });
    wallets.push(
      createWalletClient({
        account: address,
        chain: chain.chain as Chain,
        transport: custom(chain.provider, { retryCount: 0 }),
        pollingInterval: 50,
        cacheTime: 0,
      }),
    );
  }
  return wallets;
}

export type Wallet = Awaited<ReturnType<typeof extraWallets>>[number];

/**
 * A registry of its own (the test account 0 owns it), with accounts 1 and 2 authorized as markets.
 * Its model registry (contracts/mocks/TestModelRegistry.sol) has every root registered.
 */
export async function standaloneRegistry(chain: EmbeddedChain) {
  const models = await deployArtifact(chain, 'TestModelRegistry');
  const { address } = await deployArtifact(chain, 'AgentRegistry', [
    models.address,
    MIN_STAKE,
    3600n,
    AUDIT_THRESHOLD,
  ]);
  const as = (wallet: Wallet | EmbeddedChain['walletClient']) =>
    getContract({ address, abi: agentRegistryAbi, client: { public: chain.publicClient, wallet } });
  const owner = as(chain.wallet(0));
  await chain.publicClient.waitForTransactionReceipt({
    hash: await owner.write.setAuthorized([chain.accounts[1], true]),
  });
  await chain.publicClient.waitForTransactionReceipt({
    hash: await owner.write.setAuthorized([chain.accounts[2], true]),
  });
  return { address, as, owner, market: as(chain.wallet(1)), otherMarket: as(chain.wallet(2)) };
}

export async function send(chain: EmbeddedChain, hash: Promise<Hex>) {
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: await hash });
  assert.equal(receipt.status, 'success');
  return receipt;
}
