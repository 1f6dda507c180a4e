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
import { runReference } from '../../src/engine/interpreter.ts';
import { advance, receiptOf, registerAgent, startWorld, type World } from '../market/support.ts';
import { mulberry32, randomCase } from '../support/randomModel.ts';
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
const registered = new Set<string>();

before(async () => {
  w = await startWorld();
  await registerAgent(w, WORKER, [w.modelRoot], parseEther('5000'));
  await registerAgent(w, CHALLENGER, [w.modelRoot], parseEther('5000'));
});
after(async () => w?.close());

interface Tally {
  games: number;
  honestWorkerWins: number;
  honestChallengerWins: number;
  byAttack: Map<string, number>;
  dishonestReverts: Map<string, number>;
  maxMoveGas: bigint;
  maxMoves: number;
}

const tally: Tally = {
  games: 0,
  honestWorkerWins: 0,
  honestChallengerWins: 0,
  byAttack: new Map(),
  dishonestReverts: new Map(),
  maxMoveGas: 0n,
  maxMoves: 0,
};
const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

async function serve(root: `0x${string}`) {
  if (registered.has(root)) return;
  registered.add(root);
  const roots = [w.modelRoot, ...registered] as `0x${string}`[];
  for (const i of [WORKER, CHALLENGER]) {
    await receiptOf(w, w.v.as(w.chain.wallet(i)).agentRegistry.write.setModels([roots]));
  }
}

async function playOne(seed: number) {
  const rng = mulberry32(seed ^ 0x5eed);
  const c = randomCase(seed);
  const { model, input } = c;
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
      cheat = traceProvider(
        model,
        input,
        t.map((x, i) => (i === last ? forged[last] : x)),
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
    const own = lie
      ? traceProvider(
          model,
          input,
          corruptedTrace(model, input, k, rng.int(0, 1 << 20) % honest.opBytes(k).length, {
            delta: rng.int(1, 255),
          }),
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
  if (workerCheats) tally.honestChallengerWins += 1;
  else tally.honestWorkerWins += 1;
  tally.games += 1;
}

function describe(moves: PlayedMove[]): string {
  return moves.map((m) => `${m.by[0]}:${m.move}${m.reverted ? `!${m.reverted}` : ''}`).join(' ');
}

test(`the honest party wins ${GAMES} random games against a random dishonest one`, async () => {
  for (let i = 0; i < GAMES; i++) await playOne(SEED + 7919 * i);
  await assertGameSolvent(w, w.accounts);
  assert.equal(tally.games, GAMES);
  // Both sides were played, and the attacks were actually exercised.
  assert.ok(tally.honestWorkerWins > 0 && tally.honestChallengerWins > 0);
  const summary = {
    games: tally.games,
    honestWorkerWins: tally.honestWorkerWins,
    honestChallengerWins: tally.honestChallengerWins,
    attacks: Object.fromEntries(tally.byAttack),
    dishonestReverts: Object.fromEntries(tally.dishonestReverts),
    maxMoveGas: tally.maxMoveGas.toString(),
    maxMovesPerParty: tally.maxMoves,
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
