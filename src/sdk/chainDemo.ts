// The main job on the embedded chain: deploy Verinfer, register the example models, stake a
// worker and a verifier, settle an honest task end to end, then catch a cheating worker in a
// dispute game that ends with one on-chain integer step.
import { type Address, formatEther, type Hex, parseEther, type TransactionReceipt } from 'viem';
import {
  modelDescriptorOf,
  SIGNED_TASK_TYPES,
  signedTaskDomain,
  taskIdOf,
} from '../chain/bindings/commitments.ts';
import { NATIVE, type TaskArgs, ZERO_BYTES32 } from '../chain/bindings/types.ts';
import { deployVerinfer, type VerinferDeployment } from '../chain/deployVerinfer.ts';
import { type EmbeddedChain, startEmbeddedChain } from '../chain/embedded.ts';
import { fromHex, toHex } from '../commit/keccak.ts';
import { modelRoot } from '../commit/modelRoot.ts';
import { tensorBytes } from '../commit/tensorRoot.ts';
import { commitResult, resultCommitment } from '../commit/traceRoot.ts';
import { outputChangingTrace, traceProvider } from '../dispute/party.ts';
import { gameIdFromLogs, playDispute } from '../dispute/play.ts';
import type { Model } from '../engine/graph.ts';
import type { Backend } from '../engine/interpreter.ts';
import type { Tensor } from '../engine/tensor.ts';
import { checkSettleableInput } from '../engine/validate.ts';
import { VerinferError } from '../errors/base.ts';

export interface DemoModel {
  name: string;
  model: Model;
  input: Tensor;
}

const PUBLISHER = 0;
const WORKER = 1;
const VERIFIER = 2;
const REQUESTER = 3;
const CHEATER = 4;

async function receipt(chain: EmbeddedChain, hash: Promise<Hex>): Promise<TransactionReceipt> {
  const r = await chain.publicClient.waitForTransactionReceipt({ hash: await hash });
  if (r.status !== 'success') throw new VerinferError(`Transaction ${r.transactionHash} reverted.`);
  return r;
}

function taskFor(requester: Address, root: Hex, run: { inputRoot: Hex }, salt: number): TaskArgs {
  return {
    requester,
    modelRoot: root,
    inputRoot: run.inputRoot,
    feeToken: NATIVE,
    fee: parseEther('0.01'),
    takeDeadline: 2n ** 40n,
    consumer: NATIVE,
    callbackGasLimit: 0,
    salt: `0x${salt.toString(16).padStart(64, '0')}`,
  };
}

/** What a worker posts: the honest path hashes only the input, the output and the checkpoint. */
interface PostedRun {
  inputRoot: Hex;
  outputRoot: Hex;
  checkpointRoot: Hex;
  output: Uint8Array;
}

function postedRunOf(model: Model, input: Tensor, trace: readonly Tensor[]): PostedRun {
  // A worker posts only what it can defend in a dispute.
  checkSettleableInput(model, input);
  const roots = commitResult(input, trace);
  const out = trace[trace.length - 1];
  return {
    inputRoot: toHex(roots.inputRoot),
    outputRoot: toHex(roots.outputRoot),
    checkpointRoot: toHex(roots.checkpointRoot),
    output: tensorBytes(out.dtype, out.data),
  };
}

/** Posts `run` as the result of a new task in one transaction: the requester signs the task for
 * the worker (EIP-712), and the worker posts it with its result; the fee comes out of the
 * requester's balance in the market. Returns what a challenger or finalizer needs. */
async function requestAndPost(
  chain: EmbeddedChain,
  v: VerinferDeployment,
  worker: number,
  root: Hex,
  run: PostedRun,
  salt: number,
) {
  const task = taskFor(chain.accounts[REQUESTER], root, run, salt);
  const id = taskIdOf(chain.chain.id, v.addresses.taskMarket, task);
  const commitment = toHex(
    resultCommitment(fromHex(id), {
      inputRoot: fromHex(run.inputRoot),
      outputRoot: fromHex(run.outputRoot),
      checkpointRoot: fromHex(run.checkpointRoot),
    }),
  );
  const output = toHex(run.output);
  const signature = await chain.wallet(REQUESTER).signTypedData({
    domain: signedTaskDomain(chain.chain.id, v.addresses.taskMarket),
    types: SIGNED_TASK_TYPES,
    primaryType: 'SignedTask',
    message: { ...task, worker: chain.accounts[worker] },
  });
  const post = await receipt(
    chain,
    v
      .as(chain.wallet(worker))
      .taskMarket.write.postSigned([task, signature, commitment, run.outputRoot, output]),
  );
  const result = { worker: chain.accounts[worker], commitment, outputRoot: run.outputRoot };
  return { task, id, commitment, result, output, gas: post.gasUsed };
}

