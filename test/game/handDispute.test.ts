// Dispute games on the hand model (conv -> maxpool -> reshape -> matmul -> softmax) with the real
// OneStepVerifier: an honest challenger beats a worker that corrupts one element of one op, an
// honest worker beats a dishonest challenger, silent parties lose on their clocks, a second game
// game open at a conviction plays on and shares its reward, and every bad move reverts with its named error.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseEther } from 'viem';
import { BURN_ADDRESS, NATIVE } from '../../src/chain/bindings/types.ts';
import { maxMovesPerParty } from '../../src/dispute/machine.ts';
import {
  nameOpArgs,
  openOp,
  openTensorLeaf,
  revealTensorArgs,
  revealTraceArgs,
} from '../../src/dispute/moves.ts';
import { corruptedParty, honestParty, type TraceProvider } from '../../src/dispute/party.ts';
import { readGameView } from '../../src/dispute/play.ts';
import {
  advance,
  balance,
  expectRevert,
  handInput,
  hexOf,
  receiptOf,
  registerAgent,
  startWorld,
  type World,
} from '../market/support.ts';
import { assertGameSolvent, challengeTask, play, postTask } from './support.ts';

let w: World;
const REQ = 3;
const WORKER = 1;
const CHALLENGER = 2;
const CHALLENGER2 = 4;

before(async () => {
  w = await startWorld();
  // Enough stake to stay active through every conviction of this file.
  await registerAgent(w, WORKER, [w.modelRoot], parseEther('20'));
  await registerAgent(w, CHALLENGER, [w.modelRoot]);
});
after(async () => w?.close());

const player = (i: number, trace: TraceProvider, silent = false) => ({
  wallet: w.chain.wallet(i),
  trace,
  silent,
});

async function dispute(worker: TraceProvider, challenger: TraceProvider) {
  const posted = await postTask(w, REQ, WORKER, worker);
  const gameId = await challengeTask(w, CHALLENGER, posted);
  const result = await play(w, gameId, player(WORKER, worker), player(CHALLENGER, challenger));
  return { posted, gameId, result };
}

const cases = [
  { name: 'first op (conv)', k: 0, element: 5 },
  { name: 'maxpool, not propagated', k: 1, element: 3, propagate: false },
  { name: 'the long matmul', k: 3, element: 2 },
  { name: 'last op (softmax), i.e. the output only', k: 4, element: 1 },
];

for (const c of cases) {
  test(`a worker that corrupts ${c.name} loses to an honest challenger`, async () => {
    const input = handInput(11 + c.k);
    const honest = honestParty(w.model, input);
    const cheat = corruptedParty(w.model, input, c.k, c.element, { propagate: c.propagate });
    const stakeBefore = (await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).stake;
    const { posted, result } = await dispute(cheat, honest);
    assert.equal(result.outcome, 1, 'challenger won');
    const limit = maxMovesPerParty(w.model.ops.length, 1);
    for (const by of ['worker', 'challenger'] as const) {
      // The challenge transaction that opened the game is one of the challenger's moves.
      const n = result.moves.filter((m) => m.by === by).length + (by === 'challenger' ? 1 : 0);
      assert.ok(n <= limit[by], `${by}: ${n} moves, at most ${limit[by]}`);
    }
    assert.ok(result.moves.every((m) => !m.reverted));
    assert.equal((await w.v.taskMarket.read.taskState([posted.id])).status, 6, 'convicted');
    const stake = w.v.params.task.workerStake;
    assert.equal(stakeBefore - (await w.v.agentRegistry.read.agentInfo([w.accounts[WORKER]])).stake, stake);
    await assertGameSolvent(w, w.accounts);
  });
}

