// The one-step gas bound of src/engine/stepCost.ts against the chain. For every op of the example
// models, of random models and of hand-built regression models, the witnesses of the elements with
// the most chunks (and a few random ones) are sent as transactions to OneStepVerifier
// (eth_estimateGas). Every measured step must cost at most the bound, and the bound must stay
// within 1.5x + 50k of the most expensive measured step, once the data-dependent part of the price
// is taken out: the bound prices every chunk byte as non-zero (a challenger picks the element,
// the data is what the run produced), so each measurement is raised to what the same step costs
// with its zero chunk bytes non-zero (exact: EIP-7623 prices bytes, not execution).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Hex } from 'viem';
import {
  computeSegmentOnChain,
  encodeComputeElement,
  encodeComputeSegment,
} from '../../src/dispute/onestep.ts';
import { prefixSums, segmentNeeds } from '../../src/dispute/segments.ts';
import { buildOneStepWitness, type Step, WitnessCache } from '../../src/dispute/witness.ts';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { STEP_GAS_LIMIT, type StepCost, stepCost, stepCostReport } from '../../src/engine/stepCost.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { ModelFormatError } from '../../src/errors/base.ts';
import { EXAMPLES } from '../../src/sdk/examples.ts';
import {
  addLayerNorm,
  addMatMulAct,
  addReduceMean,
  addSoftmax,
  addTranspose,
  chainModel,
  ModelBuilder,
  mulberry32,
  OP_TYPES,
  randomInput,
  singleOpModel,
} from '../support/randomModel.ts';
import { stridedMean, weightMatmul, wideConv, widePool } from '../support/wideModels.ts';
import { loadExample } from './examples.ts';
import { startVerifierRig, type VerifierRig } from './support.ts';

let rig: VerifierRig;
before(async () => {
  rig = await startVerifierRig();
});
after(async () => {
  await rig?.close();
});

/** Elements sampled per op; the most chunk-hungry ones and a few random ones are measured. */
const SAMPLED = 24;
const MEASURED_WORST = 3;
const MEASURED_RANDOM = 2;
/** Random models checked; VERINFER_FUZZ_RUNS=N multiplies them. */
const RANDOM_MODELS = 12 * Number(process.env.VERINFER_FUZZ_RUNS ?? 1);

interface Measured {
  element: number;
  gas: number;
  /** The same step with every zero chunk byte priced as non-zero. */
  worstData: number;
}

function chunkBytes(step: Step): number {
  return step.inputs.reduce((s, t) => s + t.chunks.reduce((c, p) => c + (p.chunk.length - 2) / 2, 0), 0);
}

async function measure(
  step: Step,
  call: Hex = encodeComputeElement(step),
): Promise<{ gas: number; worstData: number }> {
  const gas = Number(
    await rig.chain.publicClient.estimateGas({
      account: rig.chain.accounts[0],
      to: rig.verifier,
      data: call,
    }),
  );
  const bytes = Buffer.from(call.slice(2), 'hex');
  let zero = 0;
  for (const b of bytes) if (b === 0) zero++;
  const floor = 10 * (zero + 4 * (bytes.length - zero));
  let zeroData = 0;
  for (const t of step.inputs) {
    for (const c of t.chunks) {
      const chunk = Buffer.from(c.chunk.slice(2), 'hex');
      for (const b of chunk) if (b === 0) zeroData++;
    }
  }
  // 21000 + max(standard + exec, floor): a zero byte turned non-zero adds 12 to the first, 30 to
  // the second.
  return { gas, worstData: Math.max(gas + 12 * zeroData, 21_000 + floor + 30 * zeroData) };
}

