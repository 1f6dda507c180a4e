// Adversarial game fuzzing: on random models and inputs, one honest party plays a whole dispute
// game against a random dishonest one. The dishonest side commits wrong lengths, zero or garbage
// padding, oversized chunks, random roots or a consistently corrupted trace, and misplays: random
// picks, malformed moves, bent input proofs, silence, playing for time. The honest party must win
// every game, never make a move that reverts, and every move must fit one transaction with room
// to spare. VERINFER_FUZZ_GAMES sets the number of games (npm run fuzz:game runs many more).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseEther } from 'viem';
import { modelDescriptorOf } from '../../src/chain/bindings/commitments.ts';
import { ZERO_BYTES32 } from '../../src/chain/bindings/types.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import { corruptedTrace, honestParty, type OpClaim, traceProvider } from '../../src/dispute/party.ts';
import { honestChallenger, honestWorker, type PlayedMove, type Strategy } from '../../src/dispute/play.ts';
import { segmentPlan } from '../../src/dispute/segments.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { advance, receiptOf, registerAgent, startWorld, type World } from '../market/support.ts';
import { mulberry32, randomCase, randomInput } from '../support/randomModel.ts';
import { splitConvModel, splitMeanModel, splitPoolModel } from '../support/wideModels.ts';
import {
  attackClaim,
  CLAIM_ATTACKS,
  claimOfTensor,
  dishonestChallenger,
  dishonestWorker,
  type Misplay,
} from './adversary.ts';
import { assertGameSolvent, challengeTask, play, postTask } from './support.ts';

const GAMES = Number(process.env.VERINFER_FUZZ_GAMES ?? 200);
const SEED = Number(process.env.VERINFER_FUZZ_SEED ?? 20261201);
/** Room to spare under EIP-7825's 2^24 gas per transaction. */
const MOVE_GAS_LIMIT = 4_000_000n;
const REQ = 3;
const WORKER = 1;
const CHALLENGER = 2;

let w: World;
/** The agents serve the hand model and the model of the game being played (the registry caps an
 * agent's served models at MAX_MODELS, so they do not accumulate every model played so far). */
let serving: `0x${string}` | undefined;

/** Extra challengers for the games with several challengers on one task. */
const OTHERS = [4, 5, 6];

/** Games per chain: a long run starts a fresh chain now and then (the chain keeps every trace). */
const GAMES_PER_WORLD = 500;

async function freshWorld() {
  await w?.close();
  serving = undefined;
  w = await startWorld();
  await registerAgent(w, WORKER, [w.modelRoot], parseEther('5000'));
  await registerAgent(w, CHALLENGER, [w.modelRoot], parseEther('5000'));
  for (const i of OTHERS) await registerAgent(w, i, [w.modelRoot], parseEther('100'));
}

before(freshWorld);
after(async () => w?.close());

interface Tally {
  games: number;
  honestWorkerWins: number;
  honestChallengerWins: number;
  byAttack: Map<string, number>;
  dishonestReverts: Map<string, number>;
  maxMoveGas: bigint;
  maxMoves: number;
  /** Games that reached the partial-sum level (revealPrefix was played). */
  partialSumGames: number;
}

const tally: Tally = {
  games: 0,
  honestWorkerWins: 0,
  honestChallengerWins: 0,
  byAttack: new Map(),
  dishonestReverts: new Map(),
  maxMoveGas: 0n,
  maxMoves: 0,
  partialSumGames: 0,
};
const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

async function serve(root: `0x${string}`) {
  if (serving === root) return;
  serving = root;
  const roots = [w.modelRoot, root];
  for (const i of [WORKER, CHALLENGER, ...OTHERS]) {
    await receiptOf(w, w.v.as(w.chain.wallet(i)).agentRegistry.write.setModels([roots]));
  }
}

