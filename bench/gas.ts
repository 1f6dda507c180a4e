// Gas of the settlement contracts and of the dispute game, measured on the embedded EDR chain in
// one run, each figure next to its target and to baselines measured in the same run.
// Run: npm run bench:gas            a table
//      npm run bench:gas -- --json  one JSON object on stdout (progress goes to stderr)
//
//   baseline             a native transfer, an ERC-20 transfer and approve
//   honest single task   create -> take -> post -> finalize (+ consumer callback), take+post in one tx,
//                        and a requester-signed task: postSigned -> finalize (honestTask)
//   batch of 1,000       postBatch + finalizeBatch, per result
//   one-step             computeElement as a transaction (eth_estimateGas), for the first, middle and
//                        last element of every op of both example models, the one whose witness has
//                        the most chunks, and 8 more evenly spaced
//   full dispute         challenge + every move of a game on the example op with the largest step,
//                        a cheating worker against an honest challenger; each game is played by a
//                        fresh worker and challenger, the example game first on the deployment (so
//                        it pays every first-time storage write of a conviction)
//   largest model        the same for the benchmark transformer (bench/models/transformer.ts): every
//                        op's first, middle, last and most-chunks elements, and a game on a late op
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, getContract, parseEther } from 'viem';
import { recordingConsumerAbi, testTokenAbi } from '../src/chain/bindings/abis.ts';
import { SIGNED_TASK_TYPES, signedTaskDomain } from '../src/chain/bindings/commitments.ts';
import { NATIVE, type TaskArgs } from '../src/chain/bindings/types.ts';
import { toHex } from '../src/commit/keccak.ts';
import { modelRoot } from '../src/commit/modelRoot.ts';
import { honestParty } from '../src/dispute/party.ts';
import { heldOutBatches } from '../src/sdk/evaluate.ts';
import { EXAMPLES, importExampleModel } from '../src/sdk/examples.ts';
import { loadModelDir } from '../src/store/modelDir.ts';
import { headerOf, itemOf, signHeader } from '../test/market/batchSupport.ts';
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
import {
  type BenchModel,
  benchModel,
  cheatAt,
  type GameGas,
  measureOp,
  playGame,
  type StepGas,
  TX_GAS_CAP,
  worstOf,
} from './gasGame.ts';
import { modelStats } from './models/modelStats.ts';
import { benchTransformerInput, buildBenchTransformer } from './models/transformer.ts';

const JSON_OUT = process.argv.includes('--json');
const TARGETS = { maxOneStep: 1_000_000, fullDispute: 3_000_000, maxMovesPerParty: 10, maxMove: 4_000_000 };
const log = (msg: string) => process.stderr.write(`bench:gas ${msg}\n`);
const fmt = (n: bigint | number) => Math.round(Number(n)).toLocaleString('en-US');

// Realistic audit probability (5%): finalize draws the audit inline.
const w = await startWorld({ ...TEST_PARAMS, task: { ...TEST_PARAMS.task, auditBps: 500 } });
const as = (i: number) => w.v.as(w.chain.wallet(i));
const REQ = 3;
const WORKER = 1;
const CHALLENGER = 2;
/** The agents of the disputes: a fresh worker and challenger for each game, so that each pays
 * the first-time storage writes of a conviction. */
const EXAMPLE_PARTIES = { requester: REQ, worker: 4, challenger: 5 };
const TRANSFORMER_PARTIES = { requester: REQ, worker: 7, challenger: 8 };

async function baseline(world: World) {
  const hash = await world.chain.wallet(5).sendTransaction({ to: world.accounts[6], value: 1n });
  const nativeTransfer = Number((await receiptOf(world, hash)).gasUsed);
  const token = await deployMock(world, 'TestToken', ['T', 'T', 0n]);
  const t = getContract({ address: token, abi: testTokenAbi, client: world.chain.wallet(5) });
  await receiptOf(world, t.write.mint([world.accounts[5], parseEther('10')]));
  await receiptOf(world, t.write.transfer([world.accounts[6], 1n]));
  const erc20Transfer = Number((await receiptOf(world, t.write.transfer([world.accounts[6], 1n]))).gasUsed);
  const erc20Approve = Number((await receiptOf(world, t.write.approve([world.accounts[6], 5n]))).gasUsed);
  return { nativeTransfer, erc20Transfer, erc20Approve };
}

