// A devnet for end-to-end scenarios: the chain in this process (served on a localhost port,
// a block a second), every node a separate `verinfer node` OS process with its own key, stake
// and database. Scenarios drive it as a requester would and read the outcome from the chain.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEther, type Hex, parseEther } from 'viem';
import { inlineTaskOf, taskIdOf } from '../../src/chain/bindings/commitments.ts';
import type { TaskArgs } from '../../src/chain/bindings/types.ts';
import type { DeployVerinferOptions } from '../../src/chain/deployVerinfer.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { tensorBytes } from '../../src/commit/tensorRoot.ts';
import { type DevnetChain, devnetAccounts, startDevnetChain } from '../../src/devnet/chain.ts';
import { type NodeLogLine, type NodeProcess, startNodeProcess } from '../../src/devnet/processes.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { MODEL_CACHE } from './devnetProcess.ts';

export interface NodeSpec {
  name: string;
  role: 'worker' | 'verifier';
  worker?: { cheat?: number; silentInDisputes?: boolean; batchCheatIndex?: number };
  verifier?: { watchShare?: number; behaviour?: 'honest' | 'challenge-honest' | 'collude' };
  /**
   * Route this node's JSON-RPC through another URL (a fault-injecting proxy); a function is
   * given the chain's URL once the chain is up and returns the node's.
   */
  rpcUrl?: string | ((chainRpcUrl: string) => string | Promise<string>);
}

export interface TestNode {
  spec: NodeSpec;
  address: Hex;
  configFile: string;
  process: NodeProcess;
  logs: Record<string, unknown>[];
}

export interface TestNetwork {
  chain: DevnetChain;
  nodes: Map<string, TestNode>;
  requester: { address: Hex; privateKey: Hex };
  /** Starts (again) the node's process on its own config and database. */
  restart(name: string): Promise<void>;
  requestTask(model: string, input: Tensor, fee?: bigint): Promise<{ id: Hex; task: TaskArgs }>;
  /** Polls `read` every 250 ms until it returns a value, or fails after `ms` with `what`. */
  until<T>(what: string, read: () => Promise<T | undefined>, ms?: number): Promise<T>;
  stop(): Promise<void>;
}

/** Test windows: long enough for two loaded cores, short enough for CI. */
export const TEST_NETWORK_PARAMS: NonNullable<DeployVerinferOptions['params']> = {
  clockBudget: 45n,
  task: { challengeWindow: 15n, auditWindow: 20n, resultWindow: 30n },
  // A batch verifier re-runs every leaf before it challenges; on two cores shared with a browser
  // test and a devnet, the devnet's 12 s window was once too short for it.
  batch: { challengeWindow: 30n },
};

export async function startTestNetwork(
  specs: NodeSpec[],
  params: DeployVerinferOptions['params'] = TEST_NETWORK_PARAMS,
): Promise<TestNetwork> {
  const home = await mkdtemp(join(tmpdir(), 'verinfer-net-'));
  const chain = await startDevnetChain({ home, port: 0, modelCache: MODEL_CACHE, params });
  const accounts = devnetAccounts(specs.length, 0);
  const requester = accounts[accounts.length - 1];
  const nodes = new Map<string, TestNode>();
  const launch = (n: TestNode) => {
    n.process = startNodeProcess({ name: n.spec.name, configFile: n.configFile }, (l: NodeLogLine) => {
      n.logs.push(l.line);
      if (n.logs.length > 5_000) n.logs.shift();
    });
  };
  try {
    for (const [i, spec] of specs.entries()) {
      const account = accounts[1 + i];
      const dir = join(home, spec.name);
      await mkdir(dir, { recursive: true });
      const stake = formatEther(parseEther(spec.role === 'worker' ? '10' : '5'));
      const config = {
        devnet: true,
        rpcUrl:
          typeof spec.rpcUrl === 'function'
            ? await spec.rpcUrl(chain.rpc.url)
            : (spec.rpcUrl ?? chain.rpc.url),
        deployment: chain.deploymentFile,
        fromBlock: 0,
        roles: [spec.role],
        key: { privateKey: account.privateKey },
        database: join(dir, 'node.db'),
        models: { dirs: chain.deployment.models.flatMap((m) => (m.dir ? [m.dir] : [])) },
        pollIntervalMs: 250,
        logLevel: 'debug',
        p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        ...(spec.role === 'worker'
          ? { worker: { stake, ...spec.worker } }
          : { verifier: { stake, watchShare: 1, ...spec.verifier } }),
      };
      const configFile = join(dir, 'config.json');
      await writeFile(configFile, JSON.stringify(config, null, 2));
      const node = { spec, address: account.address, configFile, logs: [] } as unknown as TestNode;
      launch(node);
      nodes.set(spec.name, node);
    }
  } catch (error) {
    await Promise.all([...nodes.values()].map((n) => n.process?.stop()));
    await chain.close();
    throw error;
  }
  const pc = chain.chain.publicClient;
  const until = async <T>(what: string, read: () => Promise<T | undefined>, ms = 120_000): Promise<T> => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const v = await read();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 250));
    }
    const tails = [...nodes.values()]
      .map(
        (n) =>
          `${n.spec.name}: ${n.logs
            .slice(-6)
            .map((l) => JSON.stringify(l))
            .join('\n  ')}`,
      )
      .join('\n');
    throw new Error(`Timed out waiting for ${what}.\n${tails}`);
  };
  // Every node registers before the first request, so no task waits for a late joiner.
  try {
    await until('every node to register', async () => {
      const n = await pc.readContract({
        address: chain.deployment.addresses.agentRegistry,
        abi: chain.contracts.agentRegistry.abi,
        functionName: 'agentCount',
      });
      return n >= BigInt(specs.length) ? true : undefined;
    });
  } catch (error) {
    // Nothing outlives a failed start: a chain left running would keep the test process alive.
    await Promise.all([...nodes.values()].map((n) => n.process.stop()));
    await chain.close();
    throw error;
  }
  let salt = 0n;
  const wallet = chain.chain.wallet(accounts.length - 1);
  return {
    chain,
    nodes,
    requester: { address: requester.address, privateKey: requester.privateKey },
    until,
    restart: async (name) => {
      const n = nodes.get(name);
      if (!n) throw new Error(`no node ${name}`);
      await n.process.exited;
      launch(n);
    },
    requestTask: async (model, input, fee = parseEther('0.01')) => {
      const bytes = tensorBytes(input.dtype, input.data);
      const root = chain.deployment.models.find((m) => m.name === model)?.root;
      if (!root) throw new Error(`no model ${model}`);
      salt += 1n;
      const task = inlineTaskOf({
        requester: wallet.account.address,
        modelRoot: root,
        input: bytes,
        fee,
        salt,
      });
      const hash = await chain.contracts.as(wallet).taskMarket.write.createTask([task, toHex(bytes)], {
        value: fee,
      });
      const r = await pc.waitForTransactionReceipt({ hash });
      if (r.status !== 'success') throw new Error('createTask reverted');
      return { id: taskIdOf(chain.deployment.chainId, chain.deployment.addresses.taskMarket, task), task };
    },
    stop: async () => {
      await Promise.all([...nodes.values()].map((n) => n.process.stop()));
      await chain.close();
    },
  };
}
