// The on-chain one-step verifier (contracts/verify/OneStepVerifier.sol) against the reference
// interpreter: for random valid models, the extremes, the hand model and both shipped example
// models, witnesses built by src/dispute/witness.ts for chosen (op, element) pairs are checked on
// chain, and computeElement must return exactly the reference trace value and, for every input,
// the root that the trace commits to. Then every kind of bad witness must revert with its named
// error.
//
// VERINFER_FUZZ_RUNS=N multiplies the number of random models; VERINFER_FUZZ_SEED replays a run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Hex } from 'viem';
import { toHex, ZERO_HASH } from '../../src/commit/keccak.ts';
import { commitTrace, rootOfTensor, type TraceCommitment } from '../../src/commit/traceRoot.ts';
import { computeElementOnChain } from '../../src/dispute/onestep.ts';
import {
  buildOneStepWitness,
  neededChunks,
  neededElements,
  type Step,
  WitnessCache,
} from '../../src/dispute/witness.ts';
import { type Model, OP_CODES, type OpType } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { importOnnx, parseFloatInput, quantizeInput } from '../../src/onnx/index.ts';
import { EXAMPLES } from '../../src/sdk/examples.ts';
import { handInput, handModel } from '../support/handModel.ts';
import {
  addLut,
  extremeAccumulatorModels,
  type Gen,
  ModelBuilder,
  mulberry32,
  OP_TYPES,
  type Rng,
  randomCase,
  randomInput,
  singleOpModel,
} from '../support/randomModel.ts';
import { type Outcome, startVerifierRig, stepWeight, type VerifierRig } from './support.ts';

const RUNS = Math.max(1, Math.floor(Number(process.env.VERINFER_FUZZ_RUNS) || 1));
const SEED = Number(process.env.VERINFER_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 30));
/**
 * Steps above this weight (about 40 full chunks; e.g. a softmax row of 2^16 needs 64) cost tens of
 * millions of gas and gigabytes of EDR trace memory; the random tests skip them and say how many.
 */
const MAX_STEP_WEIGHT = 10_000;

let rig: VerifierRig;
before(async () => {
  rig = await startVerifierRig();
});
after(async () => {
  await rig?.close();
});

const ZERO = toHex(ZERO_HASH);
const B = BigInt;

/** One element to check: its witness, the reference value and the roots the trace commits to. */
interface Check {
  what: string;
  step: Step;
  want: number;
  roots: Hex[];
  type: OpType;
}

/** A model run with its commitment and a witness cache. */
interface Run {
  label: string;
  model: Model;
  input: Tensor;
  trace: Tensor[];
  commitment: TraceCommitment;
  cache: WitnessCache;
}

function runOf(label: string, model: Model, input: Tensor): Run {
  const { trace } = runReference(model, input);
  return { label, model, input, trace, commitment: commitTrace(input, trace), cache: new WitnessCache() };
}

/** The root each input of op k must be opened against: zero for constants, else the trace's. */
function expectedRoots(run: Run, k: number): Hex[] {
  const { model, commitment } = run;
  return model.ops[k].inputs.map((id) => {
    if (model.tensors[id].kind === 'const') return ZERO;
    if (id === model.input) return toHex(commitment.inputRoot);
    return toHex(commitment.opRoots[model.ops.findIndex((op) => op.output === id)]);
  });
}

function check(run: Run, k: number, e: number): Check {
  return {
    what: `${run.label}: op ${k} (${run.model.ops[k].type}) element ${e}`,
    step: buildOneStepWitness(run.model, run.input, run.trace, k, e, run.cache),
    want: run.trace[k].data[e],
    roots: expectedRoots(run, k),
    type: run.model.ops[k].type,
  };
}

/** Element 0, the last one, and `extra` random ones of op k's output. */
function picks(run: Run, k: number, r: Rng, extra: number): number[] {
  const n = run.trace[k].data.length;
  const set = new Set([0, n - 1]);
  for (let i = 0; i < extra; i++) set.add(r.int(0, n - 1));
  return [...set];
}