type TaskPath = 'separate' | 'merged' | 'signed';

async function singleTask(consumer: Address, path: TaskPath, seed: number) {
  const run = runOf(w.model, handInput(seed));
  const task: TaskArgs = taskOf(w, w.accounts[REQ], run, { consumer, callbackGasLimit: 100_000 });
  const id = idOf(w, task);
  const commitment = commitmentOf(id, run);
  const output = hexOf(run.outputBytes);
  const gas: Record<string, number> = {};
  if (path === 'signed') {
    // The requester signs off chain; the worker creates, takes and posts in one transaction.
    const signature = await w.chain.wallet(REQ).signTypedData({
      domain: signedTaskDomain(w.chain.chain.id, w.v.addresses.taskMarket),
      types: SIGNED_TASK_TYPES,
      primaryType: 'SignedTask',
      message: { ...task, worker: w.accounts[WORKER] },
    });
    gas.postSigned = Number(
      (
        await receiptOf(
          w,
          as(WORKER).taskMarket.write.postSigned([task, signature, commitment, run.outputRoot, output]),
        )
      ).gasUsed,
    );
  } else {
    gas.create = Number(
      (await receiptOf(w, as(REQ).taskMarket.write.createTask([task, '0x'], { value: task.fee }))).gasUsed,
    );
    if (path === 'separate')
      gas.take = Number((await receiptOf(w, as(WORKER).taskMarket.write.takeTask([task]))).gasUsed);
    gas.post = Number(
      (await receiptOf(w, as(WORKER).taskMarket.write.postResult([task, commitment, run.outputRoot, output])))
        .gasUsed,
    );
  }
  await advance(w, w.v.params.task.challengeWindow);
  await mine(w, 2);
  const result = { worker: w.accounts[WORKER], commitment, outputRoot: run.outputRoot };
  gas.finalize = Number(
    (await receiptOf(w, as(REQ).taskMarket.write.finalize([task, result, output]))).gasUsed,
  );
  if ((await w.v.taskMarket.read.taskState([id])).status !== 4) return undefined; // drawn for audit (p = 5%)
  return gas;
}

interface TaskGas {
  label: string;
  parts: Record<string, number>;
  total: number;
}

async function singleTasks(): Promise<TaskGas[]> {
  await registerAgent(w, WORKER, [w.modelRoot], parseEther('50'));
  await registerAgent(w, CHALLENGER, [w.modelRoot], parseEther('50'));
  const consumer = await deployMock(w, 'RecordingConsumer');
  // The first task of an account pays for fresh storage slots (owed, reputation); report steady state.
  let seed = 100;
  const variants = [
    { path: 'separate', consumer, label: 'separate take, recording consumer' },
    { path: 'merged', consumer, label: 'take+post in one tx, recording consumer' },
    { path: 'merged', consumer: NATIVE, label: 'take+post in one tx, no consumer' },
    { path: 'signed', consumer, label: 'signed task (postSigned), recording consumer' },
    { path: 'signed', consumer: NATIVE, label: 'signed task (postSigned), no consumer' },
  ] as const;
  // Signed tasks draw their fees from the requester's balance in the market, funded once.
  await receiptOf(w, as(REQ).taskMarket.write.deposit([NATIVE, parseEther('1')], { value: parseEther('1') }));
  const out: TaskGas[] = [];
  for (const { path, consumer: target, label } of variants) {
    let gas: Record<string, number> | undefined;
    for (let i = 0; i < 3 || !gas; i++) gas = (await singleTask(target, path, seed++)) ?? gas;
    out.push({ label, parts: gas, total: Object.values(gas).reduce((a, b) => a + b, 0) });
  }
  const c = getContract({ address: consumer, abi: recordingConsumerAbi, client: w.chain.publicClient });
  if ((await c.read.calls()) === 0n) throw new Error('The consumer was never called.');
  return out;
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
  const header = headerOf(items, w.accounts[REQ], w.accounts[WORKER]);
  const signature = await signHeader(w.chain.wallet(REQ), w.v.addresses.batchMarket, header);
  const post = Number(
    (await receiptOf(w, as(WORKER).batchMarket.write.postBatch([header, signature]))).gasUsed,
  );
  const batchId = await w.v.batchMarket.read.batchCount();
  await advance(w, w.v.params.batch.challengeWindow);
  const finalize = Number(
    (await receiptOf(w, as(WORKER).batchMarket.write.finalizeBatch([batchId]))).gasUsed,
  );
  return { count: n, post, finalize, perResult: Math.round((post + finalize) / n) };
}