/**
 * The case for one seed: randomCase, or (one game in six, drawn from its own stream so the other
 * cases stay as they were) a model whose first op, a conv, an avgpool over a large window or a
 * reducemean over a strided axis, splits its reduction into committed partial sums.
 */
function caseOf(seed: number) {
  const r = mulberry32(seed ^ 0x5011);
  if (!r.bool(1 / 6)) return randomCase(seed);
  const model = [splitConvModel, splitMeanModel, splitPoolModel][r.int(0, 2)](r);
  const batch = r.int(1, 2);
  return { seed, kind: model.meta.name, model, batch, input: randomInput(model, batch, r) };
}

async function playOne(seed: number) {
  const rng = mulberry32(seed ^ 0x5eed);
  const c = caseOf(seed);
  const { model, input } = c;
  const split = segmentPlan(model, 0).segments > 0;
  const root = toHex(modelRoot(model));
  if (!(await w.v.modelRegistry.read.isRegistered([root]))) {
    const info = { name: `fuzz-${seed}`, version: '1', parent: ZERO_BYTES32, dataId: ZERO_BYTES32, uri: '' };
    await receiptOf(w, w.v.modelRegistry.write.register([modelDescriptorOf(model), info]));
  }
  await serve(root);
  const honest = honestParty(model, input);
  const last = model.ops.length - 1;
  const clock = Number(w.v.params.clockBudget);
  const misplay: Misplay = {
    garbage: rng.pick([0, 0.1, 0.3]),
    silence: rng.pick([0, 0, 0.05]),
    delay: rng.pick([0, 0.2]),
    maxDelaySeconds: rng.pick([clock / 8, clock / 2, clock * 2]),
  };
  const workerCheats = rng.bool();
  let attack: string;
  let worker: Strategy;
  let challenger: Strategy;
  let posted: Awaited<ReturnType<typeof postTask>>;
  if (workerCheats) {
    // A forged output, plus (on models with more than one op) an attack on what it commits for
    // an earlier op, or garbage in its trace tree's padding.
    const forged = corruptedTrace(model, input, last, rng.int(0, 1 << 20) % honest.opBytes(last).length, {
      delta: rng.int(1, 255),
      propagate: false,
    });
    const kind = last === 0 ? 'consistent' : rng.pick(['consistent', 'tracePadding', ...CLAIM_ATTACKS]);
    attack = `worker:${kind}`;
    let cheat: ReturnType<typeof traceProvider>;
    if (kind === 'consistent') {
      const k = rng.int(0, last);
      const t = corruptedTrace(model, input, k, rng.int(0, 1 << 20) % honest.opBytes(k).length, {
        delta: rng.int(1, 255),
      });
      // On a split op, half the time its partial sums are wrong too, from a random segment on.
      // (Drawn only then, so that the other cases play as they did.)
      const wrongSums = split && rng.bool();
      const from = wrongSums ? rng.int(0, 64) : 0;
      const shift = wrongSums ? rng.int(1, 1000) * (rng.bool() ? 1 : -1) : 0;
      if (wrongSums) attack = 'worker:consistent+prefixSums';
      cheat = traceProvider(
        model,
        input,
        t.map((x, i) => (i === last ? forged[last] : x)),
        wrongSums
          ? { prefixSums: (_k, _e, sums) => sums.map((v, i) => (i >= from % sums.length ? v + shift : v)) }
          : {},
      );
    } else if (kind === 'tracePadding') {
      const width = 2 ** Math.ceil(Math.log2(model.ops.length));
      const room = width - model.ops.length;
      const padding = room > 0 ? [Uint8Array.from({ length: 32 }, () => rng.int(1, 255))] : [];
      attack = room > 0 ? attack : 'worker:consistent';
      cheat = traceProvider(model, input, forged, { tracePadding: padding });
    } else {
      const k = rng.int(0, last - 1);
      const claims = new Map<number, OpClaim>([[k, claimOfTensor(forged[k], kind as never, rng)]]);
      cheat = traceProvider(model, input, forged, { claims });
    }
    posted = await postTask(w, REQ, WORKER, cheat, root);
    worker = dishonestWorker(cheat, rng, misplay);
    challenger = honestChallenger(honest);
  } else {
    const lie = rng.bool(0.7);
    attack = lie ? 'challenger:corruptTrace' : 'challenger:random';
    const k = rng.int(0, last);
    const wrongSums = split && rng.bool();
    if (lie && wrongSums) attack = 'challenger:corruptTrace+prefixSums';
    const own = lie
      ? traceProvider(
          model,
          input,
          corruptedTrace(model, input, k, rng.int(0, 1 << 20) % honest.opBytes(k).length, {
            delta: rng.int(1, 255),
          }),
          wrongSums ? { prefixSums: (_k, _e, sums) => sums.map((v, i) => (i >= 1 ? v + 7 : v)) } : {},
        )
      : honest;
    posted = await postTask(w, REQ, WORKER, honest, root);
    worker = honestWorker(honest);
    challenger = dishonestChallenger(own, rng, lie ? misplay : { ...misplay, garbage: 0.5 });
  }
  bump(tally.byAttack, attack);
  const gameId = await challengeTask(w, CHALLENGER, posted);
  const r = await play(
    w,
    gameId,
    { wallet: w.chain.wallet(WORKER), strategy: worker },
    { wallet: w.chain.wallet(CHALLENGER), strategy: challenger },
    { maxRevertsInARow: 2 },
  );
  if (r.state !== 'resolved') {
    // The dishonest party stopped (or ran its clock down): anyone may time it out.
    await advance(w, w.v.params.clockBudget + 1n);
    await receiptOf(w, w.v.disputeGame.write.timeout([gameId]));
  }
  const g = await w.v.disputeGame.read.game([gameId]);
  const honestSide = workerCheats ? 'challenger' : 'worker';
  const context = `seed ${seed} (${c.kind}, ${model.ops.length} ops, batch ${c.batch}, ${attack}); moves ${describe(r.moves)}`;
  assert.equal(Number(g.outcome), workerCheats ? 1 : 2, `the honest ${honestSide} must win: ${context}`);
  for (const m of r.moves) {
    if (m.by === honestSide) assert.equal(m.reverted, undefined, `an honest move reverted: ${context}`);
    else if (m.reverted) bump(tally.dishonestReverts, m.reverted);
    assert.ok(m.gasUsed <= MOVE_GAS_LIMIT, `move ${m.move} used ${m.gasUsed} gas: ${context}`);
    if (m.gasUsed > tally.maxMoveGas) tally.maxMoveGas = m.gasUsed;
  }
  for (const by of ['worker', 'challenger'] as const) {
    const n = r.moves.filter((m) => m.by === by && !m.reverted).length + (by === 'challenger' ? 1 : 0);
    assert.ok(n <= 10, `${by} made ${n} moves: ${context}`);
    tally.maxMoves = Math.max(tally.maxMoves, n);
  }
  if (r.moves.some((m) => m.move === 'revealPrefix' && !m.reverted)) tally.partialSumGames += 1;
  if (workerCheats) tally.honestChallengerWins += 1;
  else tally.honestWorkerWins += 1;
  tally.games += 1;
}