const covered = new Map<OpType, number>();
let skipped = 0;

/** Runs the checks on chain and asserts value and roots of each; returns the outcomes. */
async function expectAll(checks: Check[]): Promise<Outcome[]> {
  const kept = checks.filter((c) => {
    const heavy = stepWeight(c.step) > MAX_STEP_WEIGHT;
    if (heavy) skipped++;
    return !heavy;
  });
  const results = await rig.run(kept.map((c) => c.step));
  kept.forEach((c, i) => {
    const r = results[i];
    const replay = `(VERINFER_FUZZ_SEED=${SEED})`;
    if (!r.ok) assert.fail(`${c.what}: reverted ${r.error}(${r.args.join(', ')}) ${replay}`);
    assert.equal(r.value, c.want, `${c.what}: on chain ${r.value}, reference ${c.want} ${replay}`);
    assert.deepEqual(r.inputRoots, c.roots, `${c.what}: input roots ${replay}`);
    covered.set(c.type, (covered.get(c.type) ?? 0) + 1);
  });
  return results;
}

describe('computeElement equals the reference', () => {
  test('random models: every op, boundary and random elements, batch 1..4', async (t) => {
    const r = mulberry32(SEED);
    const count = 220 * RUNS;
    const checks: Check[] = [];
    for (let i = 0; i < count; i++) {
      const c = randomCase(SEED + i);
      const run = runOf(`${c.kind} seed ${c.seed} batch ${c.batch}`, c.model, c.input);
      for (let k = 0; k < c.model.ops.length; k++)
        for (const e of picks(run, k, r, 2)) checks.push(check(run, k, e));
    }
    await expectAll(checks);
    t.diagnostic(
      `${checks.length} elements of ${count} random models (seed ${SEED}), ${skipped} heavy skipped`,
    );
    for (const type of OP_TYPES)
      assert.ok((covered.get(type) ?? 0) >= 5, `op ${type} covered ${covered.get(type)}`);
  });

  test('extreme single-op models of every op type', async (t) => {
    const checks: Check[] = [];
    for (const [j, type] of OP_TYPES.entries()) {
      for (let s = 0; s < 4 * RUNS; s++) {
        const rng = mulberry32(SEED ^ (j * 7919 + s * 104729));
        const g: Gen = { rng, extreme: true };
        const model = singleOpModel(g, type);
        const batch = rng.int(1, 3);
        const mode = rng.pick(['extreme', 'zeros', 'max', 'random'] as const);
        const run = runOf(`extreme ${type} #${s} ${mode}`, model, randomInput(model, batch, rng, mode));
        for (let k = 0; k < model.ops.length; k++)
          for (const e of picks(run, k, rng, 3)) checks.push(check(run, k, e));
      }
    }
    await expectAll(checks);
    t.diagnostic(
      `${checks.length} elements of ${OP_TYPES.length * 4 * RUNS} extreme models, ${skipped} heavy skipped`,
    );
  });

  test('saturating dot products: activations 255 against weights -128/127 (conv and matmul)', async (t) => {
    const rng = mulberry32(SEED + 17);
    const checks: Check[] = [];
    // The largest models of extremeAccumulatorModels (65793 taps) are left out: one element of
    // them costs over 60M gas, beyond any block, and exhausts EDR's trace memory.
    const models = extremeAccumulatorModels().filter((m) => /^saturation/.test(m.name));
    for (const { name, model } of models) {
      for (const mode of ['max', 'extreme'] as const) {
        const run = runOf(`${name} ${mode}`, model, randomInput(model, 1, rng, mode));
        for (let k = 0; k < model.ops.length; k++)
          for (const e of picks(run, k, rng, 2)) checks.push(check(run, k, e));
      }
    }
    await expectAll(checks);
    t.diagnostic(`${checks.length} elements of ${models.length} saturation models`);
  });

  test('conv over larger maps: every loop of the in-place tap reader, rows across chunk boundaries', async (t) => {
    // contracts/verify/ConvSum.sol reads a kernel row of taps with one word when it lies inside a
    // chunk (1, up to 4, up to 32 adjacent taps, or dilated ones) and tap by tap otherwise (a row
    // over 32 bytes, or one across a chunk boundary). Random geometries over maps of several
    // chunks, whose planes are rarely multiples of 1024, reach all of them; the corners, the
    // middle and random elements of each are checked, at batch 1..2.
    const r = mulberry32(SEED + 23);
    const checks: Check[] = [];
    const dropped: { what: string; step: Step; args: bigint[] }[] = [];
    const widths = [1, 2, 3, 4, 5, 7, 9, 16, 32, 33, 40];
    const count = 24 * RUNS;
    for (let i = 0; i < count; i++) {
      const KW = r.pick(widths);
      const KH = r.int(1, KW > 9 ? 2 : 5);
      const dh = r.bool(0.7) ? 1 : r.int(2, 3);
      const dw = r.bool(0.7) || KW > 16 ? 1 : r.int(2, 3);
      const H = r.int(KH * dh, KH * dh + 20);
      const W = r.int(Math.max(1, ((KW - 1) * dw + 1) >> 1), (KW - 1) * dw + 30);
      const group = r.bool(0.25) ? r.pick([2, 4]) : 1;
      const C = group * r.int(1, Math.max(1, Math.floor(3000 / (H * W * group))));
      const M = group * r.int(1, 2);
      const Cg = C / group;
      const pads: [number, number, number, number] = [
        r.int(0, KH * dh - 1),
        r.int(0, KW * dw - 1),
        r.int(0, KH * dh - 1),
        r.int(0, KW * dw - 1),
      ];
      const strides: [number, number] = [r.int(1, 2), r.int(1, 2)];
      if (H + pads[0] + pads[2] < (KH - 1) * dh + 1 || W + pads[1] + pads[3] < (KW - 1) * dw + 1) continue;
      const b = new ModelBuilder();
      const x = b.input('u8', [1, C, H, W], r.int(0, 255));
      const perTensor = r.bool(0.5);
      b.op(
        {
          type: 'conv',
          inputs: [
            x,
            b.constant(
              Int8Array.from({ length: M * Cg * KH * KW }, () => r.int(-128, 127)),
              [M, Cg, KH, KW],
            ),
            b.constant(
              Int32Array.from({ length: M }, () => r.int(-5000, 5000)),
              [M],
            ),
            b.constant(
              Int32Array.from({ length: perTensor ? 1 : M }, () => r.int(1, 2000)),
              [perTensor ? 1 : M],
            ),
            b.constant(
              Int32Array.from({ length: perTensor ? 1 : M }, () => r.int(16, 24)),
              [perTensor ? 1 : M],
            ),
          ],
          strides,
          pads,
          dilations: [dh, dw],
          group,
          qmin: 0,
          qmax: 255,
        },
        r.int(0, 255),
      );
      const model = b.build(`conv ${KH}x${KW}`);
      validateModel(model);
      const batch = r.int(1, 2);
      const mode = r.pick(['random', 'random', 'extreme', 'max'] as const);
      const label = `conv #${i} C${C} ${H}x${W} k${KH}x${KW} d${dh},${dw} s${strides} g${group} b${batch} ${mode}`;
      const run = runOf(label, model, randomInput(model, batch, r, mode));
      const es = picks(run, 0, r, 10);
      for (const e of es) checks.push(check(run, 0, e));
      // Without any one of the input chunks, the loops revert naming it.
      const base = check(run, 0, es[es.length - 1]).step;
      base.inputs[0].chunks.forEach((chunk, j) => {
        const step = structuredClone(base);
        step.inputs[0].chunks.splice(j, 1);
        dropped.push({ what: `${label} without chunk ${chunk.index}`, step, args: [B(x), chunk.index] });
      });
    }
    await expectAll(checks);
    const results = await rig.run(dropped.map((d) => d.step));
    dropped.forEach((d, i) => {
      const res = results[i];
      assert.ok(
        !res.ok && res.error === 'OneStepMissingChunk',
        `${d.what}: ${res.ok ? 'verified' : res.error}`,
      );
      assert.deepEqual(res.args, d.args, d.what);
    });
    t.diagnostic(
      `${checks.length} elements of ${count} conv models, ${dropped.length} with a chunk dropped, ${skipped} heavy skipped`,
    );
  });

  test('conv with per-tensor requantization (mult/shift of length 1) uses entry 0 for every channel', async () => {
    // reference/conv.ts reads mult[m] for every channel m (undefined for m >= 1 when the vector has
    // length 1). The verifier broadcasts entry 0, as matmul and the fast backend do; the expected
    // values come from the same model with the vectors repeated per channel.
    const rng = mulberry32(SEED + 23);
    for (let s = 0; s < 3; s++) {
      const b = new ModelBuilder();
      const x = b.input('u8', [1, 4, 6, 5], rng.int(0, 255));
      const M = 6;
      const w = b.constant(
        Int8Array.from({ length: M * 2 * 9 }, () => rng.int(-128, 127)),
        [M, 2, 3, 3],
      );
      const bias = b.constant(
        Int32Array.from({ length: M }, () => rng.int(-5000, 5000)),
        [M],
      );
      const mult = b.constant(Int32Array.of(rng.int(8000, 32767)), [1]);
      const shift = b.constant(Int32Array.of(rng.int(18, 22)), [1]);
      b.op(
        {
          type: 'conv',
          inputs: [x, w, bias, mult, shift],
          strides: [1, 2],
          pads: [1, 0, 1, 1],
          dilations: [1, 1],
          group: 2,
          qmin: 0,
          qmax: 255,
        },
        rng.int(0, 255),
      );
      const model = b.build('per-tensor-conv');
      validateModel(model);
      const perChannel: Model = {
        ...model,
        consts: new Map([
          ...model.consts,
          [mult, new Int32Array(M).fill(model.consts.get(mult)![0])],
          [shift, new Int32Array(M).fill(model.consts.get(shift)![0])],
        ]),
        tensors: model.tensors.map((t) => (t.id === mult || t.id === shift ? { ...t, shape: [M] } : t)),
      };
      const input = randomInput(model, 2, rng);
      const want = runReference(perChannel, input).trace[0];
      const run = runOf(`per-tensor conv #${s}`, model, input);
      run.trace = [want];
      run.commitment = commitTrace(input, [want]);
      await expectAll(Array.from({ length: want.data.length }, (_, e) => check(run, 0, e)));
    }
  });

  test('hand model: every element of every op at batch 2', async () => {
    const run = runOf('hand', handModel(), handInput(2));
    const checks: Check[] = [];
    run.model.ops.forEach((_, k) => {
      for (let e = 0; e < run.trace[k].data.length; e++) checks.push(check(run, k, e));
    });
    await expectAll(checks);
  });

  for (const ex of EXAMPLES) {
    test(`example model ${ex.name}: several elements of every op at batch 2`, async (t) => {
      const bytes = new Uint8Array(readFileSync(ex.onnx));
      const json = (name: string) => JSON.parse(readFileSync(ex.onnx.replace(/[^/]+$/, name), 'utf8'));
      const calibration = (json('calibration.json') as unknown[]).map(parseFloatInput);
      const { model } = await importOnnx(bytes, calibration, {
        name: ex.name,
        version: '1',
        inputKind: ex.tokenizer ? 'tokens' : 'image',
        labels: ex.labels,
      });
      const input = exampleInput(model, ex.name, json('test-set.json'));
      const run = runOf(ex.name, model, input);
      const r = mulberry32(SEED + ex.name.length);
      const checks: Check[] = [];
      for (let k = 0; k < model.ops.length; k++)
        for (const e of picks(run, k, r, 4)) checks.push(check(run, k, e));
      await expectAll(checks);
      const types = new Set(model.ops.map((op) => op.type));
      t.diagnostic(`${checks.length} elements of ${model.ops.length} ops (${[...types].join(', ')})`);
    });
  }

  test('the direct eth_call path (computeElementOnChain) agrees', async () => {
    const run = runOf('hand', handModel(), handInput(1));
    for (const [k, e] of [
      [0, 5],
      [3, 2],
      [4, 1],
    ]) {
      const c = check(run, k, e);
      const got = await computeElementOnChain(rig.chain.publicClient, rig.verifier, c.step);
      assert.deepEqual(got, { value: c.want, inputRoots: c.roots });
    }
  });

  after(() => {
    // Every op code was checked.
    for (const type of Object.keys(OP_CODES) as OpType[])
      assert.ok(covered.get(type), `${type} never checked`);
  });
});