async function loadExamples(): Promise<BenchModel[]> {
  const out: BenchModel[] = [];
  for (const example of EXAMPLES) {
    const dir = join(await mkdtemp(join(tmpdir(), 'verinfer-gas-')), example.name);
    await importExampleModel(example, dir);
    const { model } = await loadModelDir(dir);
    const root = await registerModel(w.v, model);
    const input = heldOutBatches(example, model, 1, 1)[0].quantized;
    out.push(benchModel(example.name, model, root, input));
  }
  return out;
}

/** The candidate elements of every op of `m`, measured (`spread` evenly spaced ones beyond the
 * first, middle, last and most-chunks elements). */
async function measureModel(m: BenchModel, spread: number): Promise<StepGas[][]> {
  const out: StepGas[][] = [];
  for (let k = 0; k < m.model.ops.length; k++) out.push(await measureOp(w, m, k, spread));
  return out;
}

/** Per op type, the measured element of largest gas (and how many ops of that type were measured). */
function byType(perOp: readonly StepGas[][]) {
  const out: Record<string, { ops: number; gas: number; op: number; name: string; element: number }> = {};
  for (const steps of perOp) {
    const s = worstOf(steps);
    if (!s) continue;
    const t = out[s.type];
    if (!t) out[s.type] = { ops: 1, gas: s.gas!, op: s.op, name: s.name, element: s.element };
    else {
      t.ops += 1;
      if (s.gas! > t.gas) Object.assign(t, { gas: s.gas!, op: s.op, name: s.name, element: s.element });
    }
  }
  return out;
}

const stepAt = (model: string, s: StepGas) => ({
  model,
  op: s.op,
  type: s.type,
  name: s.name,
  element: s.element,
  picks: s.picks,
  chunks: s.chunks,
});

const gameSummary = (g: GameGas, cheat: ReturnType<typeof cheatAt>) => ({
  model: g.model,
  op: g.op,
  type: g.opType,
  element: g.element,
  cheat: {
    how: cheat.how,
    delta: cheat.delta,
    firstWrongOp: cheat.firstWrongOp,
    firstWrongElement: cheat.firstWrongElement,
    reachesOutput: cheat.reachesOutput,
  },
  outcome: g.outcome,
  challenge: g.challenge,
  moves: g.moves,
  total: g.total,
  movesWorker: g.worker,
  movesChallenger: g.challenger,
  movesBound: { worker: g.bound.worker, challenger: g.bound.challenger + 1 },
  maxMove: g.maxMove,
  submitStep: g.submitStep,
  computeElement: g.computeElement,
  overTxGasCap: g.overTxGasCap,
});

// ---- measurements ----

log('baselines, honest tasks, a batch of 1,000');
const base = await baseline(w);
const tasks = await singleTasks();
const batch = await batch1000();

log('loading the example models and the benchmark transformer');
const examples = await loadExamples();
const tModel = buildBenchTransformer();
const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];
// Its one-steps need no registration (the verifier checks the witness against the model root in
// it); its game does. A registry that refuses it leaves the game out of the report.
let tRegisterError: string | undefined;
let tRoot = toHex(modelRoot(tModel));
try {
  tRoot = await registerModel(w.v, tModel);
} catch (err) {
  tRegisterError = firstLine(err);
}
const transformer = benchModel('bench-transformer', tModel, tRoot, benchTransformerInput(tModel));
const exampleRoots = examples.map((m) => m.root);
await registerAgent(w, EXAMPLE_PARTIES.worker, exampleRoots, parseEther('50'));
await registerAgent(w, EXAMPLE_PARTIES.challenger, exampleRoots, parseEther('50'));
if (!tRegisterError) {
  await registerAgent(w, TRANSFORMER_PARTIES.worker, [transformer.root], parseEther('50'));
  await registerAgent(w, TRANSFORMER_PARTIES.challenger, [transformer.root], parseEther('50'));
}
/** Evenly spaced elements measured per example op beyond first, middle, last and most chunks. */
const EXAMPLE_SPREAD = 8;