function describe(moves: PlayedMove[]): string {
  return moves.map((m) => `${m.by[0]}:${m.move}${m.reverted ? `!${m.reverted}` : ''}`).join(' ');
}

test(`the honest party wins ${GAMES} random games against a random dishonest one`, async () => {
  for (let i = 0; i < GAMES; i++) {
    if (i > 0 && i % GAMES_PER_WORLD === 0) {
      await assertGameSolvent(w, w.accounts);
      await freshWorld();
    }
    await playOne(SEED + 7919 * i);
  }
  await assertGameSolvent(w, w.accounts);
  assert.equal(tally.games, GAMES);
  // Both sides were played, and the attacks were actually exercised.
  assert.ok(tally.honestWorkerWins > 0 && tally.honestChallengerWins > 0);
  if (GAMES >= 50) assert.ok(tally.partialSumGames > 0, 'some games reached the partial-sum level');
  const summary = {
    games: tally.games,
    honestWorkerWins: tally.honestWorkerWins,
    honestChallengerWins: tally.honestChallengerWins,
    attacks: Object.fromEntries(tally.byAttack),
    dishonestReverts: Object.fromEntries(tally.dishonestReverts),
    maxMoveGas: tally.maxMoveGas.toString(),
    maxMovesPerParty: tally.maxMoves,
    partialSumGames: tally.partialSumGames,
  };
  console.log(JSON.stringify(summary));
});

