// What every network command (and the MCP server) does first: resolve the deployment, check that
// the endpoint is the chain the deployment names, pick the signing key, load local model packages,
// and build the SDK client. Every check here runs before anything is sent.
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  type Account,
  type Chain,
  createPublicClient,
  defineChain,
  type Hex,
  type HttpTransport,
  http,
  parseEther,
} from 'viem';
import { type Deployment, type DeploymentModel, resolveDeployment } from '../chain/deploymentFile.ts';
import { createVerinferClient, type VerinferClient } from '../client/createVerinferClient.ts';
import { RpcUnreachableError } from '../client/errors.ts';
import { InputError, VerinferError } from '../errors/base.ts';
import { loadInput } from '../sdk/loadInput.ts';
import { loadModelDir, type ModelPackage } from '../store/modelDir.ts';
import { LOCAL_CHAIN_ID, loadSigningKey, type SigningKey } from './keys.ts';
import { rpcUrlOption } from './options.ts';

/** The largest input file the CLI reads: inline inputs are bounded far below this anyway. */
export const MAX_INPUT_FILE_BYTES = 1024 * 1024;

export interface NetworkFlags {
  rpc?: string;
  deployment?: string;
  keyFile?: string;
  passwordFile?: string;
}

/** --rpc, --deployment and, for commands that send, the key options. */
export function networkOptions(cmd: Command, sends: boolean): Command {
  cmd
    .option('--rpc <url>', 'JSON-RPC endpoint (default: $VERINFER_RPC_URL or http://127.0.0.1:8545)')
    .option('--deployment <file>', 'deployment file (default: asked from the devnet at --rpc)');
  if (sends)
    cmd
      .option('--key-file <keystore>', 'signing key: a v3 keystore JSON (with --password-file)')
      .option('--password-file <file>', "the keystore's password, on the first line")
      .addHelpText(
        'after',
        `\nSigning key: --key-file/--password-file, else $VERINFER_PRIVATE_KEY (a plain hex key), else,
only on a local test chain (chain id ${LOCAL_CHAIN_ID}), its well-known first test account.`,
      );
  return cmd;
}

export class NetworkError extends VerinferError {
  override name = 'NetworkError' as const;
}

export interface Network {
  rpc: string;
  deployment: Deployment;
  chainId: number;
  /** A read-only client (no account). */
  reader: NetworkClient;
  /** The signing client; loads the key on first use. */
  writer(): Promise<{ client: NetworkClient; key: SigningKey }>;
}

/** A Verinfer client on `rpc` (its type written out so that declarations can name it). */
export type NetworkClient = VerinferClient<HttpTransport, Chain, Account | undefined>;