log(`one-steps of ${examples.map((m) => `${m.name} (${m.model.ops.length} ops)`).join(', ')}`);
const exampleSteps = new Map<string, StepGas[][]>();
for (const m of examples) exampleSteps.set(m.name, await measureModel(m, EXAMPLE_SPREAD));
let worst: { m: BenchModel; s: StepGas } | undefined;
for (const m of examples) {
  for (const steps of exampleSteps.get(m.name)!) {
    const s = worstOf(steps);
    if (s && (!worst || s.gas! > worst.s.gas!)) worst = { m, s };
  }
}
if (!worst) throw new Error('No one-step of the example models could be estimated.');
const exampleErrors = examples.flatMap((m) =>
  exampleSteps
    .get(m.name)!
    .flat()
    .filter((s) => s.error)
    .map((s) => ({ model: m.name, op: s.op, element: s.element, error: s.error })),
);

log(`full dispute on ${worst.m.name} op ${worst.s.op} (${worst.s.type})`);
const exampleCheat = cheatAt(worst.m, worst.s.op, worst.s.element, [1, 64]);
const exampleGame = await playGame(w, worst.m, exampleCheat, EXAMPLE_PARTIES);

log(`one-steps of the transformer (${tModel.ops.length} ops)`);
const tSteps = await measureModel(transformer, 0);
const tWorstPerOp = tSteps.map(worstOf);
const tWorst = tWorstPerOp.reduce<StepGas | undefined>(
  (a, b) => (b && (!a || b.gas! > a.gas!) ? b : a),
  undefined,
);
// The game: a late op (last quarter) with the largest output, ties to the larger step, at its
// worst measured element (element 0 if none of its steps could be estimated).
const outBytes = (k: number) => transformer.trace[k].data.length;
const gasOf = (k: number) => tWorstPerOp[k]?.gas ?? 0;
let targetOp = tModel.ops.length - 1;
for (let k = Math.floor((tModel.ops.length * 3) / 4); k < tModel.ops.length; k++) {
  const [b, a] = [outBytes(k), outBytes(targetOp)];
  if (b > a || (b === a && gasOf(k) > gasOf(targetOp))) targetOp = k;
}
const target = {
  op: targetOp,
  element: tWorstPerOp[targetOp]?.element ?? 0,
  type: tModel.ops[targetOp].type,
  name: tModel.ops[targetOp].name,
};
log(`full dispute on the transformer, op ${target.op} (${target.type} "${target.name}")`);
const tCheat = cheatAt(transformer, target.op, target.element, [64]);
let tGame: GameGas | undefined;
let tGameError = tRegisterError && `registration failed: ${tRegisterError}`;
if (!tGameError) {
  try {
    tGame = await playGame(w, transformer, tCheat, TRANSFORMER_PARTIES);
  } catch (err) {
    tGameError = firstLine(err);
  }
}
await w.close();

// ---- results ----

