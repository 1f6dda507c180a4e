// Gas of the settlement contracts, measured on the embedded EDR chain in one run, each figure next
// to its target and an outside anchor. Run: npm run bench:gas
//
//   baseline             a native transfer, an ERC-20 transfer and approve
//   honest single task   create -> take -> post -> finalize (+ consumer callback), and take+post in one tx
//   batch of 1,000       postBatch + finalizeBatch, per result
//   one-step             the largest computeElement over every op of both example models
//   full dispute         challenge + every move of a game on the op with the largest step
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, getContract, type Hex, parseEther } from 'viem';
import { recordingConsumerAbi, testTokenAbi } from '../src/chain/bindings/abis.ts';
import { NATIVE, type TaskArgs } from '../src/chain/bindings/types.ts';
import { estimateComputeElementGas } from '../src/dispute/onestep.ts';
import { corruptedParty, honestParty } from '../src/dispute/party.ts';
import { playDispute } from '../src/dispute/play.ts';
import type { Model } from '../src/engine/graph.ts';
import { heldOutBatches } from '../src/sdk/evaluate.ts';
import { EXAMPLES, importExampleModel } from '../src/sdk/examples.ts';
import { loadModelDir } from '../src/store/modelDir.ts';
import { challengeTask, postTask } from '../test/game/support.ts';
import { itemOf, treeOf } from '../test/market/batchSupport.ts';
import {
  advance,
  commitmentOf,
  deployMock,
  handInput,
  hexOf,
  idOf,
  mine,
  receiptOf,
  registerAgent,
  registerModel,
  runOf,
  startWorld,
  TEST_PARAMS,
  taskOf,
  type World,
} from '../test/market/support.ts';

const rows: { what: string; gas: string; target: string; anchor: string }[] = [];
const fmt = (n: bigint | number) => Math.round(Number(n)).toLocaleString('en-US');
const row = (what: string, gas: bigint | number | string, target = '', anchor = '') =>
  rows.push({ what, gas: typeof gas === 'string' ? gas : fmt(gas), target, anchor });

// Realistic audit probability (5%): finalize draws the audit inline.
const w = await startWorld({ ...TEST_PARAMS, task: { ...TEST_PARAMS.task, auditBps: 500 } });
const as = (i: number) => w.v.as(w.chain.wallet(i));
const REQ = 3;
const WORKER = 1;
const CHALLENGER = 2;

async function baseline(world: World) {
  const hash = await world.chain.wallet(5).sendTransaction({ to: world.accounts[6], value: 1n });
  row('baseline: native transfer', (await receiptOf(world, hash)).gasUsed);
  const token = await deployMock(world, 'TestToken', ['T', 'T', 0n]);
  const t = getContract({ address: token, abi: testTokenAbi, client: world.chain.wallet(5) });
  await receiptOf(world, t.write.mint([world.accounts[5], parseEther('10')]));
  await receiptOf(world, t.write.transfer([world.accounts[6], 1n]));
  row(
    'baseline: ERC-20 transfer (to a holder)',
    (await receiptOf(world, t.write.transfer([world.accounts[6], 1n]))).gasUsed,
  );
  row(
    'baseline: ERC-20 approve (plain contract call)',
    (await receiptOf(world, t.write.approve([world.accounts[6], 5n]))).gasUsed,
  );
}

async function singleTask(consumer: Address, merged: boolean, seed: number) {
  const run = runOf(w.model, handInput(seed));
  const task: TaskArgs = taskOf(w, w.accounts[REQ], run, { consumer, callbackGasLimit: 100_000 });
  const id = idOf(w, task);
  const commitment = commitmentOf(id, run);
  const gas: Record<string, bigint> = {};
  gas.create = (
    await receiptOf(w, as(REQ).taskMarket.write.createTask([task, '0x'], { value: task.fee }))
  ).gasUsed;
  if (!merged) gas.take = (await receiptOf(w, as(WORKER).taskMarket.write.takeTask([task]))).gasUsed;
  gas.post = (
    await receiptOf(
      w,
      as(WORKER).taskMarket.write.postResult([task, commitment, run.outputRoot, hexOf(run.outputBytes)]),
    )
  ).gasUsed;
  await advance(w, w.v.params.task.challengeWindow);
  await mine(w, 2);
  gas.finalize = (
    await receiptOf(
      w,
      as(REQ).taskMarket.write.finalize([task, commitment, run.outputRoot, hexOf(run.outputBytes)]),
    )
  ).gasUsed;
  if ((await w.v.taskMarket.read.taskState([id])).status !== 4) return undefined; // drawn for audit (p = 5%)
  return gas;
}

async function singleTasks() {
  await registerAgent(w, WORKER, [w.modelRoot], parseEther('50'));
  await registerAgent(w, CHALLENGER, [w.modelRoot], parseEther('50'));
  const consumer = await deployMock(w, 'RecordingConsumer');
  // The first task of an account pays for fresh storage slots (owed, reputation); report steady state.
  let seed = 100;
  const variants = [
    { merged: false, consumer, label: 'separate take, recording consumer' },
    { merged: true, consumer, label: 'take+post in one tx, recording consumer' },
    { merged: true, consumer: NATIVE, label: 'take+post in one tx, no consumer' },
  ];
  for (const { merged, consumer: target, label } of variants) {
    let gas: Record<string, bigint> | undefined;
    for (let i = 0; i < 3 || !gas; i++) gas = (await singleTask(target, merged, seed++)) ?? gas;
    const total = Object.values(gas).reduce((a, b) => a + b, 0n);
    const parts = Object.entries(gas)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(' + ');
    row(
      `honest task (${label}): ${parts}`,
      total,
      '<= 150,000',
      'Ritual Infernet ~142k create + ~353k deliver',
    );
  }
  const c = getContract({ address: consumer, abi: recordingConsumerAbi, client: w.chain.publicClient });
  if ((await c.read.calls()) === 0n) throw new Error('The consumer was never called.');
}