/** Measures the chosen elements of every op of a run and checks them against the bound. */
async function checkRun(label: string, model: Model, input: Tensor, seed = 1): Promise<string[]> {
  const { trace } = runReference(model, input);
  const batch = input.shape[0];
  const cache = new WitnessCache();
  const r = mulberry32(seed);
  const lines: string[] = [];
  for (let k = 0; k < model.ops.length; k++) {
    const n = trace[k].data.length;
    const sample = new Set([0, n - 1, n >> 1]);
    while (sample.size < Math.min(n, SAMPLED)) sample.add(r.int(0, n - 1));
    const steps = [...sample].map((element) => ({
      element,
      step: buildOneStepWitness(model, input, trace, k, element, cache),
    }));
    steps.sort((a, b) => chunkBytes(b.step) - chunkBytes(a.step));
    const chosen = [
      ...steps.slice(0, MEASURED_WORST),
      ...steps.slice(MEASURED_WORST).slice(0, MEASURED_RANDOM),
    ];
    const bound = stepCost(model, k, batch);
    if (bound.segments) {
      lines.push(await checkSegments(label, model, input, trace, k, [...sample], bound, cache));
      continue;
    }
    const results: Measured[] = [];
    for (const { element, step } of chosen) results.push({ element, ...(await measure(step)) });
    const worst = results.reduce((a, b) => (b.worstData > a.worstData ? b : a));
    const what = `${label} op ${k} ${model.ops[k].type} ("${model.ops[k].name}")`;
    for (const m of results) {
      assert.ok(m.gas <= bound.gas, `${what} element ${m.element}: measured ${m.gas} > bound ${bound.gas}`);
      assert.ok(
        m.worstData <= bound.gas,
        `${what} element ${m.element}: ${m.worstData} with non-zero data > bound ${bound.gas}`,
      );
    }
    assert.ok(
      bound.gas <= 1.5 * worst.worstData + 50_000,
      `${what}: bound ${bound.gas} is loose against ${worst.worstData} (element ${worst.element})`,
    );
    lines.push(
      `${label.padEnd(10)} ${String(k).padStart(3)} ${model.ops[k].type.padEnd(10)} ${String(bound.chunks).padStart(4)} ${String(bound.taps).padStart(5)} ${String(bound.gas).padStart(9)} ${String(worst.gas).padStart(9)} ${String(worst.worstData).padStart(9)}`,
    );
  }
  return lines;
}

/**
 * An op whose reduction is split into committed partial sums: the first, second, last and final
 * steps of a few elements, each checked against the exact prefix sums, and their gas against the
 * bound (the dearer of a segment step and the final step).
 */
async function checkSegments(
  label: string,
  model: Model,
  input: Tensor,
  trace: Tensor[],
  k: number,
  elements: number[],
  bound: StepCost,
  cache: WitnessCache,
): Promise<string> {
  const run = { model, input, trace };
  const S = bound.segments ?? 0;
  const what = `${label} op ${k} ${model.ops[k].type} ("${model.ops[k].name}")`;
  let worst = { gas: 0, worstData: 0, element: 0, segment: 0 };
  for (const element of elements.slice(0, MEASURED_WORST + MEASURED_RANDOM)) {
    const sums = prefixSums(run, k, element);
    assert.equal(sums.length, S);
    for (const i of new Set([0, 1, S - 1, S])) {
      const needs = segmentNeeds(run, k, element, i);
      const step = buildOneStepWitness(model, input, trace, k, element, cache, needs);
      const acc = BigInt(i === 0 ? 0 : sums[i - 1]);
      const { value } = await computeSegmentOnChain(rig.chain.publicClient, rig.verifier, step, i, acc);
      const expected = i < S ? BigInt(sums[i]) : BigInt(trace[k].data[element]);
      assert.equal(value, expected, `${what} element ${element} segment ${i}`);
      const m = await measure(step, encodeComputeSegment(step, i, acc));
      assert.ok(
        m.gas <= bound.gas,
        `${what} element ${element} segment ${i}: measured ${m.gas} > bound ${bound.gas}`,
      );
      assert.ok(
        m.worstData <= bound.gas,
        `${what} element ${element} segment ${i}: ${m.worstData} > ${bound.gas}`,
      );
      if (m.worstData > worst.worstData) worst = { ...m, element, segment: i };
    }
  }
  assert.ok(
    bound.gas <= 1.5 * worst.worstData + 50_000,
    `${what}: bound ${bound.gas} is loose against ${worst.worstData} (element ${worst.element} segment ${worst.segment})`,
  );
  return `${label.padEnd(10)} ${String(k).padStart(3)} ${`${model.ops[k].type}/${S}`.padEnd(10)} ${String(bound.chunks).padStart(4)} ${String(bound.taps).padStart(5)} ${String(bound.gas).padStart(9)} ${String(worst.gas).padStart(9)} ${String(worst.worstData).padStart(9)}`;
}

