// The devnet chain in-process (no nodes) with the test playing the worker: it watches TaskCreated,
// runs the model on the inline input and posts the honest result (or, when told to, a wrong one),
// and it moves chain time forward. The CLI under test runs as a child process against its RPC.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, custom, type Hex, hexToBytes, parseEther } from 'viem';
import type { TaskArgs } from '../../src/chain/bindings/types.ts';
import { createVerinferClient, type WatchedTask } from '../../src/client/index.ts';
import { tensorOfBytes } from '../../src/client/utils/input.ts';
import { type DevnetChain, startDevnetChain } from '../../src/devnet/chain.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import type { ModelPackage } from '../../src/store/modelDir.ts';
import { alteredTrace, postingOf } from '../client/support.ts';
import { MODEL_CACHE } from '../support/devnetProcess.ts';

export const CLI = new URL('../../src/cli/main.ts', import.meta.url).pathname;
export const WORKER = 1;
export const CHALLENGER = 2;

export interface Network {
  devnet: DevnetChain;
  home: string;
  rpc: string;
  /** The next tasks get a wrong result while this is above 0 (then it counts down). */
  cheatNext: number;
  /** Every task the worker saw, with its poster's outcome. */
  posted: Map<Hex, { task: TaskArgs; honest: boolean }>;
  /** Resolves once the worker has posted `taskId`. */
  postedTask(taskId?: Hex): Promise<Hex>;
  advance(seconds: bigint): Promise<void>;
  client(index: number): ReturnType<typeof clientOf>;
  /** Transactions sent by `address` so far, and TaskCreated events so far. */
  counts(address: Address): Promise<{ nonce: number; tasks: number }>;
  close(): Promise<void>;
}

function clientOf(d: DevnetChain, index: number) {
  return createVerinferClient({
    chain: d.chain.chain,
    transport: custom(d.chain.provider, { retryCount: 0 }),
    account: d.chain.accounts[index],
    contracts: d.deployment.addresses,
    pollingInterval: 100,
    cacheTime: 0,
  });
}

export async function startNetwork(): Promise<Network> {
  const home = await mkdtemp(join(tmpdir(), 'verinfer-net-'));
  const devnet = await startDevnetChain({ home, port: 0, modelCache: MODEL_CACHE });
  const byRoot = new Map<string, ModelPackage>();
  for (const m of devnet.deployment.models) byRoot.set(m.root.toLowerCase(), devnet.packages.get(m.name)!);
  const worker = clientOf(devnet, WORKER);
  await worker.stake({ amount: parseEther('10'), models: devnet.deployment.models.map((m) => m.root) });
  const posted = new Map<Hex, { task: TaskArgs; honest: boolean }>();
  const waiters: { id?: Hex; resolve: (id: Hex) => void }[] = [];
  let failure: unknown;
  const net: Network = {
    devnet,
    home,
    rpc: devnet.rpc.url,
    cheatNext: 0,
    posted,
    postedTask: (id) => {
      if (failure) return Promise.reject(failure);
      if (id && posted.has(id)) return Promise.resolve(id);
      return new Promise((resolve) => waiters.push({ id, resolve }));
    },
    advance: async (seconds) => {
      await devnet.chain.testClient.increaseTime({ seconds: Number(seconds) });
      await devnet.chain.testClient.mine({ blocks: 1 });
    },
    client: (index) => clientOf(devnet, index),
    counts: async (address) => ({
      nonce: await devnet.chain.publicClient.getTransactionCount({ address }),
      tasks: (
        await devnet.chain.publicClient.getContractEvents({
          address: devnet.deployment.addresses.taskMarket,
          abi: devnet.contracts.taskMarket.abi,
          eventName: 'TaskCreated',
          fromBlock: 0n,
        })
      ).length,
    }),
    close: async () => {
      stop();
      await devnet.close();
    },
  };
  const play = async (t: WatchedTask) => {
    const pkg = byRoot.get(t.task.modelRoot.toLowerCase());
    assert.ok(pkg, `a task of an unknown model ${t.task.modelRoot}`);
    const input = tensorOfBytes(pkg.model, hexToBytes(t.inlineInput));
    const honest = net.cheatNext === 0;
    if (!honest) net.cheatNext -= 1;
    const trace = honest
      ? runReference(pkg.model, input).trace
      : alteredTrace(pkg.model, input, pkg.model.ops.length - 1);
    const p = postingOf(t.taskId, input, trace);
    const hash = await devnet.contracts
      .as(devnet.chain.wallet(WORKER))
      .taskMarket.write.postResult([t.task, p.commitment, p.outputRoot, p.output]);
    const receipt = await devnet.chain.publicClient.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, 'success');
    posted.set(t.taskId, { task: t.task, honest });
    for (const w of [...waiters])
      if (!w.id || w.id === t.taskId) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(t.taskId);
      }
  };
  let queue = Promise.resolve();
  const stop = worker.watchTasks({
    onTask: (t) => {
      queue = queue
        .then(() => play(t))
        .catch((err) => {
          failure = err;
        });
    },
  });
  return net;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last stdout line, parsed. */
  json(): Record<string, unknown>;
}

/** Runs the CLI as a child process, without blocking this process (which serves the RPC). */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: '1', VERINFER_PRIVATE_KEY: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      resolve({
        code,
        stdout,
        stderr,
        json: () => JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>,
      }),
    );
  });
}
