// Dispute games over convs whose one output element reads too many input chunks for one step
// (planes of 1 KiB, many input channels): after the game narrows to one element, the worker
// commits its exact partial sums per channel segment (revealPrefix), the challenger dissects them
// to the first wrong one, and one step checks that segment or the final requantization. The
// honest side wins as worker and as challenger, against wrong bytes and wrong partial sums, and
// the malformed partial-sum moves revert with their named errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseEther } from 'viem';
import { modelDescriptorOf } from '../../src/chain/bindings/commitments.ts';
import { ZERO_BYTES32 } from '../../src/chain/bindings/types.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import { maxMovesPerParty } from '../../src/dispute/machine.ts';
import { revealPrefixArgs, segmentStepArgs } from '../../src/dispute/moves.ts';
import { corruptedTrace, honestParty, type TraceProvider, traceProvider } from '../../src/dispute/party.ts';
import { type PlayResult, readGameView } from '../../src/dispute/play.ts';
import { segmentPlan } from '../../src/dispute/segments.ts';
import type { Model } from '../../src/engine/graph.ts';
import { STEP_GAS_LIMIT, stepCost } from '../../src/engine/stepCost.ts';
import { validateModel } from '../../src/engine/validate.ts';
import {
  advance,
  expectRevert,
  receiptOf,
  registerAgent,
  startWorld,
  type World,
} from '../market/support.ts';
import { mulberry32, randomInput } from '../support/randomModel.ts';
import { stridedMean, wideConv, widePool } from '../support/wideModels.ts';
import { assertGameSolvent, challengeTask, play, postTask } from './support.ts';

let w: World;
const REQ = 3;
const WORKER = 1;
const CHALLENGER = 2;

/**
 * 1x1 conv 64 -> 8 at 32x32 (8 segments of 8 channels), 3x3 conv 24 -> 4 (4 segments of 7), and
 * the mean over the tokens of [1,128,64] (2 segments of 113 tokens) and of [1,128,256] (5 of 29),
 * a global average pool over 2 planes of 56x56 (4 segments of 18 kernel rows) and over 112x112
 * (13 of 9), and a padded 36x36 window at stride 4 over 40x40 (2 of 28).
 */
const MODELS: Model[] = [
  wideConv(64, 8, 32, 32),
  wideConv(24, 4, 32, 32, 3),
  stridedMean(128, 64),
  stridedMean(128, 256, true),
  widePool(2, 56, 56),
  widePool(1, 112, 112),
  widePool(1, 40, 40, { kernel: [36, 36], strides: [4, 4], pad: 2 }),
];
/** An output element of op 0 of `model` (the means have d of them, the pools 1 to 9). */
const at = (model: Model, e: number) =>
  e % model.tensors[model.ops[0].output].shape.reduce((p, d) => p * d, 1);

before(async () => {
  w = await startWorld();
  const roots = [w.modelRoot];
  for (const model of MODELS) {
    validateModel(model);
    const root = toHex(modelRoot(model));
    const info = { name: model.meta.name, version: '1', parent: ZERO_BYTES32, dataId: ZERO_BYTES32, uri: '' };
    await receiptOf(w, w.v.modelRegistry.write.register([modelDescriptorOf(model), info]));
    roots.push(root);
  }
  await registerAgent(w, WORKER, roots, parseEther('50'));
  await registerAgent(w, CHALLENGER, roots, parseEther('50'));
});
after(async () => w?.close());

const inputOf = (model: Model, seed: number) => randomInput(model, 1, mulberry32(seed));

async function dispute(model: Model, worker: TraceProvider, challenger: TraceProvider) {
  const posted = await postTask(w, REQ, WORKER, worker, toHex(modelRoot(model)));
  const gameId = await challengeTask(w, CHALLENGER, posted);
  const result = await play(
    w,
    gameId,
    { wallet: w.chain.wallet(WORKER), trace: worker },
    { wallet: w.chain.wallet(CHALLENGER), trace: challenger },
  );
  return { gameId, result };
}

/** The names of the moves played, in order. */
const movesOf = (r: PlayResult) => r.moves.map((m) => m.move);