function makeClient(rpc: string, d: Deployment, key?: SigningKey): NetworkClient {
  const chain = defineChain({
    id: d.chainId,
    name: `chain ${d.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpc] } },
  });
  return createVerinferClient({
    chain,
    transport: http(rpc, { retryCount: 1, timeout: 15_000 }),
    account: key?.account,
    contracts: d.addresses,
    pollingInterval: d.chainId === LOCAL_CHAIN_ID ? 250 : 2_000,
    cacheTime: 0,
  });
}

/** Resolves the deployment and checks that `rpc` serves its chain. */
export async function connect(flags: NetworkFlags): Promise<Network> {
  const rpc = rpcUrlOption(flags.rpc);
  const deployment = await resolveDeployment(rpc, flags.deployment);
  let chainId: number;
  try {
    chainId = await createPublicClient({
      transport: http(rpc, { retryCount: 0, timeout: 5_000 }),
    }).getChainId();
  } catch (cause) {
    throw new RpcUnreachableError({ url: rpc, cause });
  }
  if (chainId !== deployment.chainId)
    throw new NetworkError(
      `${rpc} serves chain ${chainId}, but the deployment is on chain ${deployment.chainId}.`,
      { metaMessages: ["Pass the --rpc of the deployment's chain, or the --deployment file of this one."] },
    );
  let signer: Promise<{ client: NetworkClient; key: SigningKey }> | undefined;
  return {
    rpc,
    deployment,
    chainId,
    reader: makeClient(rpc, deployment),
    writer: () => {
      signer ??= loadSigningKey({ keyFile: flags.keyFile, passwordFile: flags.passwordFile, chainId }).then(
        (key) => ({ client: makeClient(rpc, deployment, key), key }),
      );
      return signer;
    },
  };
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;

export function isRoot(value: string): value is Hex {
  return HEX32.test(value);
}

/** A 32-byte hex value given on the command line. */
export function hex32Option(value: string, flag: string): Hex {
  if (!isRoot(value)) throw new InputError(`${flag} ${value} is not 32 bytes of hex (0x and 64 hex digits).`);
  return value.toLowerCase() as Hex;
}

/** A positive amount of ether ("0.01"), in wei. */
export function etherOption(value: string, flag: string): bigint {
  let wei: bigint;
  try {
    if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) throw new Error('not a decimal');
    wei = parseEther(value);
  } catch {
    throw new InputError(`${flag} ${value} is not an amount of ether. Write it as a decimal, e.g. 0.01.`);
  }
  if (wei <= 0n) throw new InputError(`${flag} must be more than 0 ETH.`);
  return wei;
}

/** The deployment's model named or rooted `nameOrRoot`, with a clear error listing the known ones. */
export function findModel(d: Deployment, nameOrRoot: string): DeploymentModel | undefined {
  const lower = nameOrRoot.toLowerCase();
  return d.models.find((m) => m.name === nameOrRoot || m.root.toLowerCase() === lower);
}

export function unknownModel(d: Deployment, nameOrRoot: string): InputError {
  const known = d.models.map((m) => `${m.name} (${m.root.slice(0, 10)}…)`).join(', ') || 'none';
  return new InputError(`Model "${nameOrRoot}" is not in the deployment. Known models: ${known}.`, {
    metaMessages: ['Pass one of them, or a registered model root with --model-dir <package>.'],
  });
}

const packages = new Map<string, Promise<ModelPackage>>();

/**
 * The local package of a model: `modelDir` if given, else the deployment's `dir`. Its root must be
 * the model's: a package of another version would commit to other roots.
 */
export async function modelPackage(
  d: Deployment,
  nameOrRoot: string,
  modelDir?: string,
): Promise<{ pkg: ModelPackage; root: Hex; name: string }> {
  const entry = findModel(d, nameOrRoot);
  if (!entry && !modelDir) throw unknownModel(d, nameOrRoot);
  if (!entry && !isRoot(nameOrRoot))
    throw new InputError(`--model ${nameOrRoot} is neither a model of the deployment nor a model root.`);
  const dir = modelDir ?? entry?.dir;
  if (!dir)
    throw new InputError(`The deployment has no local package for model "${nameOrRoot}".`, {
      metaMessages: ['Pass its package directory with --model-dir <dir> (see `verinfer model import`).'],
    });
  let loading = packages.get(dir);
  if (!loading) {
    loading = loadModelDir(dir);
    packages.set(dir, loading);
    loading.catch(() => packages.delete(dir));
  }
  const pkg = await loading;
  const root = (entry?.root ?? nameOrRoot).toLowerCase() as Hex;
  if (pkg.manifest.modelRoot.toLowerCase() !== root)
    throw new InputError(`The package in ${dir} is model ${pkg.manifest.modelRoot}, not ${root}.`, {
      metaMessages: ['Pass the package of the model you name with --model-dir.'],
    });
  return { pkg, root, name: entry?.name ?? pkg.manifest.name };
}

/** The input tensor of a file, bounded and checked before anything is sent. */
export async function readInputFile(pkg: ModelPackage, path: string) {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new InputError(`Input "${path}" is not a file.`);
    size = s.size;
  } catch (cause) {
    if (cause instanceof InputError) throw cause;
    throw new InputError(`Cannot read input file "${path}".`, { cause });
  }
  if (size === 0) throw new InputError(`Input file "${path}" is empty. Pass a PNG, a text or a JSON input.`);
  if (size > MAX_INPUT_FILE_BYTES)
    throw new InputError(
      `Input file "${path}" has ${size} bytes; an input file has at most ${MAX_INPUT_FILE_BYTES}.`,
      { metaMessages: ['A task carries at most 128 KiB of input: split it into several tasks.'] },
    );
  return loadInput(pkg, path);
}
