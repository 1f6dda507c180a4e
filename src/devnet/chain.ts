// The devnet's chain: the in-process EDR chain, mining a block every second, served as JSON-RPC
// on localhost, with Verinfer deployed on short windows and both example models registered.
import { join, resolve } from 'node:path';
import { type Abi, type Hex, parseEther } from 'viem';
import { anvilAccounts } from '../chain/anvil.ts';
import { modelDescriptorOf } from '../chain/bindings/commitments.ts';
import { ZERO_BYTES32 } from '../chain/bindings/types.ts';
import { deployContract } from '../chain/deploy.ts';
import {
  DEPLOYMENT_RPC_METHOD,
  type Deployment,
  deploymentToJson,
  writeDeploymentFile,
} from '../chain/deploymentFile.ts';
import {
  type DeployVerinferOptions,
  deployVerinfer,
  type VerinferDeployment,
} from '../chain/deployVerinfer.ts';
import { type EmbeddedChain, startEmbeddedChain } from '../chain/embedded.ts';
import { readArtifact } from '../chain/hardhat.ts';
import { type RpcServer, serveRpc } from '../chain/rpcServer.ts';
import { toHex } from '../commit/keccak.ts';
import { modelRoot } from '../commit/modelRoot.ts';
import { VerinferError } from '../errors/base.ts';
import { EXAMPLES, loadOrImportExample } from '../sdk/examples.ts';
import type { ModelPackage } from '../store/modelDir.ts';
import { DEVNET_BLOCK_MS, DEVNET_PARAMS } from './params.ts';

export interface DevnetAccount {
  role: 'deployer' | 'worker' | 'verifier' | 'requester';
  address: Hex;
  /** The devnet's well-known test keys: they hold only devnet ether. */
  privateKey: Hex;
}

export interface DevnetChain {
  chain: EmbeddedChain;
  rpc: RpcServer;
  deployment: Deployment;
  contracts: VerinferDeployment;
  packages: Map<string, ModelPackage>;
  deploymentFile: string;
  close(): Promise<void>;
}

export interface StartDevnetChainOptions {
  home: string;
  port: number;
  /** Where the imported example packages are cached between runs. */
  modelCache: string;
  /** Overrides of the devnet's parameters (tests shorten or lengthen windows). */
  params?: DeployVerinferOptions['params'];
  onStep?: (step: string) => void;
}

export class DevnetError extends VerinferError {
  override name: string = 'DevnetError';
}

async function mined(chain: EmbeddedChain, hash: Promise<Hex>, label: string): Promise<void> {
  const r = await chain.publicClient.waitForTransactionReceipt({ hash: await hash });
  if (r.status !== 'success') throw new DevnetError(`Devnet set-up step "${label}" reverted.`);
}

/** The devnet's test accounts (the well-known mnemonic of local chains). */
export function devnetAccounts(workers: number, verifiers: number): DevnetAccount[] {
  const keys = anvilAccounts(2 + workers + verifiers);
  const roles: DevnetAccount['role'][] = [
    'deployer',
    ...Array<DevnetAccount['role']>(workers).fill('worker'),
    ...Array<DevnetAccount['role']>(verifiers).fill('verifier'),
    'requester',
  ];
  return roles.map((role, i) => ({ role, address: keys[i].address, privateKey: keys[i].privateKey }));
}

export async function startDevnetChain(options: StartDevnetChainOptions): Promise<DevnetChain> {
  const step = options.onStep ?? (() => {});
  const packages = new Map<string, ModelPackage>();
  for (const example of EXAMPLES) {
    step(`loading the example model ${example.name}`);
    packages.set(example.name, await loadOrImportExample(example, join(options.modelCache, example.name)));
  }
  step('starting the embedded EDR chain');
  const chain = await startEmbeddedChain();
  let rpc: RpcServer | undefined;
  try {
    step('deploying Verinfer with devnet windows');
    const params = options.params ?? {};
    const contracts = await deployVerinfer(chain, {
      params: {
        ...DEVNET_PARAMS,
        ...params,
        task: { ...DEVNET_PARAMS.task, ...params.task },
        batch: { ...DEVNET_PARAMS.batch, ...params.batch },
      },
    });
    const models: Deployment['models'] = [];
    for (const [name, pkg] of packages) {
      const root = toHex(modelRoot(pkg.model));
      step(`registering ${name} ${root.slice(0, 10)}…`);
      const info = {
        name,
        version: pkg.model.meta.version,
        parent: ZERO_BYTES32,
        dataId: ZERO_BYTES32,
        uri: `vrnf://${name}`,
      };
      await mined(chain, contracts.modelRegistry.write.register([modelDescriptorOf(pkg.model), info]), name);
      models.push({ name, root, dir: resolve(options.modelCache, name) });
    }
    step('deploying the example app MessageBoard (posts the spam model calls ham)');
    const board = await readArtifact('MessageBoard');
    const spamRoot = models.find((m) => m.name === 'spam')?.root ?? ZERO_BYTES32;
    const { address: messageBoard } = await deployContract(
      chain,
      { abi: board.abi as Abi, bytecode: board.bytecode },
      [contracts.addresses.taskMarket, spamRoot] as never,
    );
    const deployment: Deployment = {
      version: 1,
      chainId: chain.chain.id,
      addresses: contracts.addresses,
      params: contracts.params,
      models,
      apps: { messageBoard },
    };
    const json = deploymentToJson(deployment);
    try {
      rpc = await serveRpc({
        provider: chain.provider,
        port: options.port,
        methods: { [DEPLOYMENT_RPC_METHOD]: () => json },
      });
    } catch (cause) {
      throw new DevnetError(`Cannot serve JSON-RPC on 127.0.0.1:${options.port}.`, {
        cause,
        metaMessages: ['Another process holds the port: stop it, or pass --port 0 for a free one.'],
      });
    }
    deployment.rpcUrl = rpc.url;
    const deploymentFile = join(options.home, 'deployment.json');
    await writeDeploymentFile(deploymentFile, deployment);
    // From now on a block every second, holding every transaction sent since the last one, as on
    // a real chain: block times then follow the wall clock (a block per transaction would push
    // chain time ahead of it by a second each), windows last what they say, and nodes wake on
    // each block.
    await chain.provider.request({ method: 'evm_setAutomine', params: [false] } as never);
    await chain.provider.request({ method: 'evm_setIntervalMining', params: [DEVNET_BLOCK_MS] } as never);
    const served = rpc;
    return {
      chain,
      rpc: served,
      deployment,
      contracts,
      packages,
      deploymentFile,
      close: async () => {
        await served.close();
        await chain.close();
      },
    };
  } catch (error) {
    await rpc?.close();
    await chain.close();
    throw error;
  }
}

/** Sends devnet ether (the test accounts hold 10,000 each). */
export const DEVNET_WORKER_STAKE = parseEther('10');
export const DEVNET_VERIFIER_STAKE = parseEther('5');