/** Two held-out samples of the example's test set as one batch. */
function exampleInput(model: Model, name: string, set: { pixels?: string[]; tokens?: number[][] }): Tensor {
  if (name === 'digits') {
    const data = set
      .pixels!.slice(0, 2)
      .flatMap((b64) => Array.from(Buffer.from(b64, 'base64'), (p) => p / 255));
    return quantizeInput(model, { shape: [2, 1, 28, 28], data });
  }
  return quantizeInput(model, { shape: [2, 64], data: set.tokens!.slice(0, 2).flat() });
}

// ------------------------------------------------------------------------------------ witnesses

describe('witness builder', () => {
  test('needs exactly the chunks holding the elements the op reads', () => {
    const run = runOf('hand', handModel(), handInput(3));
    const conv = neededElements(run.model, run.input, run.trace, 0, 16 + 5);
    // conv output [3,2,4,4]: element 21 is sample 0, channel 1, (1, 1): all 9 taps in bounds.
    assert.deepEqual(conv[0], [0, 1, 2, 4, 5, 6, 8, 9, 10]);
    assert.deepEqual(conv[1], [9, 10, 11, 12, 13, 14, 15, 16, 17]);
    assert.deepEqual(conv.slice(2), [[1], [1], [1]]);
    const softmax = neededChunks(run.model, run.input, run.trace, 4, 7);
    assert.deepEqual(softmax, [[0], [0]]);
    const big = bigModelRun();
    // Output element 4 = row 1, column 1: a[1, :] is bytes 1500..2999 (chunks 1, 2); w [1500, 3]
    // is committed column-major, so its column 1 is bytes 1500..2999 too (a row-major column would
    // visit every chunk of its 4500 bytes).
    assert.deepEqual(neededChunks(big.model, big.input, big.trace, 0, 4), [[1, 2], [1, 2], [0], [0], [0]]);
  });

  test('the chunks are minimal: dropping any one of them reverts OneStepMissingChunk', async (t) => {
    const r = mulberry32(SEED + 5);
    const runs = [runOf('hand', handModel(), handInput(2)), bigModelRun()];
    for (let i = 0; i < 40; i++) {
      const c = randomCase(SEED + 7919 * (i + 1));
      runs.push(runOf(`${c.kind} seed ${c.seed}`, c.model, c.input));
    }
    const variants: { what: string; step: Step; args: bigint[] }[] = [];
    for (const run of runs) {
      for (let k = 0; k < run.model.ops.length; k++) {
        for (const e of picks(run, k, r, 1)) {
          const base = buildOneStepWitness(run.model, run.input, run.trace, k, e, run.cache);
          if (stepWeight(base) > MAX_STEP_WEIGHT) continue;
          base.inputs.forEach((opening, i) => {
            opening.chunks.forEach((chunk, j) => {
              const step = structuredClone(base);
              step.inputs[i].chunks.splice(j, 1);
              const what = `${run.label}: op ${k} element ${e} without chunk ${chunk.index} of input ${i}`;
              variants.push({ what, step, args: [opening.id, chunk.index] });
            });
          });
        }
      }
    }
    const results = await rig.run(variants.map((v) => v.step));
    variants.forEach((v, i) => {
      const res = results[i];
      assert.ok(!res.ok, `${v.what}: verified without it (VERINFER_FUZZ_SEED=${SEED})`);
      assert.equal(res.error, 'OneStepMissingChunk', `${v.what}: ${res.error}`);
      assert.deepEqual(res.args, v.args, v.what);
    });
    t.diagnostic(`${variants.length} witnesses with one chunk dropped`);
  });

  test('rejects an element outside the output', () => {
    const run = runOf('hand', handModel(), handInput(1));
    assert.throws(() => buildOneStepWitness(run.model, run.input, run.trace, 4, 3), RangeError);
    assert.throws(() => buildOneStepWitness(run.model, run.input, run.trace, 5, 0), RangeError);
  });
});

