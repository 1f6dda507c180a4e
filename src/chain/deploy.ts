// A typed deploy helper: deploy creation bytecode, wait for the receipt, return a viem contract.
import {
  type Abi,
  type Account,
  type Address,
  type Chain,
  type ContractConstructorArgs,
  type GetContractReturnType,
  getContract,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from 'viem';
import type { EmbeddedChain } from './embedded.ts';
import { readArtifact } from './hardhat.ts';

export interface CompiledContract<TAbi extends Abi | readonly unknown[] = Abi> {
  abi: TAbi;
  bytecode: Hex;
}

export interface Deployed<TAbi extends Abi | readonly unknown[]> {
  address: Address;
  receipt: TransactionReceipt;
  contract: GetContractReturnType<
    TAbi,
    { public: PublicClient<Transport, Chain>; wallet: WalletClient<Transport, Chain, Account> }
  >;
}

/** Deploys `compiled` from the chain's first account (or `from`) with constructor `args`. */
export async function deployContract<const TAbi extends Abi | readonly unknown[]>(
  chain: Pick<EmbeddedChain, 'publicClient' | 'walletClient'>,
  compiled: CompiledContract<TAbi>,
  args?: ContractConstructorArgs<TAbi>,
  from?: WalletClient<Transport, Chain, Account>,
): Promise<Deployed<TAbi>> {
  const wallet = from ?? chain.walletClient;
  const hash = await wallet.deployContract({
    abi: compiled.abi as Abi,
    bytecode: compiled.bytecode,
    args: (args ?? []) as readonly unknown[],
  } as Parameters<typeof wallet.deployContract>[0]);
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success' || !receipt.contractAddress) {
    throw new Error(`Deployment failed (transaction ${hash}, status ${receipt.status}).`);
  }
  const address = receipt.contractAddress;
  const contract = getContract({
    address,
    abi: compiled.abi,
    client: { public: chain.publicClient, wallet },
  });
  return { address, receipt, contract };
}

/** Builds contracts/ if needed, then deploys the contract called `name` (see readArtifact). */
export async function deployArtifact(
  chain: Pick<EmbeddedChain, 'publicClient' | 'walletClient'>,
  name: string,
  args: readonly unknown[] = [],
): Promise<Deployed<Abi>> {
  const artifact = await readArtifact(name);
  return deployContract(chain, { abi: artifact.abi as Abi, bytecode: artifact.bytecode }, args as never);
}
