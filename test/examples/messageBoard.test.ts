// contracts/examples/MessageBoard.sol on the embedded chain with the real spam model: a ham text
// and a spam text are tokenized, run by the engine, posted as signed tasks whose consumer is the
// board, and finalized; the board publishes the ham post and rejects the spam post. Only the
// market can deliver a verdict, and only the task's requester can attach a text to a task.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Address, encodeFunctionData, getContract, type Hex, parseEther, parseEventLogs } from 'viem';
import { messageBoardAbi } from '../../src/chain/bindings/abis.ts';
import { SIGNED_TASK_TYPES, signedTaskDomain } from '../../src/chain/bindings/commitments.ts';
import { NATIVE, type TaskArgs } from '../../src/chain/bindings/types.ts';
import { deployArtifact } from '../../src/chain/deploy.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { rootOfTensor } from '../../src/commit/traceRoot.ts';
import type { Model } from '../../src/engine/graph.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { loadTokenizerSpec, type TokenizerSpec, tokenize } from '../../src/examples/spamTokenizer.ts';
import { EXAMPLES, importExampleModel } from '../../src/sdk/examples.ts';
import { loadModelDir } from '../../src/store/modelDir.ts';
import {
  advance,
  commitmentOf,
  expectRevert,
  hexOf,
  idOf,
  mine,
  type Run,
  receiptOf,
  registerAgent,
  registerModel,
  resultOf,
  runOf,
  startWorld,
  taskOf,
  type World,
} from '../market/support.ts';

const REQ = 3;
const WORKER = 1;
const OTHER = 2;
const PENDING = 1;
const ACCEPTED = 2;
const REJECTED = 3;
const spam = EXAMPLES.find((e) => e.name === 'spam')!;

let w: World;
let dir: string;
let model: Model;
let spec: TokenizerSpec;
let spamRoot: Hex;
let boardAddress: Address;

const boardAs = (i: number) =>
  getContract({
    address: boardAddress,
    abi: messageBoardAbi,
    client: { public: w.chain.publicClient, wallet: w.chain.wallet(i) },
  });

/** The spam model's input for `text`: its token ids, i32 [1, 64]. */
function inputOf(text: string): Tensor {
  const ids = tokenize(text, spec);
  return { dtype: 'i32', shape: [1, ids.length], data: ids, zeroPoint: 0 };
}

function boardTask(run: Run, over: Partial<TaskArgs> = {}): TaskArgs {
  return taskOf(w, w.accounts[REQ], run, {
    modelRoot: spamRoot,
    consumer: boardAddress,
    callbackGasLimit: 100_000,
    ...over,
  });
}

/** The worker posts `run` under the requester-signed `task`, and the task is finalized after the window. */
async function postAndFinalize(task: TaskArgs, run: Run) {
  const id = idOf(w, task);
  const signature = await w.chain.wallet(REQ).signTypedData({
    domain: signedTaskDomain(w.chain.chain.id, w.v.addresses.taskMarket),
    types: SIGNED_TASK_TYPES,
    primaryType: 'SignedTask',
    message: { ...task, worker: w.accounts[WORKER] },
  });
  const commitment = commitmentOf(id, run);
  const output = hexOf(run.outputBytes);
  await receiptOf(
    w,
    w.v
      .as(w.chain.wallet(WORKER))
      .taskMarket.write.postSigned([task, signature, commitment, run.outputRoot, output]),
  );
  await advance(w, w.v.params.task.challengeWindow);
  await mine(w, 2);
  const receipt = await receiptOf(
    w,
    w.v
      .as(w.chain.wallet(REQ))
      .taskMarket.write.finalize([task, resultOf(w.accounts[WORKER], commitment, run), output]),
  );
  const called = parseEventLogs({ abi: w.v.taskMarket.abi, logs: receipt.logs, eventName: 'ConsumerCalled' });
  assert.equal(called.length, 1);
  return {
    id,
    succeeded: called[0].args.succeeded,
    board: parseEventLogs({ abi: messageBoardAbi, logs: receipt.logs }),
  };
}