test('claims an attack makes differ from the honest claim', () => {
  // Guards the generator itself: every attack changes what is committed.
  const rng = mulberry32(1);
  const { trace } = runReference(w.model, {
    dtype: 'u8',
    shape: [1, 1, 4, 4],
    data: new Uint8Array(16).fill(7),
    zeroPoint: 10,
  });
  for (const a of CLAIM_ATTACKS) {
    const bytes = new Uint8Array(trace[0].data.buffer, trace[0].data.byteOffset, trace[0].data.length);
    const honestLeaves = JSON.stringify([...bytes]);
    const c = attackClaim(a, bytes, rng);
    const changed =
      c.byteLength !== bytes.length ||
      c.leaves.length !== 1 ||
      JSON.stringify([...Buffer.concat(c.chunks)]) !== honestLeaves;
    assert.ok(changed, `attack ${a} changes the claim`);
  }
});

/** Every bond the game took went to a credit, to the burn, or is still held by an open game. */
async function assertBondsAccounted(bondsIn: bigint) {
  const g = w.v.disputeGame;
  let credits = 0n;
  for (const a of w.accounts) credits += await g.read.credits([a]);
  let open = 0n;
  for (let i = 1n; i <= (await g.read.gameCount()); i++) open += (await g.read.game([i])).bond;
  // Nothing was claimed in this file, so every bond is still a credit, burnt, or held.
  assert.equal(credits + (await g.read.totalBurnt()) + open, bondsIn, 'bonds in = credits + burnt + open');
}