test('an honest worker beats a challenger that corrupts an op', async () => {
  for (const k of [0, 3]) {
    const input = handInput(30 + k);
    const honest = honestParty(w.model, input);
    const cheat = corruptedParty(w.model, input, k, 1);
    const burnBefore = await balance(w, BURN_ADDRESS);
    const creditBefore = await w.v.disputeGame.read.credits([w.accounts[WORKER]]);
    const { posted, result } = await dispute(honest, cheat);
    assert.equal(result.outcome, 2, `worker won (op ${k})`);
    const bond = w.v.params.task.challengeBond;
    const share = (bond * BigInt(w.v.params.gameWorkerShareBps)) / 10_000n;
    assert.equal((await w.v.disputeGame.read.credits([w.accounts[WORKER]])) - creditBefore, share);
    assert.equal((await balance(w, BURN_ADDRESS)) - burnBefore, bond - share);
    // The task goes on to finalization.
    await advance(w, w.v.params.task.challengeWindow);
    await receiptOf(
      w,
      w.v.as(w.chain.wallet(REQ)).taskMarket.write.finalize([posted.task, posted.result, '0x']),
    );
  }
  await assertGameSolvent(w, w.accounts);
});

test('a silent worker loses on its clock; a silent challenger loses on its clock', async () => {
  const input = handInput(40);
  const honest = honestParty(w.model, input);
  const cheat = corruptedParty(w.model, input, 0, 0);
  let posted = await postTask(w, REQ, WORKER, cheat);
  let gameId = await challengeTask(w, CHALLENGER, posted);
  let r = await play(w, gameId, player(WORKER, cheat, true), player(CHALLENGER, honest));
  assert.equal(r.state, 'awaitWorkerTrace');
  await expectRevert(() => w.v.disputeGame.write.timeout([gameId]), 'DisputeGameClockRunning');
  await advance(w, w.v.params.clockBudget + 1n);
  await expectRevert(
    () => w.v.as(w.chain.wallet(WORKER)).disputeGame.write.revealTrace([gameId, ...revealTraceArgs(cheat)]),
    'DisputeGameClockExpired',
  );
  await receiptOf(w, w.v.disputeGame.write.timeout([gameId]));
  assert.equal((await w.v.disputeGame.read.game([gameId])).outcome, 1);

  posted = await postTask(w, REQ, WORKER, honest);
  gameId = await challengeTask(w, CHALLENGER, posted);
  r = await play(w, gameId, player(WORKER, honest), player(CHALLENGER, cheat, true));
  assert.equal(r.state, 'awaitChallengerOpPick');
  await advance(w, w.v.params.clockBudget + 1n);
  await receiptOf(w, w.v.disputeGame.write.timeout([gameId]));
  assert.equal((await w.v.disputeGame.read.game([gameId])).outcome, 2);
  await assertGameSolvent(w, w.accounts);
});

test('several challengers: after one convicts, the others play on, and the winners share the reward', async () => {
  const input = handInput(50);
  const honest = honestParty(w.model, input);
  const cheat = corruptedParty(w.model, input, 3, 0);
  const posted = await postTask(w, REQ, WORKER, cheat);
  const g1 = await challengeTask(w, CHALLENGER, posted);
  const g2 = await challengeTask(w, CHALLENGER2, posted);
  await expectRevert(() => w.v.disputeGame.write.resolveMoot([g2]), 'DisputeGameNotMoot');
  const r1 = await play(w, g1, player(WORKER, cheat), player(CHALLENGER, honest));
  assert.equal(r1.outcome, 1);
  // Convicted, but g2 was open at the conviction: it is not moot and plays on.
  await expectRevert(() => w.v.disputeGame.write.resolveMoot([g2]), 'DisputeGameNotMoot');
  await expectRevert(
    () => w.v.as(w.chain.wallet(CHALLENGER)).taskMarket.write.claimBounty([posted.id]),
    'TaskMarketBountyNotSettled',
  );
  const creditBefore = await w.v.disputeGame.read.credits([w.accounts[CHALLENGER2]]);
  const r2 = await play(w, g2, player(WORKER, cheat), player(CHALLENGER2, honest));
  assert.equal(r2.outcome, 1);
  assert.equal(
    (await w.v.disputeGame.read.credits([w.accounts[CHALLENGER2]])) - creditBefore,
    w.v.params.task.challengeBond,
  );
  assert.equal((await w.v.taskMarket.read.disputes([posted.id])).open, 0n);
  const share = (w.v.params.task.workerStake * BigInt(w.v.params.task.slashBeneficiaryBps)) / 10_000n / 2n;
  for (const c of [CHALLENGER, CHALLENGER2]) {
    const before = await w.v.taskMarket.read.owed([NATIVE, w.accounts[c]]);
    await receiptOf(w, w.v.as(w.chain.wallet(c)).taskMarket.write.claimBounty([posted.id]));
    assert.equal((await w.v.taskMarket.read.owed([NATIVE, w.accounts[c]])) - before, share);
  }
  await assertGameSolvent(w, w.accounts);
});

