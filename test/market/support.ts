// Shared setup of the market and game tests: a fresh embedded chain with the whole system
// deployed, the hand model registered, staked agents, and helpers for time, reverts and runs.
import assert from 'node:assert/strict';
import type { Address, Hex, TransactionReceipt } from 'viem';
import { parseEther } from 'viem';
import { modelDescriptorOf, taskIdOf } from '../../src/chain/bindings/commitments.ts';
import { revertErrorName } from '../../src/chain/bindings/errors.ts';
import {
  DEFAULT_PARAMS,
  NATIVE,
  type TaskArgs,
  type TaskResultArgs,
  ZERO_BYTES32,
} from '../../src/chain/bindings/types.ts';
import {
  type DeployVerinferOptions,
  deployVerinfer,
  type VerinferDeployment,
} from '../../src/chain/deployVerinfer.ts';
import { type EmbeddedChain, startEmbeddedChain } from '../../src/chain/embedded.ts';
import { fromHex, toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import { tensorBytes } from '../../src/commit/tensorRoot.ts';
import { commitTrace, resultCommitment } from '../../src/commit/traceRoot.ts';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { handModel } from '../support/handModel.ts';

/** Short windows for tests (seconds). */
export const TEST_PARAMS: NonNullable<DeployVerinferOptions['params']> = {
  unbondingDelay: 3_600n,
  clockBudget: 3_600n,
  task: {
    resultWindow: 600n,
    challengeWindow: 1_800n,
    auditWindow: 1_200n,
    auditBps: 0,
  },
  batch: { challengeWindow: 1_800n, responseWindow: 1_200n, withdrawalDelay: 3_600n },
};

export interface World {
  chain: EmbeddedChain;
  /** Test ERC-20s deployed before the markets and allowed as TaskMarket fee tokens (minimum fee 1). */
  tokens: Address[];
  v: VerinferDeployment;
  model: Model;
  modelRoot: Hex;
  accounts: Address[];
  /** A fee-on-transfer TestToken (1%) that the BatchMarket accepts, when asked for. */
  feeToken?: Address;
  close(): Promise<void>;
}

/** A test ERC-20 (contracts/mocks/TestToken.sol) to deploy before the markets; `feeBps` > 0 takes a fee on transfers. */
export interface TestTokenSpec {
  name: string;
  feeBps: bigint;
}

/**
 * A fresh chain with the system deployed and the hand model registered (by accounts[0]). The
 * `tokens` are deployed first and allowed as TaskMarket fee tokens, next to the native currency;
 * with `feeToken`, one more token is deployed and allowed in the BatchMarket.
 */
export async function startWorld(
  params: DeployVerinferOptions['params'] = TEST_PARAMS,
  options: TestTokenSpec[] | { feeToken?: boolean; tokens?: TestTokenSpec[] } = {},
): Promise<World> {
  const { feeToken: withBatchToken = false, tokens = [] } = Array.isArray(options)
    ? { tokens: options }
    : options;
  const chain = await startEmbeddedChain();
  const { deployArtifact } = await import('../../src/chain/deploy.ts');
  const addresses: Address[] = [];
  for (const t of tokens)
    addresses.push((await deployArtifact(chain, 'TestToken', [t.name, t.name, t.feeBps])).address);
  const feeToken = withBatchToken
    ? ((await deployArtifact(chain, 'TestToken', ['Fee', 'FEE', 100n])).address as Address)
    : undefined;
  const feeTokens = [
    ...(params?.feeTokens ?? DEFAULT_PARAMS.feeTokens),
    ...addresses.map((token) => ({ token, minFee: 1n })),
  ];
  const v = await deployVerinfer(chain, {
    params: { ...params, feeTokens },
    batchFeeTokens: feeToken ? [feeToken] : [],
  });
  const model = handModel();
  const root = await registerModel(v, model);
  return {
    chain,
    tokens: addresses,
    v,
    model,
    modelRoot: root,
    accounts: chain.accounts,
    feeToken,
    close: () => chain.close(),
  };
}

/** Registers `model` under its meta name and version; returns its root. */
export async function registerModel(
  v: VerinferDeployment,
  model: Model,
  parent: Hex = ZERO_BYTES32,
): Promise<Hex> {
  const root = toHex(modelRoot(model));
  await v.modelRegistry.write.register([
    modelDescriptorOf(model),
    {
      name: model.meta.name,
      version: model.meta.version,
      parent,
      dataId: ZERO_BYTES32,
      uri: `vrnf://${model.meta.name}`,
    },
  ]);
  return root;
}

/** Registers accounts[i] as an agent serving `models` with `stake`. */
export async function registerAgent(w: World, i: number, models: Hex[], stake = parseEther('5')) {
  await w.v.as(w.chain.wallet(i)).agentRegistry.write.register([`https://agent${i}.example`, models], {
    value: stake,
  });
}

export async function now(w: World): Promise<bigint> {
  return (await w.chain.publicClient.getBlock()).timestamp;
}

/** Advances time by `seconds` and mines a block (so the next transaction sees the new time). */
export async function advance(w: World, seconds: bigint | number) {
  await w.chain.testClient.increaseTime({ seconds: Number(seconds) });
  await w.chain.testClient.mine({ blocks: 1 });
}

export async function mine(w: World, blocks = 1) {
  await w.chain.testClient.mine({ blocks });
}

/** Waits for a transaction and asserts success. */
export async function receiptOf(w: World, hash: Promise<Hex> | Hex): Promise<TransactionReceipt> {
  const receipt = await w.chain.publicClient.waitForTransactionReceipt({ hash: await hash });
  assert.equal(receipt.status, 'success');
  return receipt;
}

/** Asserts that `action` reverts with the custom error `name`. */
export async function expectRevert(action: () => Promise<unknown>, name: string) {
  try {
    await action();
  } catch (err) {
    const got = revertErrorName(err);
    assert.equal(got, name, `expected revert ${name}, got ${got ?? String(err).slice(0, 400)}`);
    return;
  }
  assert.fail(`expected revert ${name}, but the call succeeded`);
}

export async function balance(w: World, who: Address): Promise<bigint> {
  return w.chain.publicClient.getBalance({ address: who });
}

/** A hand-model input: u8 [B,1,4,4] with zero point 10. */
export function handInput(seed: number, batch = 1): Tensor {
  const data = Uint8Array.from({ length: batch * 16 }, (_, i) => (i * 37 + seed * 101 + 13) & 255);
  return { dtype: 'u8', shape: [batch, 1, 4, 4], data, zeroPoint: 10 };
}

/** A run of `model` with its commitments, as a worker would hold it. */
export interface Run {
  input: Tensor;
  trace: Tensor[];
  inputBytes: Uint8Array;
  inputRoot: Hex;
  outputBytes: Uint8Array;
  outputRoot: Hex;
  checkpointRoot: Hex;
  traceRoot: Hex;
  opRoots: Hex[];
}

export function runOf(model: Model, input: Tensor, trace = runReference(model, input).trace): Run {
  const c = commitTrace(input, trace);
  const out = trace[trace.length - 1];
  return {
    input,
    trace,
    inputBytes: tensorBytes(input.dtype, input.data),
    inputRoot: toHex(c.inputRoot),
    outputBytes: tensorBytes(out.dtype, out.data),
    outputRoot: toHex(c.outputRoot),
    checkpointRoot: toHex(c.checkpointRoot),
    traceRoot: toHex(c.traceRoot),
    opRoots: c.opRoots.map(toHex),
  };
}

export function commitmentOf(taskId: Hex, run: Run): Hex {
  return toHex(
    resultCommitment(fromHex(taskId), {
      inputRoot: fromHex(run.inputRoot),
      outputRoot: fromHex(run.outputRoot),
      checkpointRoot: fromHex(run.checkpointRoot),
    }),
  );
}

let saltCounter = 0;

export function taskOf(w: World, requester: Address, run: Run, over: Partial<TaskArgs> = {}): TaskArgs {
  saltCounter += 1;
  return {
    requester,
    modelRoot: w.modelRoot,
    inputRoot: run.inputRoot,
    feeToken: NATIVE,
    fee: parseEther('0.01'),
    takeDeadline: 2n ** 40n,
    consumer: NATIVE,
    callbackGasLimit: 0,
    salt: `0x${saltCounter.toString(16).padStart(64, '0')}`,
    ...over,
  };
}

/** The Result that calls after postResult pass back. */
export function resultOf(worker: Address, commitment: Hex, run: Pick<Run, 'outputRoot'>): TaskResultArgs {
  return { worker, commitment, outputRoot: run.outputRoot };
}

export function idOf(w: World, task: TaskArgs): Hex {
  return taskIdOf(w.chain.chain.id, w.v.addresses.taskMarket, task);
}

export const hexOf = (bytes: Uint8Array): Hex => toHex(bytes);

/** Deploys a test contract (contracts/mocks) by name; returns its address. */
export async function deployMock(w: World, name: string, args: readonly unknown[] = []): Promise<Address> {
  const { deployArtifact } = await import('../../src/chain/deploy.ts');
  const { address } = await deployArtifact(w.chain, name, args);
  return address;
}