const HEADER = 'model      op# type       chunks taps     bound  measured  non-zero';

describe('the step gas bound holds on chain', () => {
  for (const ex of EXAMPLES) {
    test(`every op of the example ${ex.name}`, async (t) => {
      const { model, input } = await loadExample(ex);
      const lines = await checkRun(ex.name, model, input);
      for (const line of [HEADER, ...lines]) t.diagnostic(line);
      for (const c of stepCostReport(model)) assert.ok(c.gas <= STEP_GAS_LIMIT, `${c.name}: ${c.gas}`);
    });
  }

  test('every op of random models, at batch 1 and 3', async () => {
    const r = mulberry32(Number(process.env.VERINFER_FUZZ_SEED ?? 2024));
    for (let i = 0; i < RANDOM_MODELS; i++) {
      const g = { rng: r, extreme: i % 4 === 3 };
      // Every op type alone, and random chains.
      const model = i % 2 === 0 ? singleOpModel(g, OP_TYPES[(i / 2) % OP_TYPES.length]) : chainModel(g);
      validateModel(model);
      await checkRun(`random ${i}`, model, randomInput(model, 1 + 2 * (i % 2), r), i);
    }
  });
});

/** A 3x3 conv with M output channels, padding 1, per-tensor requantization. */
function conv3x3(b: ModelBuilder, x: number, M: number): number {
  const C = b.shape(x)[1];
  const r = mulberry32(C);
  return b.op(
    {
      type: 'conv',
      inputs: [
        x,
        b.constant(
          Int8Array.from({ length: M * C * 9 }, () => r.int(-3, 3)),
          [M, C, 3, 3],
        ),
        b.constant(new Int32Array(M), [M]),
        b.constant(Int32Array.of(300), [1]),
        b.constant(Int32Array.of(14), [1]),
      ],
      strides: [1, 1],
      pads: [1, 1, 1, 1],
      dilations: [1, 1],
      group: 1,
      qmin: 0,
      qmax: 255,
    },
    5,
  );
}

/** A one-conv model: x [1, C, H, W], w [M, C / group, KH, KW], the given strides and dilations. */
function convModel(
  name: string,
  [C, H, W]: number[],
  [M, KH, KW]: number[],
  { stride = 1, dil = 1, group = 1, pad = true } = {},
): Model {
  const r = mulberry32(C * 131 + KH * 17 + KW);
  const b = new ModelBuilder();
  const x = b.input('u8', [1, C, H, W], 3);
  const Cg = C / group;
  // "Same" padding: at most (K - 1) * dil / 2 per side, smaller than the dilated kernel.
  const ph = pad ? ((KH - 1) * dil) >> 1 : 0;
  const pw = pad ? ((KW - 1) * dil) >> 1 : 0;
  b.op(
    {
      type: 'conv',
      inputs: [
        x,
        b.constant(
          Int8Array.from({ length: M * Cg * KH * KW }, () => r.int(-3, 3)),
          [M, Cg, KH, KW],
        ),
        b.constant(new Int32Array(M), [M]),
        b.constant(Int32Array.of(300), [1]),
        b.constant(Int32Array.of(14), [1]),
      ],
      strides: [stride, stride],
      pads: [ph, pw, ph, pw],
      dilations: [dil, dil],
      group,
      qmin: 0,
      qmax: 255,
    },
    5,
  );
  return b.build(name);
}

/** A one-matmul model a [1, M, K] @ w [K, N] with constant weights. */