/** The cheapest full path: a signed task, posted and finalized in two transactions. */
const honestTask = tasks.find((t) => t.label === 'signed task (postSigned), no consumer')!;
const games = [exampleGame, ...(tGame ? [tGame] : [])];
const movesOf = (g: GameGas) => Math.max(g.worker, g.challenger);
const maxMovesPerParty = Math.max(...games.map(movesOf));
const maxMoveGame = games.reduce((a, b) => (b.maxMove.gas > a.maxMove.gas ? b : a));
const tAll = tSteps.flat();
const tMeasured = tWorstPerOp.filter((s) => s !== undefined);
const result = {
  honestTask: honestTask.total,
  honestTaskParts: honestTask.parts,
  honestTaskVariants: Object.fromEntries(tasks.map((t) => [t.label, t.total])),
  batchPerResult: batch.perResult,
  batch,
  maxOneStep: worst.s.gas!,
  maxOneStepAt: stepAt(worst.m.name, worst.s),
  oneStepByType: Object.fromEntries(examples.map((m) => [m.name, byType(exampleSteps.get(m.name)!)])),
  oneStepErrors: exampleErrors,
  fullDispute: exampleGame.total,
  fullDisputeGame: gameSummary(exampleGame, exampleCheat),
  maxMovesPerParty,
  maxMove: maxMoveGame.maxMove.gas,
  /** The largest submitStep played in any game: computeElement plus the game's checks and payout. */
  maxSubmitStep: Math.max(...games.map((g) => g.submitStep ?? 0)),
  maxMoveAt: { model: maxMoveGame.model, move: maxMoveGame.maxMove.move },
  largestModel: {
    name: tModel.meta.name,
    ops: tModel.ops.length,
    activationBytes: modelStats(tModel).activationBytes,
    maxOneStep: tWorst?.gas,
    maxOneStepAt: tWorst && stepAt(transformer.name, tWorst),
    fullDispute: tGame?.total,
    maxMovesPerParty: tGame && movesOf(tGame),
    maxMove: tGame?.maxMove.gas,
    opsMeasured: tMeasured.length,
    elementsMeasured: tAll.length,
    oneStepByType: byType(tSteps),
    opsOverTarget: tMeasured.filter((s) => s.gas! > TARGETS.maxOneStep).length,
    opsOverTxGasCap: tMeasured.filter((s) => s.gas! > TX_GAS_CAP).map((s) => ({ op: s.op, gas: s.gas })),
    oneStepErrors: tAll.filter((s) => s.error).map((s) => ({ op: s.op, element: s.element, error: s.error })),
    game: tGame ? gameSummary(tGame, tCheat) : { error: tGameError },
    met: {
      maxOneStep: tWorst !== undefined && tWorst.gas! <= TARGETS.maxOneStep,
      fullDispute: tGame !== undefined && tGame.total <= TARGETS.fullDispute,
      maxMovesPerParty: tGame !== undefined && movesOf(tGame) <= TARGETS.maxMovesPerParty,
      maxMove: tGame !== undefined && tGame.maxMove.gas <= TARGETS.maxMove,
    },
  },
  baselines: base,
  txGasCap: TX_GAS_CAP,
  targets: TARGETS,
  met: {
    maxOneStep: worst.s.gas! <= TARGETS.maxOneStep,
    fullDispute: exampleGame.total <= TARGETS.fullDispute,
    maxMovesPerParty: maxMovesPerParty <= TARGETS.maxMovesPerParty,
    maxMove: maxMoveGame.maxMove.gas <= TARGETS.maxMove,
  },
};

if (JSON_OUT) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  printTable();
}