function assertPartialSumGame(model: Model, r: PlayResult, honestSide: 'worker' | 'challenger') {
  assert.equal(r.outcome, honestSide === 'challenger' ? 1 : 2, `honest ${honestSide} wins: ${movesOf(r)}`);
  assert.ok(
    r.moves.every((m) => !m.reverted),
    `no move reverted: ${movesOf(r)}`,
  );
  const names = movesOf(r);
  assert.ok(names.includes('revealPrefix'), `the partial-sum level was played: ${names}`);
  assert.equal(names.at(-1), 'submitSegmentStep');
  assert.ok(!names.includes('submitStep'));
  for (const m of r.moves) assert.ok(m.gasUsed < BigInt(STEP_GAS_LIMIT), `${m.move}: ${m.gasUsed} gas`);
  const limit = maxMovesPerParty(model.ops.length, 32, segmentPlan(model, 0).segments);
  for (const by of ['worker', 'challenger'] as const) {
    // The challenge transaction that opened the game is one of the challenger's moves.
    const n = r.moves.filter((m) => m.by === by).length + (by === 'challenger' ? 1 : 0);
    assert.ok(n <= limit[by], `${by}: ${n} moves, at most ${limit[by]}`);
  }
}

describe('the models split their reduction', () => {
  test('segment counts, and every step within the one-step bound at batch 256', () => {
    assert.deepEqual(segmentPlan(MODELS[0], 0), { channels: 8, segments: 8 });
    assert.deepEqual(segmentPlan(MODELS[1], 0), { channels: 7, segments: 4 });
    assert.deepEqual(segmentPlan(MODELS[2], 0), { channels: 113, segments: 2 });
    assert.deepEqual(segmentPlan(MODELS[3], 0), { channels: 29, segments: 5 });
    assert.deepEqual(segmentPlan(MODELS[4], 0), { channels: 18, segments: 4 });
    assert.deepEqual(segmentPlan(MODELS[5], 0), { channels: 9, segments: 13 });
    assert.deepEqual(segmentPlan(MODELS[6], 0), { channels: 28, segments: 2 });
    for (const model of MODELS) assert.ok(stepCost(model, 0, 256).gas <= STEP_GAS_LIMIT);
  });
});

for (const [mi, model] of MODELS.entries()) {
  describe(model.meta.name, () => {
    test('a worker that changes one output element loses to an honest challenger (final step)', async (t) => {
      const input = inputOf(model, 10 + mi);
      const honest = honestParty(model, input);
      const cheat = traceProvider(
        model,
        input,
        corruptedTrace(model, input, 0, at(model, 777), { delta: 3 }),
      );
      const { gameId, result } = await dispute(model, cheat, honest);
      assertPartialSumGame(model, result, 'challenger');
      // Its partial sums are right, so the challenger points at the last leaf: the byte.
      const g = await w.v.disputeGame.read.game([gameId]);
      assert.equal(Number(g.position), segmentPlan(model, 0).segments);
      const step = result.moves.at(-1);
      t.diagnostic(`final step by ${step?.by}: ${step?.gasUsed} gas; moves ${movesOf(result).join(' ')}`);
    });

    test('a worker with a wrong partial sum loses at that segment', async (t) => {
      const input = inputOf(model, 20 + mi);
      const honest = honestParty(model, input);
      const S = segmentPlan(model, 0).segments;
      const j = Math.min(2, S - 1);
      // Wrong from segment j on, and a byte to match its wrong total (a consistent cheater).
      const cheatTrace = corruptedTrace(model, input, 0, at(model, 100), { delta: 1 });
      const cheat = traceProvider(model, input, cheatTrace, {
        prefixSums: (_k, _e, sums) => sums.map((v, i) => (i >= j ? v + 5 : v)),
      });
      const { gameId, result } = await dispute(model, cheat, honest);
      assertPartialSumGame(model, result, 'challenger');
      const g = await w.v.disputeGame.read.game([gameId]);
      assert.equal(Number(g.position), j, 'the first wrong partial sum');
      assert.ok(j > 0 && j < S);
      const step = result.moves.at(-1);
      t.diagnostic(`segment step ${j} by ${step?.by}: ${step?.gasUsed} gas`);
    });

    test('an honest worker beats a challenger that disputes a right element', async (t) => {
      const input = inputOf(model, 30 + mi);
      const honest = honestParty(model, input);
      const liar = traceProvider(model, input, corruptedTrace(model, input, 0, at(model, 5), { delta: 9 }));
      const { result } = await dispute(model, honest, liar);
      assertPartialSumGame(model, result, 'worker');
      t.diagnostic(`moves ${movesOf(result).join(' ')}; step ${result.moves.at(-1)?.gasUsed} gas`);
    });

    test('an honest worker beats a challenger with wrong partial sums', async (t) => {
      const input = inputOf(model, 40 + mi);
      const honest = honestParty(model, input);
      const liar = traceProvider(model, input, corruptedTrace(model, input, 0, at(model, 9), { delta: 1 }), {
        prefixSums: (_k, _e, sums) => sums.map((v, i) => (i >= 1 ? v - 3 : v)),
      });
      const { gameId, result } = await dispute(model, honest, liar);
      assertPartialSumGame(model, result, 'worker');
      const g = await w.v.disputeGame.read.game([gameId]);
      assert.equal(Number(g.position), 1, 'the challenger pointed at its first wrong sum');
      t.diagnostic(`segment step 1 by ${result.moves.at(-1)?.by}: ${result.moves.at(-1)?.gasUsed} gas`);
    });
  });
}

