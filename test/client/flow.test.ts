// The client end to end on the embedded chain: register, stake, request, a worker posts, finalize,
// verify; a corrupted result is caught by verifyTask, disputed, and convicted on a timeout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getAddress, type Hex, keccak256, parseEther, toHex as viemToHex } from 'viem';
import { toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { TaskConvictedError, TaskNotFoundError, TimeoutError, type WatchedTask } from '../../src/index.ts';
import { handInput } from '../market/support.ts';
import { handModel } from '../support/handModel.ts';
import {
  advance,
  alteredTrace,
  CHALLENGER,
  type ClientWorld,
  PUBLISHER,
  postAsWorker,
  postingOf,
  REQUESTER,
  rejectsWithoutTx,
  startClientWorld,
  WORKER,
} from './support.ts';

describe('createVerinferClient on the embedded chain', () => {
  let w: ClientWorld;
  const model = handModel();
  const root = toHex(modelRoot(model));
  const fee = parseEther('0.01');

  before(async () => {
    w = await startClientWorld();
    const dataset = await w.client(PUBLISHER).registerDataset({
      data: new TextEncoder().encode('hand-made training set'),
      uri: 'ipfs://hand-set',
    });
    assert.equal(dataset.isNew, true);
    const registered = await w.client(PUBLISHER).registerModel({
      model,
      info: { name: 'hand', version: '1', dataId: dataset.contentId, uri: 'vrnf://hand' },
    });
    assert.equal(registered.modelRoot, root);
    for (const i of [WORKER, CHALLENGER]) {
      const s = await w.client(i).stake({ amount: parseEther('5'), endpoint: `node://${i}`, models: [root] });
      assert.equal(s.registered, true);
      assert.equal(s.stake, parseEther('5'));
    }
  });
  after(() => w?.close());

  it('requests an inference, the worker posts, it finalizes, and verifyTask agrees', async () => {
    const requester = w.client(REQUESTER, [model]);
    const seen: WatchedTask[] = [];
    const watched = new Promise<void>((resolve, reject) => {
      const stop = requester.watchTasks({
        onTask: (t) => {
          seen.push(t);
          stop();
          resolve();
        },
        onError: reject,
      });
    });
    const input = handInput(1);
    const { taskId, task } = await requester.requestInference({ model: root, input, fee });
    await watched;
    assert.equal(seen[0].taskId, taskId);
    assert.equal(seen[0].inlineInput, viemToHex(input.data as Uint8Array));

    const open = await requester.getTask({ taskId });
    assert.equal(open.status, 'open');
    assert.equal(open.flags.inlineInput, true);
    assert.equal(open.task?.inputRoot, task.inputRoot);
    await assert.rejects(requester.waitForResult({ taskId, timeout: 0 }), TimeoutError);

    const run = runReference(model, input);
    const posting = postingOf(taskId, input, run.trace);
    await postAsWorker(w, task, posting);
    const result = await requester.waitForResult({ taskId });
    assert.equal(result.worker, getAddress(w.chain.accounts[WORKER]));
    assert.equal(result.commitment, posting.commitment);
    assert.equal(result.output, posting.output);

    const statuses: string[] = [];
    await assert.rejects(
      requester.waitForFinality({ taskId, timeout: 0, onProgress: (p) => statuses.push(p.status) }),
      TimeoutError,
    );
    assert.deepEqual(statuses, ['posted']);
    await advance(w, w.v.params.task.challengeWindow + 1n);
    const fin = await requester.finalizeTask({ taskId });
    assert.equal(fin.finalized, true);
    const final = await requester.waitForFinality({ taskId });
    assert.equal(final.status, 'finalized');
    assert.equal(final.workerPay, fee);
    assert.equal(final.output, posting.output);

    const check = await requester.verifyTask({ taskId });
    assert.equal(check.ok, true);
    assert.deepEqual(check.mismatches, []);
    assert.equal(check.commitment, posting.commitment);

    const paid = await w.client(WORKER).claim();
    assert.equal(paid.market, fee);
    assert.equal(paid.txHashes.length, 1);
  });

  it('verifyTask reports a corrupted output and a corrupted checkpoint', async () => {
    const requester = w.client(REQUESTER, [model]);
    const input = handInput(2);
    const wrongOut = await requester.requestInference({ model: root, input, fee });
    const lastOp = model.ops.length - 1;
    await postAsWorker(
      w,
      wrongOut.task,
      postingOf(wrongOut.taskId, input, alteredTrace(model, input, lastOp)),
    );
    const bad = await requester.verifyTask({ taskId: wrongOut.taskId });
    assert.equal(bad.ok, false);
    assert.deepEqual(
      bad.mismatches.map((m) => m.field),
      ['outputRoot', 'output', 'commitment'],
    );

    const wrongCheckpoint = await requester.requestInference({ model: root, input, fee });
    const checkpointOp = model.ops.length - 2;
    const trace = runReference(model, input).trace;
    const honest = postingOf(wrongCheckpoint.taskId, input, trace);
    const forged = postingOf(wrongCheckpoint.taskId, input, alteredTrace(model, input, checkpointOp, 7));
    // Same output, a different checkpoint inside the commitment.
    await postAsWorker(w, wrongCheckpoint.task, { ...honest, commitment: forged.commitment });
    const hidden = await requester.verifyTask({ taskId: wrongCheckpoint.taskId });
    assert.equal(hidden.ok, false);
    assert.deepEqual(
      hidden.mismatches.map((m) => m.field),
      ['checkpointRoot', 'commitment'],
    );

    // The challenger disputes the wrong output; the worker never answers and loses on time.
    const t = await requester.getTask({ taskId: wrongOut.taskId });
    assert.ok(t.task && t.result);
    const hash = await w.v
      .as(w.chain.wallet(CHALLENGER))
      .taskMarket.write.challenge([t.task, t.result], { value: w.v.params.task.challengeBond });
    await w.chain.publicClient.waitForTransactionReceipt({ hash });
    const disputed = await requester.getTask({ taskId: wrongOut.taskId });
    assert.equal(disputed.flags.disputed, true);
    assert.equal(disputed.disputes.open, 1n);
    const gameId = disputed.disputes.games[0].gameId;
    assert.equal(disputed.disputes.games[0].challenger, getAddress(w.chain.accounts[CHALLENGER]));
    const game = await requester.getDispute({ gameId });
    assert.equal(game.phase, 'awaitWorkerTrace');
    assert.equal(game.outcome, 'none');
    assert.equal(game.subject, wrongOut.taskId);
    assert.equal(game.worker, getAddress(w.chain.accounts[WORKER]));
    assert.equal(game.challenger, getAddress(w.chain.accounts[CHALLENGER]));
    assert.equal(game.clocks.mover, 'worker');
    assert.equal(game.clocks.secondsLeft, w.v.params.clockBudget);

    await advance(w, w.v.params.clockBudget + 1n);
    const timeout = await w.v.as(w.chain.wallet(CHALLENGER)).disputeGame.write.timeout([gameId]);
    await w.chain.publicClient.waitForTransactionReceipt({ hash: timeout });
    const resolved = await requester.getDispute({ gameId });
    assert.equal(resolved.phase, 'resolved');
    assert.equal(resolved.outcome, 'challengerWon');
    const convicted = await assert.rejects(requester.waitForFinality({ taskId: wrongOut.taskId }), (err) => {
      assert.ok(err instanceof TaskConvictedError);
      assert.match(err.message, /refunded/);
      return true;
    });
    assert.equal(convicted, undefined);
  });

  it('follows a model lineage to its training data', async () => {
    const v2 = handModel();
    v2.meta.version = '2';
    const publisher = w.client(PUBLISHER);
    const { modelRoot: root2 } = await publisher.registerModel({
      model: v2,
      info: { name: 'hand', version: '2', parent: root },
    });
    const lineage = await publisher.getLineage({ root: root2 });
    assert.equal(lineage.publisher, getAddress(w.chain.accounts[PUBLISHER]));
    assert.deepEqual(
      lineage.entries.map((e) => [e.modelRoot, e.version]),
      [
        [root2, '2'],
        [root, '1'],
      ],
    );
    assert.equal(lineage.entries[1].dataId, keccak256(new TextEncoder().encode('hand-made training set')));
    assert.equal(lineage.entries[1].dataset?.uri, 'ipfs://hand-set');
  });

  it('unbonds free stake and says when it can be claimed', async () => {
    const worker = w.client(WORKER);
    const { readyAt } = await worker.unbond({ amount: parseEther('1') });
    const early = await worker.claim();
    assert.deepEqual(early.pending, { amount: parseEther('1'), readyAt });
    await advance(w, w.v.params.unbondingDelay + 1n);
    const late = await worker.claim();
    assert.equal(late.stake, parseEther('1'));
  });

  it('getTask of an unknown task is a TaskNotFoundError', async () => {
    const id: Hex = `0x${'ab'.repeat(32)}`;
    await rejectsWithoutTx(
      w,
      w.chain.accounts[REQUESTER],
      () => w.client(REQUESTER).getTask({ taskId: id }),
      TaskNotFoundError,
    );
  });
});