function printTable() {
  const rows: string[][] = [];
  const ratio = (n: number, d: number, what: string) => `${(n / d).toFixed(n / d < 10 ? 2 : 1)}× ${what}`;
  const vsNative = (n: number) => ratio(n, base.nativeTransfer, 'native transfer');
  const met = (ok: boolean) => (ok ? 'yes' : 'NO');
  const row = (what: string, value: string, target = '', ok = '', vs = '', anchor = '') =>
    rows.push([what, value, target, ok, vs, anchor]);
  const movesText = (g: GameGas) => {
    const moves = g.moves
      .map((x) => `${x.move} ${fmt(x.gas)}${x.reverted ? ` (reverted: ${x.reverted})` : ''}`)
      .join(', ');
    const split =
      g.submitStep !== undefined && g.computeElement !== undefined
        ? `; submitStep = computeElement ${fmt(g.computeElement)} + game ${fmt(g.submitStep - g.computeElement)}`
        : '';
    return `challenge ${fmt(g.challenge)}, ${moves}${split}`;
  };
  const won = (g: GameGas) =>
    g.outcome === 1 ? 'challenger won' : g.outcome === 2 ? 'worker won' : `outcome ${g.outcome}`;
  const place = (s: StepGas) => `op ${s.op} (${s.type} "${s.name}") element ${s.element}, ${s.chunks} chunks`;

  row('baseline: native transfer', fmt(base.nativeTransfer));
  row('baseline: ERC-20 transfer (to a holder)', fmt(base.erc20Transfer));
  row('baseline: ERC-20 approve (plain contract call)', fmt(base.erc20Approve));
  for (const t of tasks) {
    const parts = Object.entries(t.parts)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(' + ');
    row(
      `honest task (${t.label}): ${parts}`,
      fmt(t.total),
      '<= 150,000',
      met(t.total <= 150_000),
      ratio(t.total, base.erc20Transfer, 'ERC-20 transfer'),
      'Ritual Infernet ~142k create + ~353k deliver',
    );
  }
  row(
    `batch of 1,000: post ${fmt(batch.post)} + finalize ${fmt(batch.finalize)}, per result`,
    fmt(batch.perResult),
    '<= 2,000',
    met(batch.perResult <= 2_000),
    ratio(batch.perResult, base.erc20Transfer, 'ERC-20 transfer'),
    'per-result signature check ~3k (ecrecover) + SSTORE 22k',
  );
  for (const m of examples) {
    const t = byType(exampleSteps.get(m.name)!);
    const parts = Object.entries(t)
      .map(([type, x]) => `${type} ${fmt(x.gas)}`)
      .join(', ');
    row(`one-step, ${m.name}: worst per op type (${m.model.ops.length} ops): ${parts}`, '');
  }
  row(
    `largest one-step: ${worst!.m.name} ${place(worst!.s)}, computeElement as a transaction`,
    fmt(result.maxOneStep),
    `<= ${fmt(TARGETS.maxOneStep)}`,
    met(result.met.maxOneStep),
    vsNative(result.maxOneStep),
    'EZKL ~400k per small-model proof verification',
  );
  const eg = exampleGame;
  row(
    `full dispute (${eg.model}, op ${eg.op} ${eg.opType}, element ${eg.element}; cheat: ${exampleCheat.how}, delta ${exampleCheat.delta}; ${won(eg)}): ${movesText(eg)}`,
    fmt(eg.total),
    `<= ${fmt(TARGETS.fullDispute)}`,
    met(result.met.fullDispute),
    vsNative(eg.total),
    'Optimism FDG: ~73 bisection moves per side; Arbitrum BoLD: multi-level',
  );
  row(
    `most moves of one party in any game (${games.map((g) => `${g.model}: worker ${g.worker}, challenger ${g.challenger} incl. challenge`).join('; ')})`,
    String(maxMovesPerParty),
    `<= ${TARGETS.maxMovesPerParty}`,
    met(result.met.maxMovesPerParty),
    '',
    'Optimism FDG: ~73 moves per side',
  );
  row(
    `largest single move in any game (${maxMoveGame.model} ${maxMoveGame.maxMove.move})`,
    fmt(result.maxMove),
    `<= ${fmt(TARGETS.maxMove)}`,
    met(result.met.maxMove),
    vsNative(result.maxMove),
  );
  const L = result.largestModel;
  const tParts = Object.entries(L.oneStepByType)
    .map(([type, x]) => `${type} ${fmt(x.gas)}`)
    .join(', ');
  row(
    `${L.name} (${L.ops} ops, ${fmt(L.activationBytes)} activation bytes): worst one-step per op type, ${L.opsMeasured} ops measured: ${tParts}`,
    '',
  );
  if (tWorst) {
    const cap = tWorst.gas! > TX_GAS_CAP ? `, over the 2^24 cap` : '';
    row(
      `${L.name} largest one-step: ${place(tWorst)}; ${L.opsOverTarget} ops over 1M, ${L.opsOverTxGasCap.length} over 2^24${cap}`,
      fmt(tWorst.gas!),
      `<= ${fmt(TARGETS.maxOneStep)}`,
      met(tWorst.gas! <= TARGETS.maxOneStep),
      vsNative(tWorst.gas!),
    );
  }
  if (tGame) {
    row(
      `${L.name} full dispute (op ${tGame.op} ${tGame.opType}, element ${tGame.element}; cheat: ${tCheat.how}, delta ${tCheat.delta}; ${won(tGame)}): ${movesText(tGame)}; moves worker ${tGame.worker}, challenger ${tGame.challenger} incl. challenge`,
      fmt(tGame.total),
      `<= ${fmt(TARGETS.fullDispute)}`,
      met(tGame.total <= TARGETS.fullDispute),
      vsNative(tGame.total),
    );
  } else {
    row(`${L.name} full dispute: failed (${tGameError})`, '');
  }
  console.log('| measurement | gas | target | met | vs baseline | anchor |');
  console.log('| --- | ---: | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}
