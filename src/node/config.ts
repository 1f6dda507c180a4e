// The node's config file (JSON), validated at start-up with every bad field listed at once.
//
// Environment variables override file fields (the value is parsed as the field's type):
//   VERINFER_RPC_URL           rpcUrl
//   VERINFER_CHAIN_ID          chainId
//   VERINFER_DEPLOYMENT        deployment (path to a deployment JSON)
//   VERINFER_ROLES             roles (comma-separated: worker,verifier)
//   VERINFER_DEVNET            devnet (true/false)
//   VERINFER_DB                database
//   VERINFER_KEYSTORE          key.keystore
//   VERINFER_KEY_PASSWORD_ENV  key.passwordEnv (the NAME of the variable holding the password)
//   VERINFER_PRIVATE_KEY       key.privateKey (devnet only)
//   VERINFER_HTTP_PORT         http.port
//   VERINFER_P2P_LISTEN        p2p.listen (comma-separated multiaddrs)
//   VERINFER_LOG_LEVEL         logLevel
//   VERINFER_WATCH_SHARE       verifier.watchShare
//   VERINFER_CHEAT             worker.cheat (devnet only)
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Address, parseEther } from 'viem';
import { z } from 'zod';
import { VerinferError } from '../errors/base.ts';

/** A config file that cannot be used; metaMessages list every bad field and what to do. */
export class ConfigError extends VerinferError {
  override name = 'ConfigError' as const;
}

const MAX_CONFIG_BYTES = 1 << 20;

const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address')
  .transform((s) => s as Address);
const ether = z
  .string()
  .regex(/^\d{1,12}(\.\d{1,18})?$/, 'must be an amount of ETH as a decimal string, e.g. "2" or "0.05"')
  .transform((s) => parseEther(s));
const path = z.string().min(1, 'must be a non-empty path').max(4096);

export const addressesSchema = z.strictObject({
  dataRegistry: address,
  modelRegistry: address,
  agentRegistry: address,
  verifier: address,
  disputeGame: address,
  taskMarket: address,
  batchMarket: address,
});

const keySchema = z.strictObject({
  /** A Web3 Secret Storage v3 file (`verinfer key new`). */
  keystore: path.optional(),
  /** The name of the environment variable that holds the keystore's password. */
  passwordEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable NAME like VERINFER_KEY_PASSWORD')
    .default('VERINFER_KEY_PASSWORD'),
  /** A file whose first line is the keystore's password (instead of passwordEnv). */
  passwordFile: path.optional(),
  /** A plain private key: allowed only with `devnet: true`. */
  privateKey: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte hex key')
    .optional(),
});

const modelsSchema = z.strictObject({
  /** Directories whose sub-directories are model packages. */
  roots: z.array(path).max(64).default([]),
  /** Model package directories. */
  dirs: z.array(path).max(256).default([]),
  /** Example models shipped with Verinfer, imported on first use into cacheDir. */
  examples: z
    .array(z.enum(['digits', 'spam']))
    .max(2)
    .default([]),
  cacheDir: path.default('.tmp/node-models'),
});

const workerSchema = z.strictObject({
  stake: ether.default(parseEther('2')),
  endpoint: z.string().max(256).default(''),
  /** Owed fees at or above this are withdrawn to the node's address. */
  withdrawThreshold: ether.default(parseEther('0.05')),
  /** Devnet only: the share of results to corrupt (0..1). */
  cheat: z.number().min(0).max(1).default(0),
  /** Several workers on one model: try open tasks in turns of this many blocks (0: always try). */
  takeStaggerBlocks: z.number().int().min(0).max(64).default(0),
  /** Devnet only: never move in a dispute (the worker then loses on time). */
  silentInDisputes: z.boolean().default(false),
  /** Devnet only: in every batch, commit a wrong output at this request's position (and defend it). */
  batchCheatIndex: z.number().int().min(0).max(4095).optional(),
});

const verifierSchema = z.strictObject({
  stake: ether.default(parseEther('2')),
  endpoint: z.string().max(256).default(''),
  withdrawThreshold: ether.default(parseEther('0.05')),
  /** The share of results this node is not assigned to audit that it re-executes anyway (0..1). */
  watchShare: z.number().min(0).max(1).default(0.1),
  /**
   * Devnet only, for demonstrations and tests: `challenge-honest` challenges every result it
   * re-executes, right or wrong, and plays a corrupted trace; `collude` never challenges and, as
   * auditor, attests a devnet cheater's corrupted result.
   */
  behaviour: z.enum(['honest', 'challenge-honest', 'collude']).default('honest'),
});