export async function runChainDemo(
  models: DemoModel[],
  backend: Backend,
  log: (line: string) => void,
): Promise<void> {
  const chain = await startEmbeddedChain();
  try {
    // Audits are switched off here so that the honest task finalizes deterministically; the
    // audit path is exercised by the test suite.
    const v = await deployVerinfer(chain, { params: { task: { auditBps: 0 } } });
    log(`chain       embedded EDR, chain id ${chain.chain.id}; TaskMarket ${v.addresses.taskMarket}`);
    // The requester funds its balance once; every signed task draws its fee from it.
    await receipt(
      chain,
      v
        .as(chain.wallet(REQUESTER))
        .taskMarket.write.deposit([NATIVE, parseEther('1')], { value: parseEther('1') }),
    );
    const roots: Hex[] = [];
    for (const m of models) {
      const root = toHex(modelRoot(m.model));
      const info = {
        name: m.name,
        version: m.model.meta.version,
        parent: ZERO_BYTES32,
        dataId: ZERO_BYTES32,
        uri: `vrnf://${m.name}`,
      };
      await receipt(
        chain,
        v.as(chain.wallet(PUBLISHER)).modelRegistry.write.register([modelDescriptorOf(m.model), info]),
      );
      roots.push(root);
      log(`registered  model ${m.name} ${root}`);
    }
    for (const [who, i] of [
      ['worker', WORKER],
      ['verifier', VERIFIER],
      ['cheater', CHEATER],
    ] as const) {
      await receipt(
        chain,
        v
          .as(chain.wallet(i))
          .agentRegistry.write.register([`node://${who}`, roots], { value: parseEther('5') }),
      );
      log(`staked      ${who.padEnd(8)} ${chain.accounts[i]} with 5 ETH`);
    }

    // 1. Honest path: the worker runs the model with the fast backend and posts one commitment
    //    over the input, the output and one checkpoint; it never hashes the rest of the trace.
    const honest = models[0];
    const run = await backend.run(honest.model, honest.input);
    const honestRun = postedRunOf(honest.model, honest.input, run.trace);
    const posted = await requestAndPost(chain, v, WORKER, roots[0], honestRun, 1);
    await chain.testClient.increaseTime({ seconds: Number(v.params.task.challengeWindow) + 1 });
    await chain.testClient.mine({ blocks: 2 });
    const fin = await receipt(
      chain,
      v.as(chain.wallet(REQUESTER)).taskMarket.write.finalize([posted.task, posted.result, posted.output]),
    );
    const state = await v.taskMarket.read.taskState([posted.id]);
    if (state.status !== 4)
      throw new VerinferError(`The honest task did not finalize (status ${state.status}).`);
    const owed = await v.taskMarket.read.owed([NATIVE, chain.accounts[WORKER]]);
    log(
      `task        ${honest.name}: output ${toHex(run.output.data as Uint8Array)} posted and final after the challenge window; ` +
        `${posted.gas + fin.gasUsed} gas in all; the worker is owed ${formatEther(owed)} ETH`,
    );

    // 2. A cheating worker flips one element deep inside the model; the verifier re-executes,
    //    challenges, and wins the dispute game.
    const target = models[models.length - 1];
    const k = Math.floor(target.model.ops.length / 2);
    const cheatTrace = outputChangingTrace(target.model, target.input, k, 3);
    const bad = await requestAndPost(
      chain,
      v,
      CHEATER,
      roots[roots.length - 1],
      postedRunOf(target.model, target.input, cheatTrace),
      2,
    );
    const truth = await backend.run(target.model, target.input);
    const verifier = traceProvider(target.model, target.input, truth.trace);
    const cheat = traceProvider(target.model, target.input, cheatTrace);
    if (verifier.outputRoot === cheat.outputRoot)
      throw new VerinferError('The corrupted run has the honest output.');
    log(
      `task        ${target.name}: the cheater posted an output that the verifier's re-execution contradicts (op ${k} forged)`,
    );
    // Only now, challenged, do the parties build their traces: the worker re-runs on demand.
    const challenge = await receipt(
      chain,
      v.as(chain.wallet(VERIFIER)).taskMarket.write.challenge([bad.task, bad.result], {
        value: v.params.task.challengeBond,
      }),
    );
    const gameId = gameIdFromLogs(challenge.logs, v.addresses.disputeGame);
    const result = await playDispute(
      v,
      chain.publicClient,
      gameId,
      { wallet: chain.wallet(CHEATER), trace: cheat },
      { wallet: chain.wallet(VERIFIER), trace: verifier },
    );
    for (const m of result.moves) log(`  move      ${m.by.padEnd(10)} ${m.move.padEnd(22)} ${m.gasUsed} gas`);
    if (result.outcome !== 1)
      throw new VerinferError(`The honest verifier did not win the dispute (outcome ${result.outcome}).`);
    const convicted = await v.taskMarket.read.taskState([bad.id]);
    log(
      `dispute     won by the verifier in ${result.moves.length} moves, ${result.totalGas} gas; task status ${convicted.status} (convicted), cheater slashed`,
    );
  } finally {
    await chain.close();
  }
}