test('bad moves revert with named errors, move by move', async () => {
  const input = handInput(60);
  const honest = honestParty(w.model, input);
  const cheat = corruptedParty(w.model, input, 3, 0);
  const posted = await postTask(w, REQ, WORKER, cheat);
  const gameId = await challengeTask(w, CHALLENGER, posted);
  const asW = w.v.as(w.chain.wallet(WORKER)).disputeGame.write;
  const asC = w.v.as(w.chain.wallet(CHALLENGER)).disputeGame.write;
  const [batch, dataRoot, root, proof, children] = revealTraceArgs(cheat);
  await expectRevert(() => asC.revealTrace([gameId, ...revealTraceArgs(cheat)]), 'DisputeGameNotYourTurn');
  await expectRevert(() => asW.revealTrace([999n, ...revealTraceArgs(cheat)]), 'DisputeGameUnknownGame');
  await expectRevert(
    () => asW.revealTrace([gameId, batch + 1n, dataRoot, root, proof, children]),
    'DisputeGameInputLengthMismatch',
  );
  await expectRevert(
    () => asW.revealTrace([gameId, 0n, dataRoot, root, proof, children]),
    'DisputeGameInputLengthMismatch',
  );
  // The honest trace tree does not end in the cheater's committed output.
  await expectRevert(
    () => asW.revealTrace([gameId, ...revealTraceArgs(honest)]),
    'DisputeGameOutputProofInvalid',
  );
  await expectRevert(
    () => asW.revealTrace([gameId, batch, dataRoot, root, proof.slice(1), children]),
    'DisputeGameOutputProofInvalid',
  );
  await expectRevert(
    () => asW.revealTrace([gameId, batch, dataRoot, root, proof, children.slice(1)]),
    'DisputeGameChildCount',
  );
  await expectRevert(
    () =>
      asW.revealTrace([
        gameId,
        batch,
        dataRoot,
        root,
        proof,
        [children[1], children[0], ...children.slice(2)],
      ]),
    'DisputeGameNodesMismatch',
  );
  await expectRevert(() => asW.revealNodes([gameId, children]), 'DisputeGameWrongPhase');
  await receiptOf(w, asW.revealTrace([gameId, batch, dataRoot, root, proof, children]));
  // The hand model has 5 ops: children 5..7 of the 8 are padding.
  assert.equal(children.length, 8);
  await expectRevert(() => asC.pick([gameId, children, 5n]), 'DisputeGamePickInPadding');
  await expectRevert(() => asC.pick([gameId, children, 8n]), 'DisputeGameChildOutOfRange');
  await expectRevert(
    () => asC.pick([gameId, [...honest.traceTree.children(3, 0)], 3n]),
    'DisputeGameChildrenMismatch',
  );
  await expectRevert(() => asW.pick([gameId, children, 3n]), 'DisputeGameNotYourTurn');
  await receiptOf(w, asC.pick([gameId, children, 3n]));
  const view = await readGameView(w.v, w.chain.publicClient, gameId);
  assert.equal(view.state, 'awaitChallengerOp');
  const [op, out, sources] = nameOpArgs(honest, 3, view.traceTree!);
  await expectRevert(() => asC.nameOp([gameId, openOp(w.model, 2), out, sources]), 'DisputeGameWrongOp');
  await expectRevert(
    () => asC.nameOp([gameId, { ...op, attrs: [0n, 254n] }, out, sources]),
    'DisputeGameOpLeafInvalid',
  );
  await expectRevert(
    () => asC.nameOp([gameId, op, openTensorLeaf(w.model, w.model.ops[2].output), sources]),
    'DisputeGameBadOutputTensor',
  );
  await expectRevert(() => asC.nameOp([gameId, op, out, sources.slice(1)]), 'DisputeGameSourceCount');
  const wrongProducer = [{ ...sources[0], producer: openOp(w.model, 1) }, ...sources.slice(1)];
  await expectRevert(() => asC.nameOp([gameId, op, out, wrongProducer]), 'DisputeGameBadSource');
  const asConst = [{ ...sources[0], kind: 2 }, ...sources.slice(1)];
  await expectRevert(() => asC.nameOp([gameId, op, out, asConst]), 'DisputeGameBadSource');
  const wrongRoot = [{ ...sources[0], producerRoot: honest.opRoots[0] }, ...sources.slice(1)];
  await expectRevert(() => asC.nameOp([gameId, op, out, wrongRoot]), 'DisputeGameProducerRootInvalid');
  await receiptOf(w, asC.nameOp([gameId, op, out, sources]));
  // The op-3 output (matmul, 10 bytes) has one chunk: no chunk-tree children.
  const [tensorData] = revealTensorArgs(cheat, 3);
  await expectRevert(() => asW.revealTensor([gameId, tensorData, [tensorData]]), 'DisputeGameChildCount');
  await expectRevert(
    () => asW.revealTensor([gameId, honest.chunkTree(2).root, []]),
    'DisputeGameTensorLengthMismatch',
  );
  await receiptOf(w, asW.revealTensor([gameId, tensorData, []]));
  const chunk = cheat.chunk(3, 0);
  await expectRevert(() => asW.revealChunk([gameId, hexOf(chunk.subarray(1))]), 'DisputeGameChunkLength');
  await expectRevert(() => asW.revealChunk([gameId, hexOf(honest.chunk(3, 0))]), 'DisputeGameChunkMismatch');
  await receiptOf(w, asW.revealChunk([gameId, hexOf(chunk)]));
  await expectRevert(
    () => asC.nameElement([gameId, hexOf(chunk), BigInt(chunk.length)]),
    'DisputeGameOffsetOutOfRange',
  );
  await expectRevert(
    () => asC.nameElement([gameId, hexOf(honest.chunk(3, 0)), 0n]),
    'DisputeGameChunkMismatch',
  );
  await receiptOf(w, asC.nameElement([gameId, hexOf(chunk), 0n]));
  const step = honest.step(3, 0);
  await expectRevert(() => asC.submitStep([gameId, { ...step, batch: 2n }]), 'DisputeGameStepMismatch');
  await expectRevert(() => asC.submitStep([gameId, { ...step, element: 1n }]), 'DisputeGameStepMismatch');
  await expectRevert(() => w.v.disputeGame.write.timeout([gameId]), 'DisputeGameClockRunning');
  const r = await play(w, gameId, player(WORKER, cheat), player(CHALLENGER, honest));
  assert.equal(r.outcome, 1);
  await expectRevert(() => w.v.disputeGame.write.timeout([gameId]), 'DisputeGameWrongPhase');
  await expectRevert(
    () => w.v.as(w.chain.wallet(9)).disputeGame.write.claim([w.accounts[9]]),
    'DisputeGameNothingToClaim',
  );
  await expectRevert(
    () =>
      w.v.disputeGame.write.open(
        [
          {
            subject: posted.id,
            modelRoot: w.modelRoot,
            inputRoot: posted.run.inputRoot,
            outputRoot: posted.run.outputRoot,
            worker: w.accounts[WORKER],
            challenger: w.accounts[CHALLENGER],
          },
        ],
        { value: 1n },
      ),
    'DisputeGameNotArena',
  );
});
