// Where the page finds the chain: the dashboard server names the RPC URL; the contract addresses
// come from the chain's own `verinfer_deployment` answer when it gives one (a devnet does), and
// only otherwise from the server. Everything else is read from the chain through the SDK.
import { type Address, defineChain, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createVerinferClient, type VerinferContractAddresses } from '../../../src/client/index.ts';

export interface NodeRef {
  name: string;
  role: string;
  address: Address;
}

export interface DashboardConfig {
  rpcUrl: string;
  chainId: number;
  contracts: VerinferContractAddresses & Record<string, Address>;
  models: { name: string; root: Hex; served: boolean }[];
  nodes: NodeRef[];
  /** Present on a devnet only: its well-known requester test key, for "Try it". */
  devnet: { requesterKey: Hex } | null;
  /** Where the addresses came from. */
  addressesFrom: 'chain' | 'server';
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const CONTRACTS = [
  'taskMarket',
  'batchMarket',
  'agentRegistry',
  'modelRegistry',
  'dataRegistry',
  'disputeGame',
];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function addresses(value: unknown, from: string): DashboardConfig['contracts'] {
  if (!value || typeof value !== 'object') throw new ConfigError(`${from} named no contract addresses.`);
  const v = value as Record<string, unknown>;
  const out: Record<string, Address> = {};
  for (const [k, a] of Object.entries(v)) if (typeof a === 'string' && ADDRESS.test(a)) out[k] = a as Address;
  for (const k of CONTRACTS) if (!out[k]) throw new ConfigError(`${from} did not name the ${k} address.`);
  return out as DashboardConfig['contracts'];
}

async function rpc(url: string, method: string): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: [] }),
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await res.json()) as { result?: unknown; error?: unknown };
  if (body.error !== undefined || body.result === undefined) throw new ConfigError(`${method} failed.`);
  return body.result;
}

export async function loadConfig(): Promise<DashboardConfig> {
  const res = await fetch('./api/config', { cache: 'no-store' });
  if (!res.ok) throw new ConfigError(`The dashboard server did not give its configuration (${res.status}).`);
  const c = (await res.json()) as Record<string, unknown>;
  if (typeof c.rpcUrl !== 'string' || !/^https?:\/\//.test(c.rpcUrl))
    throw new ConfigError('The dashboard server named no http(s) RPC URL.');
  const models = Array.isArray(c.models)
    ? c.models
        .filter((m) => m && typeof m.name === 'string' && HEX32.test(String(m.root)))
        .slice(0, 256)
        .map((m) => ({
          name: String(m.name).slice(0, 64),
          root: String(m.root).toLowerCase() as Hex,
          served: !!m.served,
        }))
    : [];
  const nodes = Array.isArray(c.nodes)
    ? c.nodes
        .filter((n) => n && typeof n.name === 'string' && ADDRESS.test(String(n.address)))
        .slice(0, 256)
        .map((n) => ({
          name: String(n.name).slice(0, 64),
          role: String(n.role).slice(0, 16),
          address: n.address,
        }))
    : [];
  const key = (c.devnet as { requesterKey?: unknown } | null)?.requesterKey;
  let contracts = addresses(c.contracts, 'The dashboard server');
  let addressesFrom: DashboardConfig['addressesFrom'] = 'server';
  try {
    const own = (await rpc(c.rpcUrl, 'verinfer_deployment')) as { addresses?: unknown };
    contracts = addresses(own.addresses, 'The chain');
    addressesFrom = 'chain';
  } catch {
    // Not a devnet: the chain does not say; the server's deployment file is all there is.
  }
  return {
    rpcUrl: c.rpcUrl,
    chainId: Number(c.chainId),
    contracts,
    models,
    nodes,
    devnet: typeof key === 'string' && HEX32.test(key) ? { requesterKey: key as Hex } : null,
    addressesFrom,
  };
}

export function makeClient(config: DashboardConfig) {
  const chain = defineChain({
    id: config.chainId,
    name: 'Verinfer',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
  return createVerinferClient({
    chain,
    transport: http(config.rpcUrl, { retryCount: 0, timeout: 5_000 }),
    contracts: config.contracts,
    account: config.devnet ? privateKeyToAccount(config.devnet.requesterKey) : undefined,
    pollingInterval: 1_000,
    cacheTime: 0,
  });
}

export type Client = ReturnType<typeof makeClient>;