export const configSchema = z
  .strictObject({
    rpcUrl: z.url({ protocol: /^(https?|wss?)$/, error: 'must be an http(s) or ws(s) URL' }),
    chainId: z.number().int().positive().optional(),
    /** A deployment JSON: { addresses, chainId?, blockNumber? } (or the addresses at top level). */
    deployment: path.optional(),
    addresses: addressesSchema.optional(),
    /** The first block to read logs from on a fresh database (the deployment's block). */
    fromBlock: z.number().int().nonnegative().optional(),
    roles: z
      .array(z.enum(['worker', 'verifier']))
      .min(1, 'name at least one role: "worker" and/or "verifier"')
      .refine((r) => new Set(r).size === r.length, 'must not repeat a role'),
    devnet: z.boolean().default(false),
    key: keySchema,
    database: path,
    models: modelsSchema.default({ roots: [], dirs: [], examples: [], cacheDir: '.tmp/node-models' }),
    backend: z.enum(['fast', 'wasm', 'native', 'reference']).default('fast'),
    worker: workerSchema.optional(),
    verifier: verifierSchema.optional(),
    http: z
      .strictObject({
        port: z.number().int().min(0).max(65_535),
        host: z.enum(['127.0.0.1', 'localhost', '::1']).default('127.0.0.1'),
      })
      .optional(),
    /** With `listen`, the node runs a libp2p host (src/node/peer.ts). */
    p2p: z
      .strictObject({
        listen: z.array(z.string().max(256)).max(16).default([]),
        /** The multiaddr to publish in the AgentRegistry (default: the first dialable listen address). */
        announce: z.string().max(256).optional(),
        /** Peers (multiaddrs ending in /p2p/<peerId>) dialled at start. */
        bootstrap: z.array(z.string().max(256)).max(64).default([]),
        /** A worker's heartbeat announcement period; 0 turns it off. */
        heartbeatSeconds: z.number().int().min(0).max(86_400).default(30),
        /** Where the libp2p key is kept (default: next to the database, `<database>.peer-key`). */
        keyFile: path.optional(),
      })
      .optional(),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    pollIntervalMs: z.number().int().min(10).max(600_000).default(2_000),
    maxBlockRange: z.number().int().min(1).max(500).default(500),
  })
  .superRefine((c, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    if (!c.deployment && !c.addresses) issue(['deployment'], 'give "deployment" (a path) or "addresses"');
    if (c.deployment && c.addresses) issue(['addresses'], 'give "deployment" or "addresses", not both');
    if (c.key.privateKey && !c.devnet)
      issue(['key', 'privateKey'], 'a plain private key is allowed only with "devnet": true; use a keystore');
    if (c.key.privateKey && c.key.keystore) issue(['key'], 'give "keystore" or "privateKey", not both');
    if (!c.key.privateKey && !c.key.keystore)
      issue(['key', 'keystore'], 'give a keystore path (create one with `verinfer key new`)');
    if ((c.worker?.cheat ?? 0) > 0 && !c.devnet)
      issue(['worker', 'cheat'], 'cheating is a devnet demo: set "devnet": true or "cheat": 0');
    if (c.worker?.batchCheatIndex !== undefined && !c.devnet)
      issue(['worker', 'batchCheatIndex'], 'a cheating batch is a devnet demo: set "devnet": true');
    if (c.worker?.silentInDisputes && !c.devnet)
      issue(['worker', 'silentInDisputes'], 'a silent worker is a devnet demo: set "devnet": true');
    if ((c.verifier?.behaviour ?? 'honest') !== 'honest' && !c.devnet)
      issue(
        ['verifier', 'behaviour'],
        'a dishonest verifier is a devnet demo: set "devnet": true or "honest"',
      );
    const m = c.models;
    if (m.roots.length + m.dirs.length + m.examples.length === 0)
      issue(['models'], 'serve at least one model: "roots", "dirs" or "examples"');
  });

export type NodeConfig = z.output<typeof configSchema>;
export type NodeRole = NodeConfig['roles'][number];

type Env = Readonly<Record<string, string | undefined>>;