describe('regression models', () => {
  test('long reductions near the limit stay under their bound', async (t) => {
    const r = mulberry32(11);
    const g = { rng: r, extreme: false };
    const builds: [string, (b: ModelBuilder) => void][] = [
      ['softmax', (b) => addSoftmax(b, g, b.input('u8', [1, 2, 1400], 3))],
      ['layernorm', (b) => addLayerNorm(b, g, b.input('u8', [1, 2, 2048], 3))],
      ['reducemean', (b) => addReduceMean(b, g, b.input('u8', [1, 1024, 3], 3), 1, true)],
      ['conv', (b) => conv3x3(b, b.input('u8', [1, 32, 8, 8], 3), 4)],
      [
        'attention',
        (b) => {
          const x = b.input('u8', [1, 16, 64], 3);
          addMatMulAct(b, g, x, addTranspose(b, g, x, [0, 2, 1]));
        },
      ],
    ];
    for (const [name, build] of builds) {
      const b = new ModelBuilder();
      build(b);
      const model = b.build(name);
      validateModel(model);
      const lines = await checkRun(name, model, randomInput(model, 2, r));
      for (const line of lines) t.diagnostic(line);
    }
  });

  test('every loop of the conv one-step stays under its bound', async (t) => {
    // contracts/verify/ConvSum.sol picks a loop by the row of in-bounds taps: one tap, up to four
    // adjacent taps, up to 32 adjacent taps, dilated taps, and rows over 32 bytes; maps whose
    // planes are not multiples of 1024 put some rows across chunk boundaries (read tap by tap).
    const models = [
      convModel('1x1', [128, 7, 7], [4, 1, 1]),
      convModel('3x3', [64, 12, 12], [4, 3, 3]),
      convModel('2x2/2', [48, 10, 10], [4, 2, 2], { stride: 2, pad: false }),
      convModel('1x3', [32, 3, 40], [4, 1, 3]),
      convModel('5x5', [16, 9, 9], [4, 5, 5]),
      convModel('7x7/2', [3, 32, 32], [4, 7, 7], { stride: 2 }),
      convModel('3x3 dil2', [16, 10, 10], [4, 3, 3], { dil: 2 }),
      convModel('1x40', [4, 2, 80], [4, 1, 40]),
      convModel('dw 3x3', [32, 10, 10], [32, 3, 3], { group: 32 }),
    ];
    const r = mulberry32(5);
    for (const model of models) {
      validateModel(model);
      const lines = await checkRun(model.meta.name, model, randomInput(model, 1, r));
      for (const line of lines) t.diagnostic(line);
    }
  });

  test('a 2400x160 matmul with constant weights fits one step', async (t) => {
    const model = weightMatmul(2, 2400, 160);
    validateModel(model);
    const [lines] = [await checkRun('mm2400', model, randomInput(model, 1, mulberry32(1)))];
    t.diagnostic(lines[0]);
    const c = stepCost(model, 0);
    // A row and a weight column of 2400 bytes each, at the worst position: 4 + 4 chunks (a
    // row-major weight column had one chunk per tap, 2400).
    assert.deepEqual(c.inputChunks, [4, 4, 1, 1, 1]);
    assert.ok(c.gas < 600_000, `${c.gas}`);
  });

  test('a 4096-tap matmul fits one step', async (t) => {
    const model = weightMatmul(1, 4096, 8);
    validateModel(model);
    const lines = await checkRun('mm4096', model, randomInput(model, 1, mulberry32(2)));
    t.diagnostic(lines[0]);
    assert.ok(stepCost(model, 0, 256).gas < STEP_GAS_LIMIT);
  });

  test('a 1x1 conv over 512 NCHW channels at 28x28 is split into partial sums and accepted', async (t) => {
    // One element reads 393 chunks of x in one step; in segments of 9 channels (9 * 784 bytes
    // span at most 8 chunks) each step fits.
    const model = wideConv(512, 4, 28, 28);
    validateModel(model);
    const c = stepCost(model, 0, 256);
    assert.equal(c.segments, 57);
    assert.ok(c.gas <= STEP_GAS_LIMIT, `${c.gas}`);
    assert.ok(c.inputChunks[0] <= 8, `${c.inputChunks}`);
    const lines = await checkRun('pw512', model, randomInput(model, 1, mulberry32(9)));
    t.diagnostic(HEADER);
    t.diagnostic(lines[0]);
  });

  test('split convs at 32x32: segment steps and the final step stay under their bound', async (t) => {
    const r = mulberry32(12);
    t.diagnostic(HEADER);
    for (const model of [wideConv(64, 8, 32, 32), wideConv(24, 4, 32, 32, 3), wideConv(40, 2, 33, 32, 3)]) {
      validateModel(model);
      for (const batch of [1, 3]) {
        const [line] = await checkRun(
          `${model.meta.name.split(' ')[1]}/b${batch}`,
          model,
          randomInput(model, batch, r),
        );
        t.diagnostic(line);
      }
    }
  });

  test('reducemeans over a strided axis are split into partial sums: every step under its bound', async (t) => {
    // Over the tokens of [1,T,d]: one output reads a value every d bytes (64 chunks at d = 1024).
    // In segments of values spanning at most 8 chunks every step fits.
    const r = mulberry32(13);
    t.diagnostic(HEADER);
    for (const [model, segments] of [
      [stridedMean(64, 1024), 8],
      [stridedMean(128, 64), 2],
      [stridedMean(128, 256, true), 5],
    ] as const) {
      validateModel(model);
      const c = stepCost(model, 0, 256);
      assert.equal(c.segments, segments, model.meta.name);
      assert.ok(c.gas <= STEP_GAS_LIMIT, `${c.gas}`);
      assert.ok(c.inputChunks[0] <= 8, `${c.inputChunks}`);
      for (const batch of [1, 3]) {
        const [line] = await checkRun(`mean/b${batch}`, model, randomInput(model, batch, r));
        t.diagnostic(line);
      }
    }
  });

  test('avgpools over more than 1024 taps are split into kernel rows: every step under its bound', async (t) => {
    // The global pools of squeeze-excitation at 224x224 input (56x56: 3136 taps, 112x112: 12544)
    // needed 1.5M and 5.2M gas in one step; in segments of at most 1024 taps every step fits.
    const r = mulberry32(14);
    t.diagnostic(HEADER);
    for (const [model, segments] of [
      [widePool(2, 56, 56), 4],
      [widePool(1, 112, 112), 13],
      [widePool(1, 40, 40, { kernel: [36, 36], strides: [4, 4], pad: 2 }), 2],
      [widePool(1, 40, 40, { kernel: [36, 36], strides: [4, 4], pad: 2, countIncludePad: true }), 2],
    ] as const) {
      validateModel(model);
      const c = stepCost(model, 0, 256);
      assert.equal(c.segments, segments, model.meta.name);
      assert.ok(c.gas <= STEP_GAS_LIMIT, `${c.gas}`);
      assert.ok(c.inputChunks[0] <= 8, `${c.inputChunks}`);
      assert.ok(c.taps <= 1024, `${c.taps}`);
      for (const batch of [1, 3]) {
        const [line] = await checkRun(`pool/b${batch}`, model, randomInput(model, batch, r));
        t.diagnostic(line);
      }
    }
  });

  test('an activation x activation matmul with a strided 1024-wide operand is rejected, naming the op', () => {
    // scores = x [1, 1024, 64] @ x^T [1, 64, 1024]: a column of x^T has stride 1024, so each of
    // its 64 taps sits in its own chunk.
    const r = mulberry32(3);
    const b = new ModelBuilder();
    const x = b.input('u8', [1, 1024, 64], 3);
    const xt = addTranspose(b, { rng: r, extreme: false }, x, [0, 2, 1]);
    addMatMulAct(b, { rng: r, extreme: false }, x, xt);
    const model = b.build('attention');
    assert.throws(
      () => validateModel(model),
      (err: Error) => {
        assert.ok(err instanceof ModelFormatError);
        assert.match(err.message, /^Op "matmul1" \(matmul\) needs about \d+ gas/);
        assert.match(err.message, /reads 64 chunks of input 1 .*stride 1024/);
        return true;
      },
    );
  });
});
