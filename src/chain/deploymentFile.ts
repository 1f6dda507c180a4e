// A deployment as a JSON file: where Verinfer's contracts are on one chain, their parameters, and
// the models registered there. Nodes, the CLI and the SDK read it; the devnet writes it and also
// serves it over JSON-RPC (`verinfer_deployment`), so that `--rpc <url>` alone finds the contracts.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { type Address, createPublicClient, type Hex, http, isAddress } from 'viem';
import { z } from 'zod';
import { VerinferError } from '../errors/base.ts';
import type { VerinferParams } from './bindings/types.ts';
import type { VerinferAddresses } from './deployVerinfer.ts';

/** The custom JSON-RPC method by which a devnet tells its deployment. */
export const DEPLOYMENT_RPC_METHOD = 'verinfer_deployment';
/** A deployment file is small; anything bigger is not one. */
const MAX_FILE_BYTES = 1024 * 1024;

export class DeploymentError extends VerinferError {
  override name: string = 'DeploymentError';
}

const address = z.string().refine((s) => isAddress(s, { strict: false }), 'not a 20-byte hex address');
const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'not 32 bytes of hex');

const schema = z.object({
  version: z.literal(1),
  chainId: z.number().int().positive(),
  rpcUrl: z.string().optional(),
  addresses: z.object({
    dataRegistry: address,
    modelRegistry: address,
    agentRegistry: address,
    verifier: address,
    disputeGame: address,
    taskMarket: address,
    batchMarket: address,
  }),
  /** VerinferParams with every integer as a decimal string. */
  params: z.record(z.string(), z.unknown()),
  /** Example applications deployed beside the system (the devnet's MessageBoard). */
  apps: z.record(z.string().max(64), address).optional(),
  models: z
    .array(z.object({ name: z.string().max(64), root: hex32, dir: z.string().optional() }))
    .max(1024)
    .default([]),
});

export interface DeploymentModel {
  name: string;
  root: Hex;
  /** A local model package directory, when the deployer has one. */
  dir?: string;
}

export interface Deployment {
  version: 1;
  chainId: number;
  rpcUrl?: string;
  addresses: VerinferAddresses;
  params: VerinferParams;
  models: DeploymentModel[];
  apps?: Record<string, Address>;
}

function toJsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]));
  return value;
}

/** Integer fields of VerinferParams that are bigints (the rest are numbers). */
const BIGINT_KEYS = new Set([
  'minStake',
  'unbondingDelay',
  'clockBudget',
  'workerStake',
  'auditStake',
  'challengeBond',
  'resultWindow',
  'challengeWindow',
  'auditWindow',
  'minFee',
  'batchStakeBase',
  'batchStakePerResult',
  'queryBond',
  'responseWindow',
  'withdrawalDelay',
]);

function paramsFromJson(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => paramsFromJson(v));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, paramsFromJson(v, k)]));
  if (BIGINT_KEYS.has(key) && (typeof value === 'string' || typeof value === 'number')) return BigInt(value);
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) return Number(value);
  return value;
}

export function deploymentToJson(d: Deployment): unknown {
  return toJsonValue(d);
}

/** Checks a parsed JSON value and returns the deployment, or throws naming each bad field. */
export function parseDeployment(value: unknown, source: string): Deployment {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new DeploymentError(`${source} is not a Verinfer deployment.`, { metaMessages: problems });
  }
  const d = parsed.data;
  return {
    version: 1,
    chainId: d.chainId,
    rpcUrl: d.rpcUrl,
    addresses: d.addresses as VerinferAddresses,
    params: paramsFromJson(d.params) as VerinferParams,
    models: d.models.map((m) => ({ name: m.name, root: m.root as Hex, dir: m.dir })),
    ...(d.apps ? { apps: d.apps as Record<string, Address> } : {}),
  };
}

export async function readDeploymentFile(path: string): Promise<Deployment> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new DeploymentError(`Cannot read the deployment file ${path}.`, {
      cause,
      metaMessages: ['Pass the file that `verinfer devnet` or your deployment wrote.'],
    });
  }
  if (text.length > MAX_FILE_BYTES)
    throw new DeploymentError(`${path} is over ${MAX_FILE_BYTES} bytes: not a deployment file.`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DeploymentError(`${path} is not JSON.`, { cause });
  }
  return parseDeployment(json, path);
}

/** Writes atomically (a temporary file renamed into place), so a reader never sees half a file. */
export async function writeDeploymentFile(path: string, d: Deployment): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(deploymentToJson(d), null, 2)}\n`);
  await rename(tmp, path);
}

/** Asks a devnet's RPC endpoint for its deployment. */
export async function fetchDeployment(rpcUrl: string): Promise<Deployment> {
  const client = createPublicClient({ transport: http(rpcUrl, { retryCount: 0, timeout: 5_000 }) });
  let value: unknown;
  try {
    value = await client.request({ method: DEPLOYMENT_RPC_METHOD } as never);
  } catch (cause) {
    throw new DeploymentError(`${rpcUrl} did not tell its Verinfer deployment.`, {
      cause,
      metaMessages: [
        'A `verinfer devnet` answers this; for another chain pass --deployment <file>.',
        'Is the devnet running? Start it with `npm start` or `npx verinfer devnet`.',
      ],
    });
  }
  return parseDeployment(value, `the deployment served by ${rpcUrl}`);
}

/** `--deployment <file>` if given, else the endpoint's own answer. */
export async function resolveDeployment(rpcUrl: string, file?: string): Promise<Deployment> {
  const d = file ? await readDeploymentFile(file) : await fetchDeployment(rpcUrl);
  return d;
}

export function modelByNameOrRoot(d: Deployment, nameOrRoot: string): DeploymentModel | undefined {
  const lower = nameOrRoot.toLowerCase();
  return d.models.find((m) => m.name === nameOrRoot || m.root.toLowerCase() === lower);
}