const ENV_FIELDS: readonly [string, readonly string[], 'string' | 'number' | 'boolean' | 'list'][] = [
  ['VERINFER_RPC_URL', ['rpcUrl'], 'string'],
  ['VERINFER_CHAIN_ID', ['chainId'], 'number'],
  ['VERINFER_DEPLOYMENT', ['deployment'], 'string'],
  ['VERINFER_ROLES', ['roles'], 'list'],
  ['VERINFER_DEVNET', ['devnet'], 'boolean'],
  ['VERINFER_DB', ['database'], 'string'],
  ['VERINFER_KEYSTORE', ['key', 'keystore'], 'string'],
  ['VERINFER_KEY_PASSWORD_ENV', ['key', 'passwordEnv'], 'string'],
  ['VERINFER_PRIVATE_KEY', ['key', 'privateKey'], 'string'],
  ['VERINFER_HTTP_PORT', ['http', 'port'], 'number'],
  ['VERINFER_P2P_LISTEN', ['p2p', 'listen'], 'list'],
  ['VERINFER_LOG_LEVEL', ['logLevel'], 'string'],
  ['VERINFER_WATCH_SHARE', ['verifier', 'watchShare'], 'number'],
  ['VERINFER_CHEAT', ['worker', 'cheat'], 'number'],
];

/** The environment variables that override config fields, with the field each one sets. */
export const ENV_OVERRIDES: readonly { variable: string; field: string }[] = ENV_FIELDS.map(([v, p]) => ({
  variable: v,
  field: p.join('.'),
}));

function coerce(variable: string, raw: string, kind: 'string' | 'number' | 'boolean' | 'list'): unknown {
  if (kind === 'string') return raw;
  if (kind === 'list')
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (kind === 'boolean') {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    throw new ConfigError(`Environment variable ${variable}="${raw}" is not a boolean. Use true or false.`);
  }
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n))
    throw new ConfigError(`Environment variable ${variable}="${raw}" is not a number.`);
  return n;
}

/** Applies the environment's overrides to a parsed (not yet validated) config object. */
export function applyEnv(raw: Record<string, unknown>, env: Env): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const [variable, fieldPath, kind] of ENV_FIELDS) {
    const value = env[variable];
    if (value === undefined) continue;
    let node = out as Record<string, unknown>;
    for (const key of fieldPath.slice(0, -1)) {
      const next = node[key];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[fieldPath[fieldPath.length - 1]] = coerce(variable, value, kind);
  }
  return out;
}

/** Validates a config object (after env overrides); relative paths resolve against `baseDir`. */
export function parseConfig(raw: unknown, baseDir = process.cwd()): NodeConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `- ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`The node config has ${lines.length} problem(s). Fix these fields:`, {
      metaMessages: lines,
    });
  }
  const c = result.data;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    ...c,
    deployment: c.deployment && abs(c.deployment),
    database: c.database === ':memory:' ? c.database : abs(c.database),
    key: {
      ...c.key,
      keystore: c.key.keystore && abs(c.key.keystore),
      passwordFile: c.key.passwordFile && abs(c.key.passwordFile),
    },
    p2p: c.p2p && { ...c.p2p, keyFile: c.p2p.keyFile && abs(c.p2p.keyFile) },
    models: {
      ...c.models,
      roots: c.models.roots.map(abs),
      dirs: c.models.dirs.map(abs),
      cacheDir: abs(c.models.cacheDir),
    },
  };
}

/** Reads, overrides from the environment and validates the config file at `file`. */
export function loadConfig(file: string, env: Env = process.env): NodeConfig {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES)
      throw new ConfigError(`Config file "${file}" is ${size} bytes; a node config is at most 1 MiB.`);
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    throw new ConfigError(`Cannot read the config file "${file}". Check the path given to --config.`, {
      cause,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`Config file "${file}" is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`Config file "${file}" must hold one JSON object.`);
  return parseConfig(applyEnv(raw as Record<string, unknown>, env), dirname(resolve(file)));
}

/** The addresses (and start block) of a deployment JSON, validated. */
export function readDeploymentFile(file: string): {
  addresses: z.output<typeof addressesSchema>;
  chainId?: number;
  blockNumber?: number;
} {
  let raw: unknown;
  try {
    if (statSync(file).size > MAX_CONFIG_BYTES) throw new Error('larger than 1 MiB');
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new ConfigError(`Cannot read the deployment file "${file}": ${(cause as Error).message}`, {
      cause,
    });
  }
  const schema = z.object({
    addresses: addressesSchema,
    chainId: z.number().int().positive().optional(),
    blockNumber: z.number().int().nonnegative().optional(),
  });
  const wrapped = typeof raw === 'object' && raw !== null && !('addresses' in raw) ? { addresses: raw } : raw;
  const result = schema.safeParse(wrapped);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `- ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`The deployment file "${file}" is not valid.`, { metaMessages: lines });
  }
  return result.data;
}