test('one honest party against several dishonest ones on the same task: the honest one wins and no bond is lost', async () => {
  const rng = mulberry32(SEED ^ 0xabc);
  const bond = w.v.params.task.challengeBond;
  const before = await w.v.disputeGame.read.gameCount();
  let bondsIn = 0n;
  for (let g = 1n; g <= before; g++) bondsIn += bond; // every earlier game was opened with one bond
  for (let round = 0; round < 10; round++) {
    const c = randomCase(SEED + 104729 * (round + 1));
    const { model, input } = c;
    const root = toHex(modelRoot(model));
    if (!(await w.v.modelRegistry.read.isRegistered([root]))) {
      const info = {
        name: `multi-${round}`,
        version: '1',
        parent: ZERO_BYTES32,
        dataId: ZERO_BYTES32,
        uri: '',
      };
      await receiptOf(w, w.v.modelRegistry.write.register([modelDescriptorOf(model), info]));
    }
    await serve(root);
    const honest = honestParty(model, input);
    const last = model.ops.length - 1;
    const liar = () => {
      const k = rng.int(0, last);
      return traceProvider(
        model,
        input,
        corruptedTrace(model, input, k, rng.int(0, 1 << 20) % honest.opBytes(k).length),
      );
    };
    // No delays: games share one clock here (see below).
    const misplay: Misplay = { garbage: 0.2, silence: 0.1, delay: 0, maxDelaySeconds: 1 };
    const workerCheats = round % 2 === 0;
    const cheat = traceProvider(model, input, corruptedTrace(model, input, last, 0, { delta: 77 }));
    const posted = await postTask(w, REQ, WORKER, workerCheats ? cheat : honest, root);
    // The honest challenger (if any) and three dishonest ones all challenge within the window.
    const challengers = workerCheats ? [CHALLENGER, ...OTHERS] : OTHERS;
    const games: { id: bigint; by: number; strategy: Strategy; moves: PlayedMove[] }[] = [];
    for (const by of challengers) {
      const strategy =
        by === CHALLENGER
          ? honestChallenger(honest)
          : dishonestChallenger(rng.bool() ? liar() : honest, rng, misplay);
      games.push({ id: await challengeTask(w, by, posted), by, strategy, moves: [] });
      bondsIn += bond;
    }
    // All games run at once, as a node plays them: round after round, each game gets one move
    // from the party whose turn it is. Nobody plays for time here: on a shared clock a delay in
    // one game would be charged to the honest party waiting in another (single games cover that).
    const worker = workerCheats ? dishonestWorker(cheat, rng, misplay) : honestWorker(honest);
    const stalled = new Set<bigint>();
    for (let progress = true; progress; ) {
      progress = false;
      for (const g of games) {
        if (stalled.has(g.id) || Number((await w.v.disputeGame.read.game([g.id])).phase) === 11) continue;
        const r = await play(
          w,
          g.id,
          { wallet: w.chain.wallet(WORKER), strategy: worker },
          { wallet: w.chain.wallet(g.by), strategy: g.strategy },
          { maxRevertsInARow: 2, maxMoves: 1 },
        );
        g.moves.push(...r.moves);
        if (process.env.VERINFER_DEBUG_GAMES) {
          const ts = (await w.chain.publicClient.getBlock()).timestamp;
          console.log(
            `round ${round} game ${g.id} by ${g.by} t=${ts} state=${r.state} moves=${describe(r.moves)}`,
          );
        }
        if (r.moves.length === 0 || (r.state !== 'resolved' && r.moves.every((m) => m.reverted)))
          stalled.add(g.id);
        else progress = true;
      }
    }
    // Whatever is left waits for a dishonest party that stopped: its clock runs out.
    if (stalled.size > 0) {
      await advance(w, w.v.params.clockBudget + 1n);
      for (const id of stalled) {
        if (Number((await w.v.disputeGame.read.game([id])).phase) !== 11) {
          await receiptOf(w, w.v.disputeGame.write.timeout([id]));
        }
      }
    }
    const outcomes = await Promise.all(
      games.map(async (g) => ({
        moves: describe(g.moves),
        by: g.by,
        outcome: Number((await w.v.disputeGame.read.game([g.id])).outcome),
      })),
    );
    if (workerCheats) {
      const mine = outcomes.find((o) => o.by === CHALLENGER)!;
      // The honest challenger wins its game, even after another challenger convicted the worker
      // first: games open at a conviction play on (none is moot) and share its reward.
      assert.equal(mine.outcome, 1, `round ${round}: ${JSON.stringify(outcomes)}`);
      assert.ok(
        outcomes.some((o) => o.outcome === 1),
        'someone convicted the cheater',
      );
      assert.equal((await w.v.taskMarket.read.taskState([posted.id])).status, 6, 'convicted');
    } else {
      assert.ok(
        outcomes.every((o) => o.outcome === 2),
        `round ${round}: the honest worker wins every game ${JSON.stringify(outcomes)}`,
      );
      await advance(w, w.v.params.task.challengeWindow);
      await receiptOf(
        w,
        w.v.as(w.chain.wallet(REQ)).taskMarket.write.finalize([posted.task, posted.result, '0x']),
      );
    }
    assert.equal((await w.v.taskMarket.read.disputes([posted.id])).open, 0n);
  }
  await assertGameSolvent(w, w.accounts);
  await assertBondsAccounted(bondsIn);
});
