// The attacks that beat game v1, each played against game v2 on chain. Every one must fail: the
// honest party has a legal move that fits a transaction at every turn, and wins.
//   1. a worker commits an op output with the right chunks but a wrong byte length (or with zero
//      "absent" leaves appended, or garbage where the tree must be empty), puts junk after it and
//      forges the output;
//   2. a worker commits a leaf that hashes a 418,871-byte "chunk";
//   3. a lying challenger steers the honest worker to the element with the largest witness, on
//      a 2400×160 matmul (a real model's shape whose step needed 4.1M gas in v1);
//   4. no move grows with what the other party sent: every move of every game here is bounded.
// (Finding 5, models registered unchecked or squatted, is test/registry/modelRegistry.test.ts.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseEther } from 'viem';
import { modelDescriptorOf } from '../../src/chain/bindings/commitments.ts';
import { ZERO_BYTES32 } from '../../src/chain/bindings/types.ts';
import { keccak256, toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import { tensorBytes } from '../../src/commit/tensorRoot.ts';
import { estimateComputeElementGas } from '../../src/dispute/onestep.ts';
import {
  corruptedParty,
  honestClaim,
  honestParty,
  type OpClaim,
  traceProvider,
} from '../../src/dispute/party.ts';
import { honestChallenger, honestWorker, type PlayResult } from '../../src/dispute/play.ts';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { stepCost } from '../../src/engine/stepCost.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { validateModel } from '../../src/engine/validate.ts';
import {
  advance,
  expectRevert,
  handInput,
  hexOf,
  receiptOf,
  registerAgent,
  startWorld,
  type World,
} from '../market/support.ts';
import { mulberry32, randomInput } from '../support/randomModel.ts';
import { weightMatmul } from '../support/wideModels.ts';
import { challengeTask, play, postTask } from './support.ts';

let w: World;
const REQ = 3;
const WORKER = 1;
const CHALLENGER = 2;
/** Every move must fit one transaction with room to spare under EIP-7825's 2^24. */
const MOVE_GAS_LIMIT = 4_000_000n;

before(async () => {
  w = await startWorld();
  await registerAgent(w, WORKER, [w.modelRoot], parseEther('100'));
  await registerAgent(w, CHALLENGER, [w.modelRoot], parseEther('100'));
});
after(async () => w?.close());

/** Junk for every op after `from`, and a forged output that is still a well-formed tensor. */
function forgedTrace(model: Model, input: Tensor): Tensor[] {
  const trace = runReference(model, input).trace.map((t) => ({ ...t, data: Uint8Array.from(t.data) }));
  const last = trace[trace.length - 1];
  last.data[0] = (last.data[0] + 1) & 255;
  return trace;
}

function junkClaims(trace: Tensor[], from: number): Map<number, OpClaim> {
  const rng = mulberry32(from);
  const claims = new Map<number, OpClaim>();
  for (let k = from; k < trace.length - 1; k++) {
    const c = honestClaim(tensorBytes(trace[k].dtype, trace[k].data));
    claims.set(k, {
      ...c,
      leaves: c.leaves.map(() => Uint8Array.from({ length: 32 }, () => rng.int(0, 255))),
    });
  }
  return claims;
}

/** Plays a cheating worker against an honest challenger; the cheater's stuck move is timed out. */
async function cheatLoses(cheat: ReturnType<typeof traceProvider>, honest: ReturnType<typeof traceProvider>) {
  const posted = await postTask(w, REQ, WORKER, cheat);
  const gameId = await challengeTask(w, CHALLENGER, posted);
  const r = await play(
    w,
    gameId,
    { wallet: w.chain.wallet(WORKER), strategy: honestWorker(cheat) },
    { wallet: w.chain.wallet(CHALLENGER), strategy: honestChallenger(honest) },
  );
  if (r.state !== 'resolved') {
    await advance(w, w.v.params.clockBudget + 1n);
    await receiptOf(w, w.v.disputeGame.write.timeout([gameId]));
  }
  const g = await w.v.disputeGame.read.game([gameId]);
  assert.equal(Number(g.outcome), 1, 'the honest challenger wins');
  assert.equal(
    (await w.v.taskMarket.read.taskState([posted.id])).status,
    6,
    'the forged result is convicted',
  );
  await expectRevert(
    () => w.v.as(w.chain.wallet(REQ)).taskMarket.write.finalize([posted.task, posted.result, '0x']),
    'TaskMarketWrongStatus',
  );
  assertBounded(r, 'challenger');
  return r;
}

function assertBounded(r: PlayResult, honestSide: 'worker' | 'challenger') {
  for (const m of r.moves) {
    assert.ok(m.gasUsed <= MOVE_GAS_LIMIT, `${m.by} ${m.move}: ${m.gasUsed} gas`);
    if (m.by === honestSide) assert.equal(m.reverted, undefined, `the honest ${m.by}'s ${m.move} reverted`);
  }
}

const reverted = (r: PlayResult) => r.moves.filter((m) => m.reverted).map((m) => `${m.move}:${m.reverted}`);

/**
 * A cheater whose op 0 claim is `claim(op0 bytes)`, with junk in every later op and a forged
 * output, against an honest challenger on hand input `seed`.
 */
async function op0Attack(seed: number, claim: (op0: Uint8Array) => OpClaim) {
  const input = handInput(seed);
  const trace = forgedTrace(w.model, input);
  const op0 = tensorBytes(trace[0].dtype, trace[0].data);
  const claims = junkClaims(trace, 1);
  claims.set(0, claim(op0));
  return cheatLoses(traceProvider(w.model, input, trace, { claims }), honestParty(w.model, input));
}

test('1. a wrong byte length on op 0 (same chunks, 1 byte more), junk after it, a forged output: the worker loses', async () => {
  const r = await op0Attack(71, (op0) => {
    // One byte more and still one chunk: v1's challenger had no chunk 1 to point at.
    assert.equal(Math.ceil(op0.length / 1024), Math.ceil((op0.length + 1) / 1024));
    return { ...honestClaim(op0), byteLength: op0.length + 1 };
  });
  // The challenger named op 0; the worker could not open its root at the model's length.
  assert.deepEqual(reverted(r), ['revealTensor:DisputeGameTensorLengthMismatch']);
});

test('1b. zero leaves appended to an op output (the old "absent" sentinel): the worker loses', async () => {
  const r = await op0Attack(72, (op0) => {
    const c = honestClaim(op0);
    return {
      chunks: [...c.chunks, new Uint8Array()],
      leaves: [...c.leaves, new Uint8Array(32)],
      byteLength: op0.length + 1024,
    };
  });
  assert.deepEqual(reverted(r), ['revealTensor:DisputeGameTensorLengthMismatch']);
});

test('1c. the true length but a second leaf where a one-chunk tensor has none: the worker loses', async () => {
  // (Garbage in the padding of a tree of the right depth is played by the adversarial fuzz,
  // where it stops at DisputeGamePaddingNotEmpty.)
  const r = await op0Attack(73, (op0) => {
    const c = honestClaim(op0);
    return {
      chunks: [...c.chunks, Uint8Array.of(1)],
      leaves: [...c.leaves, keccak256(Uint8Array.of(1))],
      byteLength: op0.length,
    };
  });
  // Its tree is one level deeper than a one-chunk tensor's: no reveal of it can be accepted.
  assert.deepEqual(reverted(r), ['revealTensor:DisputeGameChildCount']);
});

test('1d. a nonzero leaf in the trace tree past the last op: the worker loses', async () => {
  const input = handInput(74);
  const honest = honestParty(w.model, input);
  const trace = forgedTrace(w.model, input);
  // 5 ops in a tree of 8: leaves 5..7 must be empty. Op roots all honest but the output.
  const cheat = traceProvider(w.model, input, trace, { tracePadding: [keccak256(Uint8Array.of(9))] });
  const r = await cheatLoses(cheat, honest);
  assert.deepEqual(reverted(r), ['revealTrace:DisputeGamePaddingNotEmpty']);
});

test('2. a leaf that hashes a 418,871-byte chunk: the worker cannot reveal it, and nobody has to repeat it', async () => {
  const r = await op0Attack(75, (op0) => {
    const huge = new Uint8Array(418_871);
    huge.set(op0);
    huge[huge.length - 1] = 7;
    return { chunks: [huge], leaves: [keccak256(huge)], byteLength: op0.length };
  });
  assert.deepEqual(reverted(r), ['revealChunk:DisputeGameChunkLength']);
  // Every challenger move stayed small: none carried the oversized chunk.
  for (const m of r.moves.filter((x) => x.by === 'challenger'))
    assert.ok(m.gasUsed < 300_000n, `${m.move} ${m.gasUsed}`);
});

test('3. a lying challenger steers the honest worker to a 2400-tap element: its step fits and it wins', async () => {
  const model = weightMatmul(1, 2400, 160);
  validateModel(model);
  const root = toHex(modelRoot(model));
  await receiptOf(
    w,
    w.v.modelRegistry.write.register([
      modelDescriptorOf(model),
      { name: 'wide-matmul', version: '1', parent: ZERO_BYTES32, dataId: ZERO_BYTES32, uri: '' },
    ]),
  );
  for (const i of [WORKER, CHALLENGER]) {
    await receiptOf(w, w.v.as(w.chain.wallet(i)).agentRegistry.write.setModels([[w.modelRoot, root]]));
  }
  const bound = stepCost(model, 0).gas;
  assert.ok(bound <= 1_000_000, `the validator's bound ${bound}`);
  for (const element of [0, 159]) {
    const input = randomInput(model, 1, mulberry32(element + 1));
    const honest = honestParty(model, input);
    const posted = await postTask(w, REQ, WORKER, honest, root);
    const gameId = await challengeTask(w, CHALLENGER, posted);
    // The liar's own trace differs exactly at the element it wants the worker to prove.
    const liar = corruptedParty(model, input, 0, element);
    const r = await play(
      w,
      gameId,
      { wallet: w.chain.wallet(WORKER), strategy: honestWorker(honest) },
      { wallet: w.chain.wallet(CHALLENGER), strategy: honestChallenger(liar) },
    );
    assert.equal(r.outcome, 2, 'the honest worker wins');
    const step = r.moves.find((m) => m.move === 'submitStep');
    assert.ok(step && step.by === 'worker', 'the worker proved the element itself');
    // The step itself stays within the validator's bound; the game adds its bookkeeping on top.
    const alone = await estimateComputeElementGas(
      w.chain.publicClient,
      w.v.addresses.verifier,
      honest.step(0, element),
      w.accounts[WORKER],
    );
    assert.ok(alone <= BigInt(bound), `computeElement ${alone} gas within the validator's bound ${bound}`);
    assert.ok(step.gasUsed <= 1_000_000n, `submitStep ${step.gasUsed} gas`);
    assertBounded(r, 'worker');
  }
});

test('4. the reveal the challenger repeats is the one the worker sent: both sides of a pick cost alike', async () => {
  const input = handInput(76);
  const honest = honestParty(w.model, input);
  const cheat = corruptedParty(w.model, input, 3, 0);
  const posted = await postTask(w, REQ, WORKER, cheat);
  const gameId = await challengeTask(w, CHALLENGER, posted);
  const r = await play(
    w,
    gameId,
    { wallet: w.chain.wallet(WORKER), trace: cheat },
    { wallet: w.chain.wallet(CHALLENGER), trace: honest },
  );
  assert.equal(r.outcome, 1);
  const reveal = r.moves.find((m) => m.move === 'revealTrace')!;
  const pick = r.moves.find((m) => m.move === 'pick')!;
  // The pick carries the worker's children back: never much more than the reveal that sent them.
  assert.ok(pick.gasUsed <= reveal.gasUsed * 2n, `pick ${pick.gasUsed} vs reveal ${reveal.gasUsed}`);
  assertBounded(r, 'challenger');
  await expectRevert(
    () => w.v.as(w.chain.wallet(WORKER)).disputeGame.write.revealChunk([1n, hexOf(new Uint8Array(1))]),
    'DisputeGameWrongPhase',
  );
});
