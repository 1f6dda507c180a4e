// A viem client that knows the Verinfer contracts. It is a plain viem client (public and wallet
// actions), extended with the system's addresses and the actions of ./actions bound as methods;
// `.extend(fn)` adds more, as in viem.
import {
  type Account,
  type Address,
  type Chain,
  type Client,
  createClient,
  type Hex,
  type ParseAccount,
  type PublicActions,
  publicActions,
  type Transport,
  type WalletActions,
  walletActions,
} from 'viem';
import { toHex } from '../commit/keccak.ts';
import { modelRoot } from '../commit/modelRoot.ts';
import type { Model } from '../engine/graph.ts';
import { type VerinferActions, verinferActions } from './decorators/verinfer.ts';

/** The addresses of the deployed system (VerinferDeployment.addresses has them all). */
export interface VerinferContractAddresses {
  taskMarket: Address;
  batchMarket: Address;
  agentRegistry: Address;
  modelRegistry: Address;
  dataRegistry: Address;
  disputeGame: Address;
}

/** What every action reads from the client. */
export interface VerinferConfig {
  contracts: VerinferContractAddresses;
  /** Models the client can run or check inputs against, by model root (lower-case hex). */
  models: ReadonlyMap<Hex, Model>;
}

/** The client an action needs: any viem client carrying the Verinfer config. */
export type VerinferBaseClient<
  chain extends Chain | undefined = Chain | undefined,
  account extends Account | undefined = Account | undefined,
> = Client<Transport, chain, account> & { verinfer: VerinferConfig };

export interface CreateVerinferClientParameters<
  transport extends Transport = Transport,
  chain extends Chain | undefined = Chain | undefined,
  accountOrAddress extends Account | Address | undefined = undefined,
> {
  chain?: chain;
  transport: transport;
  /** The account that signs and sends; an address for a node-managed (unlocked) account. */
  account?: accountOrAddress;
  contracts: VerinferContractAddresses;
  /** Models known locally: requestInference checks inputs against them, verifyTask runs them. */
  models?: readonly Model[];
  /** Milliseconds between polls (waits, watchers, receipts). */
  pollingInterval?: number;
  /** How long a block number stays cached (0 on a local chain). */
  cacheTime?: number;
  key?: string;
  name?: string;
}

export type VerinferClient<
  transport extends Transport = Transport,
  chain extends Chain | undefined = Chain | undefined,
  account extends Account | undefined = Account | undefined,
> = Client<
  transport,
  chain,
  account,
  undefined,
  PublicActions<transport, chain> &
    WalletActions<chain, account> & { verinfer: VerinferConfig } & VerinferActions<chain, account>
>;

/**
 * Creates a client for the Verinfer contracts at `contracts`.
 *
 * @example
 * const client = createVerinferClient({ chain, transport: http(url), account, contracts })
 * const { taskId } = await client.requestInference({ model, input, fee: parseEther('0.01') })
 * const result = await client.waitForFinality({ taskId })
 */
export function createVerinferClient<
  transport extends Transport,
  chain extends Chain | undefined = undefined,
  accountOrAddress extends Account | Address | undefined = undefined,
>(
  parameters: CreateVerinferClientParameters<transport, chain, accountOrAddress>,
): VerinferClient<transport, chain, ParseAccount<accountOrAddress>> {
  const { contracts, models = [], key = 'verinfer', name = 'Verinfer Client', ...rest } = parameters;
  const known = new Map<Hex, Model>();
  for (const m of models) known.set(toHex(modelRoot(m)).toLowerCase() as Hex, m);
  const verinfer: VerinferConfig = { contracts: { ...contracts }, models: known };
  const client = createClient({ ...rest, key, name, type: 'verinferClient' })
    .extend(publicActions)
    .extend(walletActions)
    .extend(() => ({ verinfer }))
    .extend(verinferActions);
  return client as unknown as VerinferClient<transport, chain, ParseAccount<accountOrAddress>>;
}
