// One embedded chain with the system deployed, and clients for its accounts.
import assert from 'node:assert/strict';
import { type Address, custom, type Hex } from 'viem';
import { deployVerinfer, type VerinferDeployment } from '../../src/chain/deployVerinfer.ts';
import { type EmbeddedChain, startEmbeddedChain } from '../../src/chain/embedded.ts';
import { fromHex, toHex } from '../../src/commit/keccak.ts';
import { tensorBytes } from '../../src/commit/tensorRoot.ts';
import { commitResult, resultCommitment } from '../../src/commit/traceRoot.ts';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { createVerinferClient, type TaskArgs } from '../../src/index.ts';
import { TEST_PARAMS } from '../market/support.ts';

export const PUBLISHER = 0;
export const WORKER = 1;
export const CHALLENGER = 2;
export const REQUESTER = 3;

export interface ClientWorld {
  chain: EmbeddedChain;
  v: VerinferDeployment;
  client(index: number, models?: Model[]): ReturnType<typeof makeClient>;
  close(): Promise<void>;
}

function makeClient(chain: EmbeddedChain, v: VerinferDeployment, account: Address, models: Model[]) {
  return createVerinferClient({
    chain: chain.chain,
    // No retries: a revert on an in-process chain is final.
    transport: custom(chain.provider, { retryCount: 0 }),
    account,
    contracts: v.addresses,
    models,
    pollingInterval: 20,
    cacheTime: 0,
  });
}

export async function startClientWorld(): Promise<ClientWorld> {
  const chain = await startEmbeddedChain();
  const v = await deployVerinfer(chain, { params: TEST_PARAMS });
  return {
    chain,
    v,
    client: (index, models = []) => makeClient(chain, v, chain.accounts[index], models),
    close: () => chain.close(),
  };
}

/** What a worker posts for a run (the honest one, or one it altered). */
export interface Posting {
  commitment: Hex;
  outputRoot: Hex;
  output: Hex;
}

export function postingOf(taskId: Hex, input: Tensor, trace: readonly Tensor[]): Posting {
  const roots = commitResult(input, trace);
  const out = trace[trace.length - 1];
  return {
    commitment: toHex(resultCommitment(fromHex(taskId), roots)),
    outputRoot: toHex(roots.outputRoot),
    output: toHex(tensorBytes(out.dtype, out.data)),
  };
}

/** The honest run's trace, with op `k`'s output altered by `delta` in element 0. */
export function alteredTrace(model: Model, input: Tensor, k: number, delta = 1): Tensor[] {
  const trace = runReference(model, input).trace.map((t) => ({ ...t, data: t.data.slice() }));
  trace[k].data[0] = (trace[k].data[0] + delta) & 255;
  return trace;
}

/** The worker takes and posts in one call (TaskMarket.postResult takes an open task). */
export async function postAsWorker(
  w: ClientWorld,
  task: TaskArgs,
  p: Posting,
  worker = WORKER,
): Promise<void> {
  const hash = await w.v
    .as(w.chain.wallet(worker))
    .taskMarket.write.postResult([task, p.commitment, p.outputRoot, p.output]);
  const receipt = await w.chain.publicClient.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, 'success');
}

export async function advance(w: ClientWorld, seconds: bigint): Promise<void> {
  await w.chain.testClient.increaseTime({ seconds: Number(seconds) });
  await w.chain.testClient.mine({ blocks: 2 });
}

/** Runs `action`, expects it to throw `errorClass`, and checks that no transaction was sent. */
export async function rejectsWithoutTx(
  w: ClientWorld,
  account: Address,
  action: () => Promise<unknown>,
  errorClass: abstract new (...args: never[]) => Error,
): Promise<Error> {
  const nonce = await w.chain.publicClient.getTransactionCount({ address: account });
  const block = await w.chain.publicClient.getBlockNumber();
  let caught: unknown;
  await assert.rejects(action(), (err: unknown) => {
    caught = err;
    return err instanceof errorClass;
  });
  assert.equal(
    await w.chain.publicClient.getTransactionCount({ address: account }),
    nonce,
    'no transaction sent',
  );
  assert.equal(await w.chain.publicClient.getBlockNumber(), block, 'no block mined');
  return caught as Error;
}
