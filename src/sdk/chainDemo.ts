// The main job on the embedded chain: deploy Verinfer, register the example models, stake a
// worker and a verifier, settle an honest task end to end, then catch a cheating worker in a
// dispute game that ends with one on-chain integer step.
import { type Address, formatEther, type Hex, parseEther, type TransactionReceipt } from 'viem';
import { modelLayoutOf, taskIdOf } from '../chain/bindings/commitments.ts';
import { NATIVE, type TaskArgs, ZERO_BYTES32 } from '../chain/bindings/types.ts';
import { deployVerinfer, type VerinferDeployment } from '../chain/deployVerinfer.ts';
import { type EmbeddedChain, startEmbeddedChain } from '../chain/embedded.ts';
import { fromHex, toHex } from '../commit/keccak.ts';
import { modelRoot } from '../commit/modelRoot.ts';
import { resultCommitment } from '../commit/traceRoot.ts';
import { corruptedParty, type TraceProvider, traceProvider } from '../dispute/party.ts';
import { gameIdFromLogs, playDispute } from '../dispute/play.ts';
import type { Model } from '../engine/graph.ts';
import type { Backend } from '../engine/interpreter.ts';
import type { Tensor } from '../engine/tensor.ts';
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

function taskFor(requester: Address, root: Hex, run: TraceProvider, salt: number): TaskArgs {
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

/** Posts `run` as the result of a new task; returns what a challenger or finalizer needs. */
async function requestAndPost(
  chain: EmbeddedChain,
  v: VerinferDeployment,
  worker: number,
  root: Hex,
  run: TraceProvider,
  salt: number,
) {
  const task = taskFor(chain.accounts[REQUESTER], root, run, salt);
  const id = taskIdOf(chain.chain.id, v.addresses.taskMarket, task);
  const commitment = toHex(
    resultCommitment(fromHex(id), {
      inputRoot: fromHex(run.inputRoot),
      outputRoot: fromHex(run.outputRoot),
      traceRoot: fromHex(run.traceRoot),
    }),
  );
  const output = toHex(run.opBytes(run.opRoots.length - 1));
  const create = await receipt(
    chain,
    v.as(chain.wallet(REQUESTER)).taskMarket.write.createTask([task, '0x'], { value: task.fee }),
  );
  const post = await receipt(
    chain,
    v.as(chain.wallet(worker)).taskMarket.write.postResult([task, commitment, run.outputRoot, output]),
  );
  return { task, id, commitment, output, gas: create.gasUsed + post.gasUsed };
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
        v.as(chain.wallet(PUBLISHER)).modelRegistry.write.register([root, info, modelLayoutOf(m.model)]),
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

    // 1. Honest path: the worker runs the model with the fast backend and posts one commitment.
    const honest = models[0];
    const run = await backend.run(honest.model, honest.input);
    const provider = traceProvider(honest.model, honest.input, run.trace);
    const posted = await requestAndPost(chain, v, WORKER, roots[0], provider, 1);
    await chain.testClient.increaseTime({ seconds: Number(v.params.task.challengeWindow) + 1 });
    await chain.testClient.mine({ blocks: 2 });
    const fin = await receipt(
      chain,
      v
        .as(chain.wallet(REQUESTER))
        .taskMarket.write.finalize([posted.task, posted.commitment, provider.outputRoot, posted.output]),
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
    const cheat = corruptedParty(target.model, target.input, k, 3);
    const truth = await backend.run(target.model, target.input);
    const verifier = traceProvider(target.model, target.input, truth.trace);
    const bad = await requestAndPost(chain, v, CHEATER, roots[roots.length - 1], cheat, 2);
    if (verifier.traceRoot === cheat.traceRoot)
      throw new VerinferError('The corrupted trace equals the honest one.');
    log(
      `task        ${target.name}: the cheater posted a trace whose op ${k} differs from the verifier's re-execution`,
    );
    const challenge = await receipt(
      chain,
      v
        .as(chain.wallet(VERIFIER))
        .taskMarket.write.challenge([bad.task, bad.commitment, cheat.outputRoot, verifier.traceRoot], {
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