before(async () => {
  w = await startWorld();
  dir = await mkdtemp(join(tmpdir(), 'verinfer-board-'));
  await importExampleModel(spam, join(dir, 'spam'));
  const pkg = await loadModelDir(join(dir, 'spam'));
  model = pkg.model;
  spec = loadTokenizerSpec(pkg.tokenizer);
  spamRoot = await registerModel(w.v, model);
  boardAddress = (await deployArtifact(w.chain, 'MessageBoard', [w.v.addresses.taskMarket, spamRoot]))
    .address;
  await registerAgent(w, WORKER, [spamRoot], parseEther('5'));
  await receiptOf(
    w,
    w.v
      .as(w.chain.wallet(REQ))
      .taskMarket.write.deposit([NATIVE, parseEther('1')], { value: parseEther('1') }),
  );
});
after(async () => {
  await w?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the ham post is published and the spam post rejected, each on its finalized result', async () => {
  const board = boardAs(REQ);
  const decided: Record<string, { status: number; ham: number; spam: number }> = {};
  for (const name of ['ham', 'spam'] as const) {
    const text = await readFile(join(spam.samples, `${name}.txt`), 'utf8');
    const run = runOf(model, inputOf(text));
    // The output format the board's rule reads: u8 [1, 2], the ham score then the spam score.
    assert.equal(run.outputBytes.length, 2);
    const task = boardTask(run);
    await receiptOf(w, board.write.submit([text, task]));
    const id = idOf(w, task);
    assert.equal((await board.read.post([id])).status, PENDING);
    const done = await postAndFinalize(task, run);
    assert.equal(done.succeeded, true, `${name}: the callback ran`);
    const p = await board.read.post([id]);
    assert.equal(p.text, text);
    assert.equal(p.author.toLowerCase(), w.accounts[REQ].toLowerCase());
    // A client's check of the binding the board cannot make: the text's token ids have the task's input root.
    assert.equal(p.inputRoot, toHex(rootOfTensor(inputOf(p.text))));
    const [event] = done.board;
    assert.ok(event && 'hamScore' in event.args);
    decided[name] = { status: p.status, ham: event.args.hamScore, spam: event.args.spamScore };
    assert.deepEqual([event.args.hamScore, event.args.spamScore], Array.from(run.outputBytes));
  }
  assert.equal(decided.ham.status, ACCEPTED, `ham ${JSON.stringify(decided.ham)}`);
  assert.ok(decided.ham.ham > decided.ham.spam);
  assert.equal(decided.spam.status, REJECTED, `spam ${JSON.stringify(decided.spam)}`);
  assert.ok(decided.spam.ham <= decided.spam.spam);
  assert.equal(await board.read.feedLength(), 1n);
  const [hamEvent] = await w.chain.publicClient.getContractEvents({
    address: boardAddress,
    abi: messageBoardAbi,
    eventName: 'PostAccepted',
    fromBlock: 0n,
  });
  assert.equal(await board.read.feedAt([0n]), hamEvent.args.taskId);
});

test('attack: only the market delivers a verdict, and only once', async (t) => {
  const text = 'Lunch at noon tomorrow? The usual place.';
  const run = runOf(model, inputOf(text));
  const task = boardTask(run);
  const id = idOf(w, task);
  await receiptOf(w, boardAs(REQ).write.submit([text, task]));
  // Anyone else calling the callback directly, with a "ham" output, is refused.
  for (const caller of [REQ, OTHER]) {
    await expectRevert(
      () => boardAs(caller).write.onVerinferResult([id, run.outputRoot, '0xff00']),
      'MessageBoardNotMarket',
    );
  }
  assert.equal((await boardAs(REQ).read.post([id])).status, PENDING);
  // The verdict fits the smallest callback gas the board accepts (the estimate includes 21,000).
  const gas = await w.chain.publicClient.estimateGas({
    account: w.v.addresses.taskMarket,
    to: boardAddress,
    data: encodeFunctionData({
      abi: messageBoardAbi,
      functionName: 'onVerinferResult',
      args: [id, run.outputRoot, hexOf(run.outputBytes)],
    }),
  });
  t.diagnostic(`callback ${gas - 21_000n} gas (output ${hexOf(run.outputBytes)})`);
  assert.ok(gas - 21_000n < BigInt(await boardAs(REQ).read.MIN_CALLBACK_GAS()));
  const done = await postAndFinalize(task, run);
  assert.equal(done.succeeded, true);
  assert.notEqual((await boardAs(REQ).read.post([id])).status, PENDING);
  // A finalized task is never finalized (nor delivered) again.
  const commitment = commitmentOf(id, run);
  await expectRevert(
    () =>
      w.v
        .as(w.chain.wallet(REQ))
        .taskMarket.write.finalize([
          task,
          resultOf(w.accounts[WORKER], commitment, run),
          hexOf(run.outputBytes),
        ]),
    'TaskMarketWrongStatus',
  );
});

test('attack: bad submissions are refused with named errors', async () => {
  const text = 'See you at the meeting.';
  const run = runOf(model, inputOf(text));
  const board = boardAs(REQ);
  await expectRevert(() => board.write.submit(['', boardTask(run)]), 'MessageBoardEmptyText');
  await expectRevert(
    () => board.write.submit(['x'.repeat(8_193), boardTask(run)]),
    'MessageBoardTextTooLong',
  );
  await expectRevert(
    () => board.write.submit([text, boardTask(run, { modelRoot: w.modelRoot })]),
    'MessageBoardWrongModel',
  );
  await expectRevert(
    () => board.write.submit([text, boardTask(run, { consumer: w.accounts[OTHER] })]),
    'MessageBoardWrongConsumer',
  );
  await expectRevert(
    () => board.write.submit([text, boardTask(run, { callbackGasLimit: 20_000 })]),
    'MessageBoardCallbackGasTooLow',
  );
  // Someone else cannot attach a text to the requester's task.
  const task = boardTask(run);
  await expectRevert(() => boardAs(OTHER).write.submit([text, task]), 'MessageBoardNotRequester');
  await receiptOf(w, board.write.submit([text, task]));
  await expectRevert(() => board.write.submit([text, task]), 'MessageBoardPostExists');
});

test('a result for a task with no post changes nothing on the board, and finalization still pays', async () => {
  const run = runOf(model, inputOf('Nothing was submitted for this one.'));
  const task = boardTask(run);
  const before = await boardAs(REQ).read.feedLength();
  const done = await postAndFinalize(task, run);
  // The board refused the callback (MessageBoardUnknownTask); the market settled regardless.
  assert.equal(done.succeeded, false);
  assert.equal(done.board.length, 0);
  assert.equal((await boardAs(REQ).read.post([done.id])).status, 0);
  assert.equal(await boardAs(REQ).read.feedLength(), before);
  assert.equal((await w.v.taskMarket.read.taskState([done.id])).status, 4, 'finalized');
});