// ------------------------------------------------------------------------------------ bad input

/** matmul x [1, 2, 1500] by w [1500, 3] (4500 bytes: five chunks), then a lut. */
function bigModelRun(): Run {
  const rng = mulberry32(99);
  const b = new ModelBuilder();
  const x = b.input('u8', [1, 2, 1500], 7);
  const w = b.constant(
    Int8Array.from({ length: 4500 }, () => rng.int(-3, 3)),
    [1500, 3],
  );
  b.op(
    {
      type: 'matmul',
      inputs: [
        x,
        w,
        b.constant(Int32Array.of(5, -5, 9), [3]),
        b.constant(Int32Array.of(20000), [1]),
        b.constant(Int32Array.of(16), [1]),
      ],
      qmin: 0,
      qmax: 255,
    },
    128,
  );
  addLut(b, { rng, extreme: false }, 5);
  const model = b.build('big');
  validateModel(model);
  return runOf('big', model, randomInput(model, 1, rng));
}

describe('bad witnesses revert with named errors', () => {
  const run = bigModelRun();
  const [xId, wId] = run.model.ops[0].inputs;
  const yId = run.model.ops[0].output;
  const base = () => structuredClone(buildOneStepWitness(run.model, run.input, run.trace, 0, 4, run.cache));
  const flip = (h: Hex, at = 0): Hex => {
    const i = 2 + 2 * at;
    const v = (Number.parseInt(h.slice(i, i + 2), 16) ^ 1).toString(16).padStart(2, '0');
    return `0x${h.slice(2, i)}${v}${h.slice(i + 2)}` as Hex;
  };
  const xChunk = (s: Step) => s.inputs[0].chunks[0];
  const cases: { name: string; mutate: (s: Step) => void; error: string; args: bigint[] }[] = [
    {
      name: 'a wrong chunk byte',
      mutate: (s) => {
        xChunk(s).chunk = flip(xChunk(s).chunk, 100);
      },
      error: 'OneStepChunkMismatch',
      args: [B(xId), 1n],
    },
    {
      name: 'a wrong chunk sibling',
      mutate: (s) => {
        s.inputs[1].chunks[1].siblings[1] = flip(s.inputs[1].chunks[1].siblings[1]);
      },
      error: 'OneStepChunkMismatch',
      args: [B(wId), 2n],
    },
    {
      name: 'a chunk presented at another index',
      mutate: (s) => {
        s.inputs[1].chunks[0].index = 3n;
      },
      error: 'OneStepChunkMismatch',
      args: [B(wId), 3n],
    },
    {
      name: 'a truncated chunk',
      mutate: (s) => {
        xChunk(s).chunk = xChunk(s).chunk.slice(0, -2) as Hex;
      },
      error: 'OneStepChunkLength',
      args: [B(xId), 1n, 1023n, 1024n],
    },
    {
      name: 'a chunk index beyond the tensor',
      mutate: (s) => {
        xChunk(s).index = 3n;
      },
      error: 'OneStepChunkOutOfRange',
      args: [B(xId), 3n, 3n],
    },
    {
      name: 'a chunk proof with a sibling missing',
      mutate: (s) => {
        s.inputs[1].chunks[0].siblings.pop();
      },
      error: 'OneStepChunkProofLength',
      args: [B(wId), 1n, 2n, 3n],
    },
    {
      name: 'a missing chunk',
      mutate: (s) => {
        s.inputs[1].chunks.splice(1, 1);
      },
      error: 'OneStepMissingChunk',
      args: [B(wId), 2n],
    },
    {
      name: 'a wrong tensor leaf sibling',
      mutate: (s) => {
        s.inputs[1].leafSiblings[0] = flip(s.inputs[1].leafSiblings[0]);
      },
      error: 'OneStepTensorLeafMismatch',
      args: [B(wId)],
    },
    {
      name: 'a wrong shape',
      mutate: (s) => {
        s.inputs[0].shape = [1n, 3n, 1000n];
      },
      error: 'OneStepTensorLeafMismatch',
      args: [B(xId)],
    },
    {
      name: 'a wrong zero point',
      mutate: (s) => {
        s.inputs[0].zeroPoint = 8n;
      },
      error: 'OneStepTensorLeafMismatch',
      args: [B(xId)],
    },
    {
      name: 'a wrong dtype',
      mutate: (s) => {
        s.inputs[1].dtype = 0n;
      },
      error: 'OneStepTensorLeafMismatch',
      args: [B(wId)],
    },
    {
      name: 'a wrong kind',
      mutate: (s) => {
        s.inputs[0].kind = 2n;
      },
      error: 'OneStepTensorLeafMismatch',
      args: [B(xId)],
    },
    {
      name: 'an invalid kind',
      mutate: (s) => {
        s.inputs[0].kind = 3n;
      },
      error: 'OneStepBadKind',
      args: [B(xId), 3n],
    },
    {
      name: 'other weights (constRoot and root both replaced)',
      mutate: (s) => {
        s.inputs[1].constRoot = flip(s.inputs[1].constRoot);
        s.inputs[1].root = s.inputs[1].constRoot;
      },
      error: 'OneStepTensorLeafMismatch',
      args: [B(wId)],
    },
    {
      name: 'a constant opened against another root',
      mutate: (s) => {
        s.inputs[1].root = flip(s.inputs[1].root);
      },
      error: 'OneStepConstRootMismatch',
      args: [B(wId)],
    },
    {
      name: 'a wrong byte length',
      mutate: (s) => {
        s.inputs[0].byteLength = 3001n;
      },
      error: 'OneStepByteLength',
      args: [B(xId), 3001n, 3000n],
    },
    {
      name: 'a wrong batch size',
      mutate: (s) => {
        s.batch = 2n;
      },
      error: 'OneStepByteLength',
      args: [B(xId), 3000n, 6000n],
    },
    {
      name: 'batch size 0',
      mutate: (s) => {
        s.batch = 0n;
      },
      error: 'OneStepZeroBatch',
      args: [],
    },
    {
      name: 'a wrong op attribute',
      mutate: (s) => {
        s.op.attrs[1] = 254n;
      },
      error: 'OneStepOpLeafMismatch',
      args: [0n],
    },
    {
      name: 'a wrong op code',
      mutate: (s) => {
        s.op.code = 3n;
      },
      error: 'OneStepOpLeafMismatch',
      args: [0n],
    },
    {
      name: 'a wrong op leaf sibling',
      mutate: (s) => {
        s.op.leafSiblings[2] = flip(s.op.leafSiblings[2]);
      },
      error: 'OneStepOpLeafMismatch',
      args: [0n],
    },
    {
      name: 'op 0 presented as op 1 (index/leaf mismatch)',
      mutate: (s) => {
        s.op.index = 1n;
      },
      error: 'OneStepOpLeafMismatch',
      args: [1n],
    },
    {
      name: 'an op index beyond opCount',
      mutate: (s) => {
        s.op.index = 2n;
      },
      error: 'OneStepOpIndexOutOfRange',
      args: [2n, 2n],
    },
    {
      name: 'a wrong opCount',
      mutate: (s) => {
        s.opCount = 3n;
      },
      error: 'OneStepTensorLeafMismatch',
      args: [B(xId)],
    },
    {
      name: 'a wrong model leaf count',
      mutate: (s) => {
        s.modelLeafCount += 1n;
      },
      error: 'OneStepOpLeafMismatch',
      args: [0n],
    },
    {
      name: 'a model leaf proof with a sibling missing',
      mutate: (s) => {
        s.inputs[2].leafSiblings.pop();
      },
      error: 'OneStepLeafProofLength',
      args: [B(1 + 2 + (run.model.ops[0].inputs[2] ?? -1)), 3n, 4n],
    },
    {
      name: 'the openings of two inputs swapped',
      mutate: (s) => {
        [s.inputs[0], s.inputs[1]] = [s.inputs[1], s.inputs[0]];
      },
      error: 'OneStepTensorIdMismatch',
      args: [0n, B(xId), B(wId)],
    },
    {
      name: 'an input opening missing',
      mutate: (s) => {
        s.inputs.pop();
      },
      error: 'OneStepInputCount',
      args: [5n, 4n],
    },
    {
      name: 'the output descriptor of another tensor',
      mutate: (s) => {
        s.output = s.inputs[0];
      },
      error: 'OneStepTensorIdMismatch',
      args: [2n ** 256n - 1n, B(yId), B(xId)],
    },
    {
      name: 'an element outside the output',
      mutate: (s) => {
        s.element = 6n;
      },
      error: 'OneStepElementOutOfRange',
      args: [6n, 6n],
    },
  ];

  test('the untouched witness verifies', async () => {
    const [r] = await rig.run([base()]);
    assert.ok(r.ok && r.value === run.trace[0].data[4], JSON.stringify(r));
  });

  test('every mutation reverts with its error and arguments', async () => {
    const steps = cases.map((c) => {
      const s = base();
      c.mutate(s);
      return s;
    });
    const results = await rig.run(steps);
    cases.forEach((c, i) => {
      const r = results[i];
      assert.ok(!r.ok, `${c.name}: did not revert (value ${r.ok ? r.value : ''})`);
      assert.equal(r.error, c.error, `${c.name}: reverted ${r.error}(${r.args.join(', ')})`);
      assert.deepEqual(r.args, c.args, `${c.name}: arguments of ${r.error}`);
    });
  });

  test('a revert through computeElementOnChain names the error', async () => {
    const s = base();
    s.inputs[1].chunks.splice(1, 1);
    await assert.rejects(computeElementOnChain(rig.chain.publicClient, rig.verifier, s), (err: Error) => {
      assert.match(err.message, /OneStepMissingChunk/);
      return true;
    });
  });

  test('an activation is opened against the root the caller supplies, which is returned', async () => {
    // Op 1 (lut) reads op 0's output. A witness over a different (self-consistent) tensor verifies,
    // and inputRoots shows its root, which differs from the trace's: the caller must compare.
    const fake = { ...run.trace[0], data: run.trace[0].data.map((v) => 255 - v) };
    const step = buildOneStepWitness(run.model, run.input, [fake, run.trace[1]], 1, 3);
    const [r] = await rig.run([step]);
    assert.ok(r.ok, JSON.stringify(r));
    const table = run.model.consts.get(run.model.ops[1].inputs[1] ?? -1)!;
    assert.equal(r.value, table[255 - run.trace[0].data[3]]);
    assert.deepEqual(r.inputRoots, [toHex(rootOfTensor(fake)), ZERO]);
    assert.notEqual(r.inputRoots[0], toHex(run.commitment.opRoots[0]));
  });
});
