// Deploys and wires the whole settlement system: registries, the one-step verifier, the dispute
// game and both markets. Works on the embedded EDR chain (startEmbeddedChain), on a local node, or
// on any RPC endpoint through viem's http() (connectRpc).
import {
  type Abi,
  type Account,
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type GetContractReturnType,
  getContract,
  type Hex,
  http,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { abis, type VerinferAbis } from './bindings/systemAbis.ts';
import { DEFAULT_PARAMS, type VerinferParams } from './bindings/types.ts';
import { deployContract } from './deploy.ts';
import { readArtifact } from './hardhat.ts';

type Wallet = WalletClient<Transport, Chain, Account>;
type Client = PublicClient<Transport, Chain>;

/** What deployVerinfer needs of a chain: a public client and a funded wallet. */
export interface ChainClients {
  publicClient: Client;
  walletClient: Wallet;
}

export { abis, type VerinferAbis, verinferErrorsAbi } from './bindings/systemAbis.ts';

export interface VerinferAddresses {
  dataRegistry: Address;
  modelRegistry: Address;
  agentRegistry: Address;
  verifier: Address;
  disputeGame: Address;
  taskMarket: Address;
  batchMarket: Address;
}

type Bound<TAbi extends Abi> = GetContractReturnType<TAbi, { public: Client; wallet: Wallet }>;

export interface VerinferContracts {
  dataRegistry: Bound<VerinferAbis['dataRegistry']>;
  modelRegistry: Bound<VerinferAbis['modelRegistry']>;
  agentRegistry: Bound<VerinferAbis['agentRegistry']>;
  disputeGame: Bound<VerinferAbis['disputeGame']>;
  taskMarket: Bound<VerinferAbis['taskMarket']>;
  batchMarket: Bound<VerinferAbis['batchMarket']>;
}

export interface VerinferDeployment extends VerinferContracts {
  addresses: VerinferAddresses;
  params: VerinferParams;
  /** Gas used by each deployment and wiring transaction. */
  gas: Record<string, bigint>;
  /** The same contracts, sending from another wallet. */
  as(wallet: Wallet): VerinferContracts;
}

export interface DeployVerinferOptions {
  params?: Partial<Omit<VerinferParams, 'task' | 'batch'>> & {
    task?: Partial<VerinferParams['task']>;
    batch?: Partial<VerinferParams['batch']>;
  };
  /** ERC-20s the BatchMarket accepts as fee tokens, fixed at deployment (the native currency always is). */
  batchFeeTokens?: readonly Address[];
  /** Where creation bytecode comes from (default: the project build). */
  loadArtifact?: (name: string) => Promise<{ abi: readonly unknown[]; bytecode: Hex }>;
}

/** The defaults under `over`; the audit threshold defaults to the TaskMarket's auditStake. */
export function mergeParams(over: DeployVerinferOptions['params'] = {}): VerinferParams {
  const task = { ...DEFAULT_PARAMS.task, ...over.task };
  return {
    ...DEFAULT_PARAMS,
    ...over,
    auditThreshold: over.auditThreshold ?? task.auditStake,
    task,
    batch: { ...DEFAULT_PARAMS.batch, ...over.batch },
  };
}

/** Binds the system's contracts at `addresses` to a public client and a wallet. */
export function bindVerinfer(
  addresses: VerinferAddresses,
  publicClient: Client,
  wallet: Wallet,
): VerinferContracts {
  const client = { public: publicClient, wallet };
  return {
    dataRegistry: getContract({ address: addresses.dataRegistry, abi: abis.dataRegistry, client }),
    modelRegistry: getContract({ address: addresses.modelRegistry, abi: abis.modelRegistry, client }),
    agentRegistry: getContract({ address: addresses.agentRegistry, abi: abis.agentRegistry, client }),
    disputeGame: getContract({ address: addresses.disputeGame, abi: abis.disputeGame, client }),
    taskMarket: getContract({ address: addresses.taskMarket, abi: abis.taskMarket, client }),
    batchMarket: getContract({ address: addresses.batchMarket, abi: abis.batchMarket, client }),
  };
}

/**
 * Deploys DataRegistry, ModelRegistry, AgentRegistry, OneStepVerifier, DisputeGame, TaskMarket
 * and BatchMarket from the chain's wallet, authorizes both markets in the registry and the game,
 * renounces the registry's and the game's ownership, and returns typed contracts.
 */
export async function deployVerinfer(
  chain: ChainClients,
  options: DeployVerinferOptions = {},
): Promise<VerinferDeployment> {
  const params = mergeParams(options.params);
  const load = options.loadArtifact ?? readArtifact;
  const gas: Record<string, bigint> = {};
  const deploy = async (name: string, args: readonly unknown[] = []) => {
    const { bytecode } = await load(name);
    const { address, receipt } = await deployContract(chain, { abi: [] as Abi, bytecode }, args as never);
    gas[`deploy ${name}`] = receipt.gasUsed;
    return address;
  };
  const encodeCtor = async (name: string) => (await load(name)).abi as Abi;
  const deployWithAbi = async (name: string, args: readonly unknown[]) => {
    const { bytecode } = await load(name);
    const abi = await encodeCtor(name);
    const { address, receipt } = await deployContract(chain, { abi, bytecode }, args as never);
    gas[`deploy ${name}`] = receipt.gasUsed;
    return address;
  };
  const dataRegistry = await deploy('DataRegistry');
  const modelRegistry = await deployWithAbi('ModelRegistry', [dataRegistry]);
  const agentRegistry = await deployWithAbi('AgentRegistry', [
    modelRegistry,
    params.minStake,
    params.unbondingDelay,
    params.auditThreshold,
  ]);
  const verifier = await deploy('OneStepVerifier');
  const disputeGame = await deployWithAbi('DisputeGame', [
    modelRegistry,
    verifier,
    params.clockBudget,
    BigInt(params.gameWorkerShareBps),
  ]);
  const taskMarket = await deployWithAbi('TaskMarket', [
    agentRegistry,
    modelRegistry,
    disputeGame,
    params.task,
    params.feeTokens,
  ]);
  const batchMarket = await deployWithAbi('BatchMarket', [
    agentRegistry,
    disputeGame,
    params.batch,
    options.batchFeeTokens ?? [],
  ]);
  const addresses = {
    dataRegistry,
    modelRegistry,
    agentRegistry,
    verifier,
    disputeGame,
    taskMarket,
    batchMarket,
  };
  const bound = bindVerinfer(addresses, chain.publicClient, chain.walletClient);
  const wire = async (label: string, hash: Promise<Hex>) => {
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: await hash });
    if (receipt.status !== 'success') throw new Error(`Wiring step "${label}" failed.`);
    gas[label] = receipt.gasUsed;
  };
  await wire('authorize TaskMarket', bound.agentRegistry.write.setAuthorized([taskMarket, true]));
  await wire('authorize BatchMarket', bound.agentRegistry.write.setAuthorized([batchMarket, true]));
  await wire('arena TaskMarket', bound.disputeGame.write.setArena([taskMarket, true]));
  await wire('arena BatchMarket', bound.disputeGame.write.setArena([batchMarket, true]));
  // With the owners gone, no key can authorize another market (which could lock and slash stake)
  // or another arena: stake and bonds move only by the rules of the contracts wired above.
  await wire('renounce AgentRegistry', bound.agentRegistry.write.renounceOwnership());
  await wire('renounce DisputeGame', bound.disputeGame.write.renounceOwnership());
  return {
    ...bound,
    addresses,
    params,
    gas,
    as: (wallet) => bindVerinfer(addresses, chain.publicClient, wallet),
  };
}

/** Clients for any EVM JSON-RPC endpoint (a local anvil, a testnet, ...), sending from `privateKey`. */
export async function connectRpc(url: string, privateKey: Hex): Promise<ChainClients> {
  const transport = http(url, { retryCount: 0 });
  const probe = createPublicClient({ transport });
  const id = await probe.getChainId();
  const chain = defineChain({
    id,
    name: `rpc ${id}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [url] } },
  });
  return {
    publicClient: createPublicClient({ chain, transport }) as Client,
    walletClient: createWalletClient({ account: privateKeyToAccount(privateKey), chain, transport }),
  };
}