async function batch1000() {
  const n = 1000;
  await receiptOf(
    w,
    as(REQ).batchMarket.write.deposit([NATIVE, parseEther('10')], { value: parseEther('10') }),
  );
  const traces = Array.from({ length: 8 }, (_, i) => honestParty(w.model, handInput(i)));
  const items = Array.from({ length: n }, (_, i) =>
    itemOf(
      w.chain.chain.id,
      w.v.addresses.batchMarket,
      {
        requester: w.accounts[REQ],
        worker: w.accounts[WORKER],
        modelRoot: w.modelRoot,
        inputRoot: traces[i % 8].inputRoot,
        feeToken: NATIVE,
        fee: parseEther('0.0001'),
        nonce: BigInt(i),
        deadline: 2n ** 40n,
      },
      traces[i % 8],
    ),
  );
  const tree = treeOf(items);
  const header = {
    requester: w.accounts[REQ],
    feeToken: NATIVE,
    root: tree.root,
    count: n,
    totalFee: tree.totalFee,
  };
  const post = (await receiptOf(w, as(WORKER).batchMarket.write.postBatch([header]))).gasUsed;
  const batchId = await w.v.batchMarket.read.batchCount();
  await advance(w, w.v.params.batch.challengeWindow);
  const fin = (await receiptOf(w, as(WORKER).batchMarket.write.finalizeBatch([batchId]))).gasUsed;
  row(
    `batch of 1,000: post ${fmt(post)} + finalize ${fmt(fin)}, per result`,
    (post + fin) / BigInt(n),
    '<= 2,000',
    'per-result signature check ~3k (ecrecover) + SSTORE 22k',
  );
}

interface Loaded {
  name: string;
  model: Model;
  root: Hex;
  input: ReturnType<typeof heldOutBatches>[number]['quantized'];
}

async function loadExamples(): Promise<Loaded[]> {
  const out: Loaded[] = [];
  for (const example of EXAMPLES) {
    const dir = join(await mkdtemp(join(tmpdir(), 'verinfer-gas-')), example.name);
    await importExampleModel(example, dir);
    const { model } = await loadModelDir(dir);
    const root = await registerModel(w.v, model);
    out.push({ name: example.name, model, root, input: heldOutBatches(example, model, 1, 1)[0].quantized });
  }
  return out;
}

/** The largest one-step verification over every op (a few elements each) of both models. */
async function largestStep(models: Loaded[]) {
  let best = { gas: 0n, model: '', k: 0, op: '', element: 0 };
  for (const m of models) {
    const party = honestParty(m.model, m.input);
    for (let k = 0; k < m.model.ops.length; k++) {
      const count = party.opBytes(k).length;
      for (const element of new Set([0, Math.floor(count / 2), count - 1])) {
        const gas = await estimateComputeElementGas(
          w.chain.publicClient,
          w.v.addresses.verifier,
          party.step(k, element),
          w.accounts[0],
        );
        if (gas > best.gas) best = { gas, model: m.name, k, op: m.model.ops[k].type, element };
      }
    }
  }
  row(
    `largest one-step: ${best.model} op ${best.k} (${best.op}) element ${best.element}, as a transaction`,
    best.gas,
    '<= 1,000,000',
    'EZKL ~400k per small-model proof verification',
  );
  return best;
}

async function fullDispute(models: Loaded[], best: { model: string; k: number; element: number }) {
  const m = models.find((x) => x.name === best.model)!;
  await registerAgent(w, 4, [m.root], parseEther('50'));
  await registerAgent(w, 5, [m.root], parseEther('50'));
  const honest = honestParty(m.model, m.input);
  const cheat = corruptedParty(m.model, m.input, best.k, best.element);
  const posted = await postTask(w, REQ, 4, cheat, m.root);
  const receipt = await w.chain.publicClient.getTransactionReceipt({
    hash: await as(5).taskMarket.write.challenge(
      [posted.task, posted.commitment, posted.run.outputRoot],
      {
        value: w.v.params.task.challengeBond,
      },
    ),
  });
  const { gameIdFromLogs } = await import('../src/dispute/play.ts');
  const gameId = gameIdFromLogs(receipt.logs, w.v.addresses.disputeGame);
  const r = await playDispute(
    w.v,
    w.chain.publicClient,
    gameId,
    { wallet: w.chain.wallet(4), trace: cheat },
    { wallet: w.chain.wallet(5), trace: honest },
  );
  if (r.outcome !== 1) throw new Error('The honest challenger did not win the benchmark dispute.');
  const byWorker = r.moves.filter((x) => x.by === 'worker').length;
  const byChallenger = r.moves.filter((x) => x.by === 'challenger').length + 1;
  const detail = r.moves.map((x) => `${x.move} ${fmt(x.gasUsed)}`).join(', ');
  row(
    `full dispute (${m.name}, op ${best.k}): challenge ${fmt(receipt.gasUsed)}, ${detail}; moves worker ${byWorker}, challenger ${byChallenger}`,
    receipt.gasUsed + r.totalGas,
    '<= 3,000,000 and <= 10 moves per party',
    'Optimism FDG: ~73 bisection moves per side; Arbitrum BoLD: multi-level',
  );
  void challengeTask;
}

await baseline(w);
await singleTasks();
await batch1000();
const models = await loadExamples();
const best = await largestStep(models);
await fullDispute(models, best);
await w.close();

console.log('| measurement | gas | target | anchor |');
console.log('| --- | ---: | --- | --- |');
for (const r of rows) console.log(`| ${r.what} | ${r.gas} | ${r.target} | ${r.anchor} |`);