describe('malformed partial-sum moves revert', () => {
  test('a byte proof, a partial sum before the segment and a segment step out of turn', async () => {
    const model = MODELS[0];
    const input = inputOf(model, 50);
    const honest = honestParty(model, input);
    const cheat = traceProvider(model, input, corruptedTrace(model, input, 0, 3, { delta: 2 }));
    const posted = await postTask(w, REQ, WORKER, cheat, toHex(modelRoot(model)));
    const gameId = await challengeTask(w, CHALLENGER, posted);
    const worker = { wallet: w.chain.wallet(WORKER), trace: cheat };
    const challenger = { wallet: w.chain.wallet(CHALLENGER), trace: honest };
    // Play up to the step phase.
    for (;;) {
      const v = await readGameView(w.v, w.chain.publicClient, gameId);
      if (v.state === 'awaitStep') break;
      await play(w, gameId, worker, challenger, { maxMoves: 1 });
    }
    const g = await w.v.disputeGame.read.game([gameId]);
    const k = Number(g.opIndex);
    const element = Number(g.element);
    const asWorker = w.v.as(w.chain.wallet(WORKER)).disputeGame;
    const [step, root, byteProof, children] = revealPrefixArgs(cheat, k, element);
    // The last leaf must be the worker's byte: the honest party's tree has another one there.
    const [, honestRoot, honestProof] = revealPrefixArgs(honest, k, element);
    await expectRevert(
      () => asWorker.write.revealPrefix([gameId, step, honestRoot, honestProof, children]),
      'DisputeGamePrefixByteInvalid',
    );
    await expectRevert(
      () =>
        w.v
          .as(w.chain.wallet(CHALLENGER))
          .disputeGame.write.revealPrefix([gameId, step, root, byteProof, children]),
      'DisputeGameNotYourTurn',
    );
    await expectRevert(
      () => asWorker.write.submitSegmentStep([gameId, ...segmentStepArgs(cheat, k, element, 0, undefined)]),
      'DisputeGameWrongPhase',
    );
    await receiptOf(w, asWorker.write.revealPrefix([gameId, step, root, byteProof, children]));
    // The challenger picks the byte's leaf (the sums agree); then a wrong sum before it reverts.
    await play(w, gameId, worker, { ...challenger, silent: false }, { maxMoves: 1 });
    const v = await readGameView(w.v, w.chain.publicClient, gameId);
    assert.equal(v.state, 'awaitPrefixStep');
    const S = segmentPlan(model, k).segments;
    const [segStep, before, siblings] = segmentStepArgs(honest, k, element, S, v.prefixTree);
    await expectRevert(
      () => asWorker.write.submitSegmentStep([gameId, segStep, before + 1n, siblings]),
      'DisputeGamePrefixProofInvalid',
    );
    // Anyone may submit the right one; the worker's byte is wrong, so it loses.
    await receiptOf(
      w,
      w.v.as(w.chain.wallet(REQ)).disputeGame.write.submitSegmentStep([gameId, segStep, before, siblings]),
    );
    assert.equal(Number((await w.v.disputeGame.read.game([gameId])).outcome), 1);
    await advance(w, 1n);
    await assertGameSolvent(w, w.accounts);
  });
});
