// Dispute games on the two example models (digits CNN, spam transformer) with inputs from their
// held-out sets and the real OneStepVerifier. The dishonest side corrupts one element of one op:
// the first op, a lookup-table op, a long matmul, softmax/layernorm, the last op, or the output
// only. The honest challenger wins every game; the honest worker beats every dishonest challenger.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseEther } from 'viem';
import { maxMovesPerParty } from '../../src/dispute/machine.ts';
import { corruptedParty, honestParty, type TraceProvider } from '../../src/dispute/party.ts';
import type { Model } from '../../src/engine/graph.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { heldOutBatches } from '../../src/sdk/evaluate.ts';
import { EXAMPLES, importExampleModel } from '../../src/sdk/examples.ts';
import { loadModelDir } from '../../src/store/modelDir.ts';
import { registerAgent, registerModel, startWorld, type World } from '../market/support.ts';
import { assertGameSolvent, challengeTask, play, postTask } from './support.ts';

interface Loaded {
  model: Model;
  root: `0x${string}`;
  inputs: Tensor[];
}

let w: World;
const loaded = new Map<string, Loaded>();
const REQ = 3;
const WORKER = 1;
const CHALLENGER = 2;

before(async () => {
  w = await startWorld();
  for (const example of EXAMPLES) {
    const dir = join(await mkdtemp(join(tmpdir(), 'verinfer-game-')), example.name);
    await importExampleModel(example, dir);
    const { model } = await loadModelDir(dir);
    const root = await registerModel(w.v, model);
    const inputs = heldOutBatches(example, model, 1, 3).map((b) => b.quantized);
    loaded.set(example.name, { model, root, inputs });
  }
  const roots = [w.modelRoot, ...[...loaded.values()].map((l) => l.root)];
  // Enough stake to be slashed once per cheating case and stay active.
  await registerAgent(w, WORKER, roots, parseEther('100'));
  await registerAgent(w, CHALLENGER, roots, parseEther('100'));
});
after(async () => w?.close());

const player = (i: number, trace: TraceProvider) => ({ wallet: w.chain.wallet(i), trace });

async function dispute(modelName: string, worker: TraceProvider, challenger: TraceProvider) {
  const { root, model } = loaded.get(modelName)!;
  const posted = await postTask(w, REQ, WORKER, worker, root);
  const gameId = await challengeTask(w, CHALLENGER, posted);
  const result = await play(w, gameId, player(WORKER, worker), player(CHALLENGER, challenger));
  const maxChunks = Math.max(...model.ops.map((_, k) => worker.chunkTree(k).leafLimit));
  const limit = maxMovesPerParty(model.ops.length, maxChunks);
  for (const by of ['worker', 'challenger'] as const) {
    const n = result.moves.filter((m) => m.by === by).length + (by === 'challenger' ? 1 : 0);
    assert.ok(n <= limit[by] && n <= 10, `${by}: ${n} moves, at most ${limit[by]}`);
  }
  assert.ok(
    result.moves.every((m) => !m.reverted),
    'no honest move reverts',
  );
  return result;
}

const cheats: {
  model: string;
  what: string;
  k: number;
  element: number;
  propagate?: boolean;
  sample?: number;
}[] = [
  { model: 'digits', what: 'the first op (conv), in its second chunk', k: 0, element: 1500 },
  { model: 'digits', what: 'a lookup-table op', k: 9, element: 300, sample: 1 },
  { model: 'digits', what: 'the last op, a 288-long matmul (the output)', k: 23, element: 7 },
  {
    model: 'digits',
    what: 'a residual add, not propagated',
    k: 5,
    element: 2000,
    propagate: false,
    sample: 2,
  },
  { model: 'spam', what: 'the first op (gather)', k: 0, element: 3000 },
  { model: 'spam', what: 'a lookup-table op (GELU)', k: 21, element: 5000 },
  { model: 'spam', what: 'softmax', k: 13, element: 9000, sample: 1 },
  { model: 'spam', what: 'layernorm', k: 2, element: 100 },
  { model: 'spam', what: 'the long matmul of the MLP (K = 128)', k: 44, element: 1234, sample: 2 },
  { model: 'spam', what: 'the output only', k: 48, element: 1, propagate: false },
];

for (const c of cheats) {
  test(`${c.model}: a worker that corrupts ${c.what} loses`, async () => {
    const { model, inputs } = loaded.get(c.model)!;
    const input = inputs[c.sample ?? 0];
    const r = await dispute(
      c.model,
      corruptedParty(model, input, c.k, c.element, { propagate: c.propagate }),
      honestParty(model, input),
    );
    assert.equal(r.outcome, 1, 'the honest challenger wins');
  });
}

const liars: { model: string; what: string; k: number; element: number }[] = [
  { model: 'digits', what: 'the first op', k: 0, element: 10 },
  { model: 'digits', what: 'the last op', k: 23, element: 3 },
  { model: 'spam', what: 'softmax', k: 35, element: 77 },
  { model: 'spam', what: 'a matmul', k: 3, element: 4000 },
];

for (const c of liars) {
  test(`${c.model}: an honest worker beats a challenger that corrupts ${c.what}`, async () => {
    const { model, inputs } = loaded.get(c.model)!;
    const input = inputs[0];
    const r = await dispute(c.model, honestParty(model, input), corruptedParty(model, input, c.k, c.element));
    assert.equal(r.outcome, 2, 'the honest worker wins');
  });
}

test('the game ends every example dispute holding only credits', async () => {
  await assertGameSolvent(w, w.accounts);
});
