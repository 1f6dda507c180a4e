// The one-step libraries of contracts/onestep/ against the reference interpreter: for every op,
// random small tensors (and the extremes the model validator allows) are run through the
// reference op in src/engine/reference/, then single output elements are recomputed on chain
// from the operands that the Solidity index mapping names, and compared byte for byte.
//
// VERINFER_FUZZ_RUNS=N multiplies the case counts; VERINFER_FUZZ_SEED replays a failing run.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { tensorBytes } from '../../src/commit/tensorRoot.ts';
import { MAX_SHIFT, MULT_LIMIT } from '../../src/engine/arith.ts';
import type {
  AddOp,
  AvgPoolOp,
  ConcatOp,
  ConvOp,
  LayerNormOp,
  MatMulOp,
  MaxPoolOp,
  MulOp,
  ReduceMeanOp,
  TransposeOp,
} from '../../src/engine/graph.ts';
import { conv } from '../../src/engine/reference/conv.ts';
import { add, lut, mul } from '../../src/engine/reference/elementwise.ts';
import { matmul } from '../../src/engine/reference/matmul.ts';
import { layernorm, softmax } from '../../src/engine/reference/normalize.ts';
import { avgpool, maxpool, reducemean } from '../../src/engine/reference/pool.ts';
import { concat, gather, transpose } from '../../src/engine/reference/shape.ts';
import { inferShape } from '../../src/engine/shapes.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import {
  batched,
  batchedBy,
  COMPARED,
  expectSame,
  type Harness,
  hex,
  type Rng,
  RUNS,
  rng,
  SEED,
  startHarness,
} from './support.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const B = BigInt;
const MAX_U256 = 2n ** 256n - 1n;
const INT32_LIMIT = 2 ** 31;

const u8 = (shape: number[], data: ArrayLike<number>, zeroPoint = 0): Tensor => ({
  dtype: 'u8',
  shape,
  data: Uint8Array.from(data),
  zeroPoint,
});
const i8 = (shape: number[], data: ArrayLike<number>): Tensor => ({
  dtype: 'i8',
  shape,
  data: Int8Array.from(data),
  zeroPoint: 0,
});
const i32 = (data: ArrayLike<number>): Tensor => ({
  dtype: 'i32',
  shape: [data.length],
  data: Int32Array.from(data),
  zeroPoint: 0,
});
const count = (shape: number[]) => shape.reduce((p, d) => p * d, 1);
const big = (o: Record<string, number | boolean>) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? B(v) : v]));

/** u8 activation data: uniform, or (sometimes) saturated at 0 or 255 to push accumulators to their limits. */
function activations(r: Rng, n: number): number[] {
  const mode = r.int(0, 9);
  if (mode === 0) return new Array(n).fill(r.pick([0, 255]));
  return Array.from({ length: n }, () => r.u8());
}

/** A zero point, often 0 or 255. */
const zeroPoint = (r: Rng) => (r.chance(0.3) ? r.pick([0, 255]) : r.int(0, 255));

/** A clamp range [qmin, qmax] within [0, 255], often the full one. */
function clampRange(r: Rng): { qmin: number; qmax: number } {
  if (r.chance(0.5)) return { qmin: 0, qmax: 255 };
  const a = r.int(0, 255);
  const b = r.int(0, 255);
  return { qmin: Math.min(a, b), qmax: Math.max(a, b) };
}

/**
 * A requantization multiplier and shift: mostly ones that map an accumulator of typical size
 * `scale` into the u8 range (so rounding, not the clamp, decides), sometimes the extremes.
 */
function requant(r: Rng, scale: number): { mult: number; shift: number } {
  if (r.chance(0.25)) {
    return {
      mult: r.pick([0, 1, MULT_LIMIT - 1, r.int(0, MULT_LIMIT - 1)]),
      shift: r.pick([0, MAX_SHIFT, r.int(0, MAX_SHIFT)]),
    };
  }
  const mult = r.int(MULT_LIMIT / 2, MULT_LIMIT - 1);
  const shift = Math.round(Math.log2((mult * Math.max(1, scale)) / r.int(20, 200)));
  return { mult, shift: Math.min(MAX_SHIFT, Math.max(0, shift)) };
}

/** Sorted distinct cut points in (0, n), or none. */
function cuts(r: Rng, n: number, p = 0.5): bigint[] {
  if (n < 2 || !r.chance(p)) return [];
  const set = new Set<number>();
  const k = r.int(1, Math.min(4, n - 1));
  while (set.size < k) set.add(r.int(1, n - 1));
  return [...set].sort((a, b) => a - b).map(B);
}

/** Up to k distinct flat indices of a tensor of n elements (all of them if n <= k). */
function sample(r: Rng, n: number, k: number): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  const set = new Set<number>([r.pick([0, n - 1])]);
  while (set.size < k) set.add(r.int(0, n - 1));
  return [...set];
}

// ------------------------------------------------------------------------------------------ conv

interface ConvConfig {
  op: ConvOp;
  ins: Tensor[];
  outShape: number[];
  zy: number;
  y: Uint8Array;
}

function randomConv(r: Rng, heavy: boolean): ConvConfig | undefined {
  let group: number;
  let Cg: number;
  let M: number;
  let KH: number;
  let KW: number;
  if (heavy) {
    // A realistic large step: 3x3 over 16 channels.
    [group, Cg, M, KH, KW] = [1, 16, 2, 3, 3];
  } else {
    const depthwise = r.chance(0.15);
    group = depthwise ? r.int(1, 6) : r.pick([1, 1, 1, 2, 3]);
    Cg = depthwise ? 1 : r.int(1, 6);
    M = group * r.int(1, 3);
    KH = r.chance(0.2) ? 1 : r.int(1, 4);
    KW = r.chance(0.2) ? 1 : r.int(1, 4);
  }
  const C = group * Cg;
  const dil: [number, number] = heavy ? [1, 1] : [r.pick([1, 1, 2]), r.pick([1, 1, 2])];
  const strides: [number, number] = heavy ? [1, 1] : [r.int(1, 3), r.int(1, 3)];
  const pads: [number, number, number, number] = [
    r.int(0, KH * dil[0] - 1),
    r.int(0, KW * dil[1] - 1),
    r.int(0, KH * dil[0] - 1),
    r.int(0, KW * dil[1] - 1),
  ];
  const [N, H, W] = [r.int(1, 2), r.int(1, 7), r.int(1, 7)];
  const taps = Cg * KH * KW;
  const maxBias = INT32_LIMIT - 1 - taps * 255 * 128;
  const op: ConvOp = {
    type: 'conv',
    name: 'conv',
    inputs: [0, 1, 2, 3, 4],
    output: 5,
    strides,
    pads,
    dilations: dil,
    group,
    ...clampRange(r),
  };
  let outShape: number[];
  try {
    outShape = inferShape(op, [
      [N, C, H, W],
      [M, Cg, KH, KW],
    ]);
  } catch {
    return undefined;
  }
  const x = u8([N, C, H, W], activations(r, N * C * H * W), zeroPoint(r));
  const wMode = r.int(0, 9);
  const w = i8(
    [M, Cg, KH, KW],
    Array.from({ length: M * taps }, () => (wMode === 0 ? -128 : wMode === 1 ? 127 : r.i8())),
  );
  const bias = Array.from({ length: M }, () =>
    r.chance(0.2) ? r.pick([maxBias, -maxBias]) : r.int(-(2 ** 16), 2 ** 16),
  );
  const rqs = Array.from({ length: M }, (_, m) => requant(r, Math.abs(bias[m]) + Math.sqrt(taps) * 128 * 80));
  const ins = [x, w, i32(bias), i32(rqs.map((q) => q.mult)), i32(rqs.map((q) => q.shift))];
  const zy = zeroPoint(r);
  return { op, ins, outShape, zy, y: conv(op, ins, outShape, zy) };
}

interface ConvSources {
  n: bigint;
  m: bigint;
  oy: bigint;
  ox: bigint;
  wStart: bigint;
  wLength: bigint;
  taps: readonly bigint[];
}

test('conv: one output element from its receptive field, also as partial sums over channels', async () => {
  const r = rng(10);
  const configs: ConvConfig[] = [];
  const target = 400 * RUNS;
  while (configs.length < target) {
    const c = randomConv(r, configs.length % 20 === 0);
    if (c) configs.push(c);
  }
  const picks = configs.flatMap((c) => sample(r, c.y.length, 6).map((outFlat) => ({ c, outFlat })));
  const sourceCases = picks.map(({ c, outFlat }) => {
    const [, C, H, W] = c.ins[0].shape;
    const [M, , KH, KW] = c.ins[1].shape;
    return {
      g: big({
        H,
        W,
        KH,
        KW,
        strideH: c.op.strides[0],
        strideW: c.op.strides[1],
        padTop: c.op.pads[0],
        padLeft: c.op.pads[1],
        dilH: c.op.dilations[0],
        dilW: c.op.dilations[1],
      }),
      l: big({ C, M, group: c.op.group, OH: c.outShape[2], OW: c.outShape[3] }),
      outFlat: B(outFlat),
    };
  });
  const sources = await batchedBy(
    sourceCases,
    (c) =>
      Number((c.l.C as bigint) / (c.l.group as bigint)) * Number((c.g.KH as bigint) * (c.g.KW as bigint)),
    2_000,
    (batch) => h.call<ConvSources[]>('convSources', batch),
  );
  const cases = picks.map(({ c }, i) => {
    const s = sources[i];
    const [x, w, bias, mult, shift] = c.ins;
    const m = Number(s.m);
    const xTaps = Uint8Array.from(s.taps, (t) => (t === MAX_U256 ? r.int(0, 255) : x.data[Number(t)]));
    const wTaps = (w.data as Int8Array).subarray(Number(s.wStart), Number(s.wStart + s.wLength));
    const Cg = c.ins[1].shape[1];
    return {
      g: sourceCases[i].g,
      oy: s.oy,
      ox: s.ox,
      xTaps: hex(xTaps),
      wTaps: hex(wTaps),
      zx: B(x.zeroPoint),
      bias: B(bias.data[m]),
      q: big({ zy: c.zy, mult: mult.data[m], shift: shift.data[m], qmin: c.op.qmin, qmax: c.op.qmax }),
      channelCuts: cuts(r, Cg, 0.3),
    };
  });
  const got = await batchedBy(
    cases,
    (c) => c.xTaps.length / 2 + 50,
    20_000,
    (batch) => h.call<bigint[]>('conv', batch),
  );
  expectSame(
    'conv',
    cases,
    got,
    picks.map(({ c, outFlat }) => c.y[outFlat]),
  );
  // The mapping itself: the weight slice of channel m, and the output coordinates.
  picks.forEach(({ c, outFlat }, i) => {
    const [, M, OH, OW] = c.outShape;
    const s = sources[i];
    const want = [Math.floor(outFlat / (M * OH * OW)), Math.floor(outFlat / (OH * OW)) % M];
    want.push(Math.floor(outFlat / OW) % OH, outFlat % OW);
    assert.deepEqual([s.n, s.m, s.oy, s.ox].map(Number), want, `conv output coordinates of ${outFlat}`);
    assert.equal(Number(s.wStart), want[1] * Number(s.wLength));
  });
});

// ---------------------------------------------------------------------------------------- matmul

interface MatMulConfig {
  op: MatMulOp;
  ins: Tensor[];
  outShape: number[];
  zy: number;
  y: Uint8Array;
}

/** A leading shape that broadcasts to `lead`: some axes set to 1, some leading axes dropped. */
function broadcastable(r: Rng, lead: number[]): number[] {
  const drop = r.chance(0.3) ? r.int(0, lead.length) : 0;
  return lead.slice(drop).map((d) => (r.chance(0.3) ? 1 : d));
}

function randomMatMul(r: Rng, K: number, extreme?: 'const' | 'activation'): MatMulConfig {
  const bConst = extreme ? extreme === 'const' : r.chance(0.5);
  const lead = extreme ? [1] : [r.int(1, 2), ...Array.from({ length: r.int(0, 2) }, () => r.int(1, 3))];
  const aLead = extreme || bConst ? lead : broadcastable(r, lead);
  const [M, N] = extreme ? [1, 1] : [r.int(1, 4), r.int(1, 5)];
  const aShape = [...aLead, M, K];
  const bShape = bConst ? [K, N] : [...broadcastable(r, lead), K, N];
  // The validator's bound: taps * max|product| + max|bias| < 2^31.
  const maxBias = Math.min(INT32_LIMIT - 1, INT32_LIMIT - 1 - K * (bConst ? 255 * 128 : 255 * 255));
  let a: Tensor;
  let b: Tensor;
  let bias: number[];
  if (extreme) {
    // Every product at its largest magnitude, with the sign chosen per case.
    const up = r.chance(0.5);
    a = u8(aShape, new Array(count(aShape)).fill(up ? 0 : 255), up ? 255 : 0);
    b = bConst
      ? i8(bShape, new Array(count(bShape)).fill(-128))
      : u8(bShape, new Array(count(bShape)).fill(0), 255);
    bias = [up ? maxBias : -maxBias];
  } else {
    a = u8(aShape, activations(r, count(aShape)), zeroPoint(r));
    b = bConst
      ? i8(
          bShape,
          Array.from({ length: count(bShape) }, () => r.i8()),
        )
      : u8(bShape, activations(r, count(bShape)), zeroPoint(r));
    bias = Array.from({ length: N }, () =>
      r.chance(0.15) ? r.pick([maxBias, -maxBias]) : r.int(-(2 ** 16), 2 ** 16),
    );
  }
  const perColumn = r.chance(0.5);
  const rqs = Array.from({ length: perColumn ? N : 1 }, () =>
    requant(r, Math.abs(bias[0]) + Math.sqrt(K) * 128 * 100),
  );
  const op: MatMulOp = { type: 'matmul', name: 'mm', inputs: [0, 1, 2, 3, 4], output: 5, ...clampRange(r) };
  const ins = [a, b, i32(bias), i32(rqs.map((q) => q.mult)), i32(rqs.map((q) => q.shift))];
  const outShape = inferShape(op, [aShape, bShape]);
  const zy = zeroPoint(r);
  return { op, ins, outShape, zy, y: matmul(op, ins, outShape, zy) };
}

interface Operands {
  aRowStart: bigint;
  bColStart: bigint;
  column: bigint;
}

async function checkMatMul(r: Rng, configs: MatMulConfig[], perConfig: number, cutP: number, what: string) {
  const picks = configs.flatMap((c) => sample(r, c.y.length, perConfig).map((outFlat) => ({ c, outFlat })));
  const sourceCases = picks.map(({ c, outFlat }) => {
    const rank = c.outShape.length;
    const [a, b] = c.ins;
    return {
      outLead: c.outShape.slice(0, rank - 2).map(B),
      aLead: a.shape.slice(0, -2).map(B),
      bLead: b.shape.slice(0, -2).map(B),
      M: B(c.outShape[rank - 2]),
      K: B(a.shape[a.shape.length - 1]),
      N: B(c.outShape[rank - 1]),
      outFlat: B(outFlat),
    };
  });
  const ops = await batched(sourceCases, 500, (batch) => h.call<Operands[]>('matmulSources', batch));
  const cases = picks.map(({ c }, i) => {
    const [a, b, bias, mult, shift] = c.ins;
    const K = Number(sourceCases[i].K);
    const N = Number(sourceCases[i].N);
    const j = Number(ops[i].column);
    const start = Number(ops[i].aRowStart);
    const row = (a.data as Uint8Array).subarray(start, start + K);
    const col = b.dtype === 'i8' ? new Int8Array(K) : new Uint8Array(K);
    for (let k = 0; k < K; k++) col[k] = b.data[Number(ops[i].bColStart) + k * N];
    const q = mult.data.length > 1 ? j : 0;
    return {
      a: hex(row),
      b: hex(col),
      bSigned: b.dtype === 'i8',
      za: B(a.zeroPoint),
      zb: B(b.zeroPoint),
      bias: B(bias.data[j]),
      q: big({ zy: c.zy, mult: mult.data[q], shift: shift.data[q], qmin: c.op.qmin, qmax: c.op.qmax }),
      cuts: cuts(r, K, cutP),
      row,
      col,
    };
  });
  const results = await batchedBy(
    cases,
    (c) => c.row.length + 50,
    40_000,
    async (batch) => {
      const [y, partials] = await h.call<[bigint[], bigint[][]]>(
        'matmul',
        batch.map(({ row: _r, col: _c, ...rest }) => rest),
      );
      return y.map((v, i) => ({ y: v, partials: partials[i] }));
    },
  );
  expectSame(
    what,
    cases.map(({ row: _r, col: _c, ...rest }) => rest),
    results.map((x) => x.y),
    picks.map(({ c, outFlat }) => c.y[outFlat]),
  );
  // Every partial sum P(cut) = bias + Σ_{k < cut} (a_k - za)(b_k - zb), and P(K) last.
  cases.forEach((c, i) => {
    const ends = [...c.cuts.map(Number), c.row.length];
    let acc = c.bias;
    let k = 0;
    const want = ends.map((end) => {
      for (; k < end; k++) acc += (B(c.row[k]) - c.za) * (B(c.col[k]) - c.zb);
      return acc;
    });
    assert.deepEqual(results[i].partials, want, `${what}: partial sums of case ${i}`);
  });
}

test('matmul: one element from a row and a column, whole and as chained partial sums', async () => {
  const r = rng(20);
  const configs = Array.from({ length: 400 * RUNS }, () =>
    randomMatMul(r, r.chance(0.1) ? r.pick([64, 128, 200]) : r.int(1, 40)),
  );
  await checkMatMul(r, configs, 6, 0.5, 'matmul');
});

test('matmul at the largest accumulators the validator allows (K = 65793 i8, K = 33025 u8)', async () => {
  const r = rng(21);
  const configs = Array.from({ length: 2 * RUNS }, (_, i) => [
    randomMatMul(r, 65793, 'const'),
    randomMatMul(r, 33025, 'activation'),
    randomMatMul(r, i === 0 ? 65793 : r.int(60000, 65793), 'const'),
  ]).flat();
  for (const c of configs) {
    const [a, b] = c.ins;
    const maxProduct = b.dtype === 'i8' ? 255 * 128 : 255 * 255;
    assert.ok(a.shape[2] * maxProduct + Math.abs(c.ins[2].data[0]) < INT32_LIMIT);
  }
  await checkMatMul(r, configs, 1, 1, 'matmul (extreme)');
});

// ----------------------------------------------------------------------------------- add and mul

interface BinaryConfig {
  a: Tensor;
  b: Tensor;
  outShape: number[];
  zy: number;
  addOp: AddOp;
  mulOp: MulOp;
  yAdd: Uint8Array;
  yMul: Uint8Array;
}

function randomBinary(r: Rng): BinaryConfig {
  const base = Array.from({ length: r.int(1, 4) }, () => r.int(1, 4));
  const aShape = broadcastable(r, base);
  const bShape = broadcastable(r, base);
  const a = u8(aShape, activations(r, count(aShape)), zeroPoint(r));
  const b = u8(bShape, activations(r, count(bShape)), zeroPoint(r));
  const { mult: multA, shift } = requant(r, 255);
  const multB = r.chance(0.2) ? r.pick([0, MULT_LIMIT - 1]) : r.int(0, MULT_LIMIT - 1);
  const addOp: AddOp = {
    type: 'add',
    name: 'add',
    inputs: [0, 1],
    output: 2,
    multA,
    multB,
    shift,
    ...clampRange(r),
  };
  const mq = requant(r, 255 * 128);
  const mulOp: MulOp = { type: 'mul', name: 'mul', inputs: [0, 1], output: 2, ...mq, ...clampRange(r) };
  const outShape = inferShape(addOp, [aShape, bShape]);
  const zy = zeroPoint(r);
  return {
    a,
    b,
    outShape,
    zy,
    addOp,
    mulOp,
    yAdd: add(addOp, [a, b], outShape, zy),
    yMul: mul(mulOp, [a, b], outShape, zy),
  };
}

test('add and mul: one element from its broadcast operands', async () => {
  const r = rng(30);
  const configs = Array.from({ length: 550 * RUNS }, () => randomBinary(r));
  const picks = configs.flatMap((c) => sample(r, c.yAdd.length, 8).map((outFlat) => ({ c, outFlat })));
  const sourceCases = picks.map(({ c, outFlat }) => ({
    aShape: c.a.shape.map(B),
    bShape: c.b.shape.map(B),
    outShape: c.outShape.map(B),
    outFlat: B(outFlat),
  }));
  const indices = await batched(sourceCases, 500, async (batch) => {
    const [ai, bi] = await h.call<[bigint[], bigint[]]>('addSources', batch);
    return ai.map((x, i) => [Number(x), Number(bi[i])]);
  });
  const values = picks.map(({ c }, i) => ({ a: B(c.a.data[indices[i][0]]), b: B(c.b.data[indices[i][1]]) }));
  const addCases = picks.map(({ c }, i) => ({
    ...values[i],
    p: big({
      za: c.a.zeroPoint,
      zb: c.b.zeroPoint,
      multA: c.addOp.multA,
      multB: c.addOp.multB,
      shift: c.addOp.shift,
      zy: c.zy,
      qmin: c.addOp.qmin,
      qmax: c.addOp.qmax,
    }),
  }));
  const yAdd = await batched(addCases, 1000, (batch) => h.call<bigint[]>('add', batch));
  expectSame(
    'add',
    addCases,
    yAdd,
    picks.map(({ c, outFlat }) => c.yAdd[outFlat]),
  );
  const mulCases = picks.map(({ c }, i) => ({
    ...values[i],
    p: big({
      za: c.a.zeroPoint,
      zb: c.b.zeroPoint,
      zy: c.zy,
      mult: c.mulOp.mult,
      shift: c.mulOp.shift,
      qmin: c.mulOp.qmin,
      qmax: c.mulOp.qmax,
    }),
  }));
  const yMul = await batched(mulCases, 1000, (batch) => h.call<bigint[]>('mul', batch));
  expectSame(
    'mul',
    mulCases,
    yMul,
    picks.map(({ c, outFlat }) => c.yMul[outFlat]),
  );
});

test('lut: every entry of random tables', async () => {
  const r = rng(40);
  for (let t = 0; t < 8 * RUNS; t++) {
    const table = u8([256], r.bytes(256));
    const x = u8(
      [1, 256],
      Array.from({ length: 256 }, (_, i) => i),
    );
    const got = await h.call<bigint[]>('lut', hex(table.data as Uint8Array), [...x.data].map(B));
    expectSame('lut', [...x.data], got, [...lut([x, table])]);
  }
  await assert.rejects(h.call('lut', hex(new Uint8Array(255)), [0n]), /BadTable/);
});

// --------------------------------------------------------------------------------------- pooling

interface PoolConfig {
  x: Tensor;
  maxOp: MaxPoolOp;
  avgOp: AvgPoolOp;
  outShape: number[];
  zy: number;
  yMax: Uint8Array;
  yAvg: Uint8Array;
}

function randomPool(r: Rng): PoolConfig | undefined {
  const kernel: [number, number] = [r.int(1, 4), r.int(1, 4)];
  const window = {
    kernel,
    strides: [r.int(1, 3), r.int(1, 3)] as [number, number],
    pads: [
      r.int(0, kernel[0] - 1),
      r.int(0, kernel[1] - 1),
      r.int(0, kernel[0] - 1),
      r.int(0, kernel[1] - 1),
    ] as [number, number, number, number],
  };
  const xShape = [r.int(1, 2), r.int(1, 3), r.int(1, 8), r.int(1, 8)];
  const { mult, shift } = requant(r, 128 * 2 ** r.int(0, 4));
  const avgOp: AvgPoolOp = {
    type: 'avgpool',
    name: 'avg',
    inputs: [0],
    output: 1,
    ...window,
    countIncludePad: r.chance(0.5),
    mult,
    shift,
  };
  const maxOp: MaxPoolOp = { type: 'maxpool', name: 'max', inputs: [0], output: 1, ...window };
  let outShape: number[];
  try {
    outShape = inferShape(maxOp, [xShape]);
  } catch {
    return undefined;
  }
  const x = u8(xShape, activations(r, count(xShape)), zeroPoint(r));
  const zy = zeroPoint(r);
  return {
    x,
    maxOp,
    avgOp,
    outShape,
    zy,
    yMax: maxpool(maxOp, [x], outShape),
    yAvg: avgpool(avgOp, [x], outShape, zy),
  };
}

interface PoolSources {
  oy: bigint;
  ox: bigint;
  taps: readonly bigint[];
}

test('maxpool and avgpool: one element from its window (count rules, padding)', async () => {
  const r = rng(50);
  const configs: PoolConfig[] = [];
  while (configs.length < 300 * RUNS) {
    const c = randomPool(r);
    if (c) configs.push(c);
  }
  const picks = configs.flatMap((c) => sample(r, c.yMax.length, 6).map((outFlat) => ({ c, outFlat })));
  const windows = picks.map(({ c }) =>
    big({
      H: c.x.shape[2],
      W: c.x.shape[3],
      kH: c.maxOp.kernel[0],
      kW: c.maxOp.kernel[1],
      strideH: c.maxOp.strides[0],
      strideW: c.maxOp.strides[1],
      padTop: c.maxOp.pads[0],
      padLeft: c.maxOp.pads[1],
    }),
  );
  const sources = await batched(
    picks.map(({ c, outFlat }, i) => ({
      w: windows[i],
      OH: B(c.outShape[2]),
      OW: B(c.outShape[3]),
      outFlat: B(outFlat),
    })),
    500,
    (batch) => h.call<PoolSources[]>('poolSources', batch),
  );
  const cases = picks.flatMap(({ c }, i) => {
    const s = sources[i];
    const taps = hex(Uint8Array.from(s.taps, (t) => (t === MAX_U256 ? r.int(0, 255) : c.x.data[Number(t)])));
    const avg = {
      countIncludePad: c.avgOp.countIncludePad,
      zx: B(c.x.zeroPoint),
      zy: B(c.zy),
      mult: B(c.avgOp.mult),
      shift: B(c.avgOp.shift),
    };
    return [true, false].map((isMax) => ({ w: windows[i], oy: s.oy, ox: s.ox, taps, isMax, avg }));
  });
  const got = await batched(cases, 500, (batch) => h.call<bigint[]>('pool', batch));
  expectSame(
    'maxpool/avgpool',
    cases,
    got,
    picks.flatMap(({ c, outFlat }) => [c.yMax[outFlat], c.yAvg[outFlat]]),
  );
});

test('reducemean: one element from the reduced axis', async () => {
  const r = rng(60);
  const cases: { values: string; zx: bigint; zy: bigint; mult: bigint; shift: bigint }[] = [];
  const want: number[] = [];
  for (let t = 0; t < 180 * RUNS; t++) {
    const rank = r.int(2, 4);
    const shape = Array.from({ length: rank }, () => r.int(1, 5));
    const axis = r.int(1, rank - 1);
    if (r.chance(0.2)) shape[axis] = r.pick([r.int(50, 300), 1000]);
    const { mult, shift } = requant(r, 128 * shape[axis]);
    const op: ReduceMeanOp = {
      type: 'reducemean',
      name: 'rm',
      inputs: [0],
      output: 1,
      axis,
      keepDims: r.chance(0.5),
      mult,
      shift,
    };
    const x = u8(shape, activations(r, count(shape)), zeroPoint(r));
    const zy = zeroPoint(r);
    const y = reducemean(op, [x], zy);
    const len = shape[axis];
    const inner = count(shape.slice(axis + 1));
    const outs = sample(r, y.length, len > 100 ? 5 : 20);
    const indices = await h.call<bigint[][]>('reduceSources', outs.map(B), B(len), B(inner));
    outs.forEach((outFlat, i) => {
      cases.push({
        values: hex(Uint8Array.from(indices[i], (k) => x.data[Number(k)])),
        zx: B(x.zeroPoint),
        zy: B(zy),
        mult: B(mult),
        shift: B(shift),
      });
      want.push(y[outFlat]);
    });
  }
  const got = await batched(cases, 500, (batch) => h.call<bigint[]>('reducemean', batch));
  expectSame('reducemean', cases, got, want);
});

// ---------------------------------------------------------------------------- softmax, layernorm

/** A valid exp table: expTable[0] = 2^16, entries in [0, 2^16]. */
function expTable(r: Rng): Int32Array {
  const kind = r.int(0, 3);
  const scale = 2 ** -r.int(1, 8) * (1 + r.int(0, 99) / 100);
  const t = Int32Array.from({ length: 256 }, (_, d) =>
    kind === 0 ? r.int(0, 2 ** 16) : kind === 1 && d > 3 ? 0 : Math.round(2 ** 16 * Math.exp(-d * scale)),
  );
  t[0] = 2 ** 16;
  return t;
}

interface RowPick {
  row: Uint8Array;
  i: number;
}

/** A row of length L: random, constant, one outlier, or one neighbour (tiny variance). */
function randomRow(r: Rng, L: number): Uint8Array {
  const kind = r.int(0, 6);
  if (kind === 0) return new Uint8Array(L).fill(r.u8());
  const row = Uint8Array.from(activations(r, L));
  if (kind === 1 || kind === 2) {
    const v = r.int(1, 254);
    row.fill(v);
    row[r.int(0, L - 1)] = kind === 1 ? r.u8() : v + r.pick([1, -1]);
  }
  return row;
}

test('softmax: element i from the row max, the exp table and the row sum (and their partial steps)', async () => {
  const r = rng(70);
  const cases: (RowPick & { expTable: string; cuts: bigint[]; table: Int32Array })[] = [];
  const want: number[] = [];
  for (let t = 0; t < 420 * RUNS; t++) {
    const L = r.pick([1, 1, 2, 3, 64, 256, r.int(1, 80), r.int(1, 80)]);
    const R = r.int(1, 3);
    const x = u8([R, L], new Uint8Array(0));
    x.data = new Uint8Array(R * L);
    for (let k = 0; k < R; k++) x.data.set(randomRow(r, L), k * L);
    const table = expTable(r);
    const y = softmax([x, i32(table)]);
    for (const outFlat of sample(r, y.length, 7)) {
      const start = outFlat - (outFlat % L);
      const row = (x.data as Uint8Array).slice(start, start + L);
      cases.push({
        row,
        i: outFlat - start,
        expTable: hex(tensorBytes('i32', table)),
        cuts: cuts(r, L),
        table,
      });
      want.push(y[outFlat]);
    }
  }
  const results = await batchedBy(
    cases,
    (c) => c.row.length + 20,
    8_000,
    async (batch) => {
      const [yRow, ySteps, sums] = await h.call<[bigint[], bigint[], bigint[]]>(
        'softmax',
        batch.map((c) => ({ row: hex(c.row), i: B(c.i), expTable: c.expTable, cuts: c.cuts })),
      );
      return yRow.map((v, k) => ({ yRow: v, ySteps: ySteps[k], S: sums[k] }));
    },
  );
  const shown = cases.map(({ table: _t, ...c }) => c);
  expectSame(
    'softmax (whole row)',
    shown,
    results.map((x) => x.yRow),
    want,
  );
  expectSame(
    'softmax (steps)',
    shown,
    results.map((x) => x.ySteps),
    want,
  );
  expectSame(
    'softmax row sum',
    shown,
    results.map((x) => x.S),
    cases.map((c) => {
      const m = Math.max(0, ...c.row);
      return c.row.reduce((s, v) => s + c.table[m - v], 0);
    }),
  );
  // The step reverts when the claimed max is below an element.
  await assert.rejects(
    h.call('softmax', [{ row: '0x0509', i: 0n, expTable: cases[0].expTable, cuts: [] }]).then(() => {
      throw new Error('unreachable');
    }),
  );
});

test('layernorm: element i from the row (S, Q, sigma, n_i, y_i) and from partial S and Q', async () => {
  const r = rng(80);
  interface Case {
    row: Uint8Array;
    i: number;
    gamma: number;
    beta: number;
    op: LayerNormOp;
    zx: number;
    zy: number;
    cuts: bigint[];
  }
  const cases: Case[] = [];
  const want: number[] = [];
  for (let t = 0; t < 450 * RUNS; t++) {
    const D = t % 60 === 0 ? 2048 : r.pick([1, 2, 3, 64, 768, r.int(1, 100), r.int(1, 100)]);
    const R = D > 256 ? 1 : r.int(1, 2);
    const x = u8([R, D], new Uint8Array(R * D), zeroPoint(r));
    for (let k = 0; k < R; k++) (x.data as Uint8Array).set(randomRow(r, D), k * D);
    const gamma = Int32Array.from({ length: D }, () =>
      r.chance(0.1) ? r.pick([2 ** 15, -(2 ** 15)]) : r.int(-(2 ** 15), 2 ** 15),
    );
    const beta = Int32Array.from({ length: D }, () =>
      r.chance(0.1) ? r.pick([INT32_LIMIT - 1, -INT32_LIMIT]) : r.int(-(2 ** 20), 2 ** 20),
    );
    const eps = r.pick([0, 0, 1, 2 ** 40 - 1, r.int(0, 2 ** 20)]);
    const op: LayerNormOp = {
      type: 'layernorm',
      name: 'ln',
      inputs: [0, 1, 2],
      output: 3,
      eps,
      ...requant(r, 2 ** 10 * 2 ** 14),
      ...clampRange(r),
    };
    const zy = zeroPoint(r);
    const y = layernorm(op, [x, i32(gamma), i32(beta)], zy);
    for (const outFlat of sample(r, y.length, D > 256 ? 3 : 7)) {
      const start = outFlat - (outFlat % D);
      const i = outFlat - start;
      const row = (x.data as Uint8Array).slice(start, start + D);
      cases.push({ row, i, gamma: gamma[i], beta: beta[i], op, zx: x.zeroPoint, zy, cuts: cuts(r, D) });
      want.push(y[outFlat]);
    }
  }
  const encoded = cases.map((c) => ({
    row: hex(c.row),
    i: B(c.i),
    gamma: B(c.gamma),
    beta: B(c.beta),
    p: {
      zx: B(c.zx),
      eps: B(c.op.eps),
      q: big({ zy: c.zy, mult: c.op.mult, shift: c.op.shift, qmin: c.op.qmin, qmax: c.op.qmax }),
    },
    cuts: c.cuts,
  }));
  interface Result {
    yRow: bigint;
    ySteps: bigint;
    S: bigint;
    Q: bigint;
    sigma: bigint;
  }
  const results = await batchedBy(
    encoded,
    (c) => c.row.length / 2 + 20,
    8_000,
    (batch) => h.call<Result[]>('layernorm', batch),
  );
  expectSame(
    'layernorm (whole row)',
    encoded,
    results.map((x) => x.yRow),
    want,
  );
  expectSame(
    'layernorm (steps)',
    encoded,
    results.map((x) => x.ySteps),
    want,
  );
  // S, Q and sigma as the reference computes them.
  cases.forEach((c, k) => {
    const D = c.row.length;
    const S = c.row.reduce((s, v) => s + v - c.zx, 0);
    const Q = c.row.reduce((q, v) => q + (D * (v - c.zx) - S) ** 2, 0);
    const sigma = Math.floor(Math.sqrt(Math.floor(Q / D) + c.op.eps));
    const res = results[k];
    assert.deepEqual([res.S, res.Q].map(Number), [S, Q], `layernorm S, Q of case ${k}`);
    // Math.sqrt can be one off near perfect squares above 2^52; check floor(sqrt) exactly instead.
    const s = res.sigma;
    const v = B(Math.floor(Q / D)) + B(c.op.eps);
    assert.ok(s * s <= v && (s + 1n) * (s + 1n) > v, `layernorm sigma of case ${k}: ${s} vs ~${sigma}`);
  });
  for (const sigma of [0n, 1n]) {
    assert.ok(
      results.some((x) => x.sigma === sigma),
      `some rows have sigma = ${sigma}`,
    );
  }
});

// --------------------------------------------------------------------------------- data movement

/**
 * For a reference data-movement op, the flat input index that feeds every output element, found
 * by running the op on inputs whose bytes spell out their own indices (one byte per run).
 */
function traceSources(inputs: number[][], run: (xs: Tensor[]) => Uint8Array): { k: number; index: number }[] {
  const label = (f: (k: number, i: number) => number) =>
    run(
      inputs.map((shape, k) =>
        u8(
          shape,
          Uint8Array.from({ length: count(shape) }, (_, i) => f(k, i)),
        ),
      ),
    );
  const lo = label((_, i) => i & 255);
  const hi = label((_, i) => i >> 8);
  const which = label((k) => k);
  return Array.from(lo, (v, o) => ({ k: which[o], index: v + 256 * hi[o] }));
}

test('gather: the table element that feeds each output, and out-of-range ids', async () => {
  const r = rng(90);
  const cases: { outFlat: bigint; D: bigint; V: bigint; id: bigint }[] = [];
  const want: number[] = [];
  const wantIds: number[] = [];
  for (let t = 0; t < 150 * RUNS; t++) {
    const [V, D] = [r.int(1, 60), r.int(1, 16)];
    const idsShape = [r.int(1, 2), r.int(1, 8)];
    const ids: Tensor = {
      dtype: 'i32',
      shape: idsShape,
      data: Int32Array.from({ length: count(idsShape) }, () => r.pick([0, V - 1, r.int(0, V - 1)])),
      zeroPoint: 0,
    };
    const sources = traceSources([[V, D]], ([table]) => gather([table, ids]));
    for (const outFlat of sample(r, sources.length, 15)) {
      cases.push({ outFlat: B(outFlat), D: B(D), V: B(V), id: B(ids.data[Math.floor(outFlat / D)]) });
      want.push(sources[outFlat].index);
      wantIds.push(Math.floor(outFlat / D));
    }
  }
  const got = await batched(cases, 1000, async (batch) => {
    const [idsIndex, tableIndex] = await h.call<[bigint[], bigint[]]>('gatherSources', batch);
    return idsIndex.map((v, i) => [v, tableIndex[i]]);
  });
  expectSame(
    'gather ids index',
    cases,
    got.map((x) => x[0]),
    wantIds,
  );
  expectSame(
    'gather table index',
    cases,
    got.map((x) => x[1]),
    want,
  );
  for (const id of [-1n, 5n, 2n ** 31n - 1n, -(2n ** 31n)]) {
    await assert.rejects(h.call('gatherSources', [{ outFlat: 0n, D: 3n, V: 5n, id }]), /TokenOutOfRange/);
  }
});

test('transpose and reshape: the input element that feeds each output', async () => {
  const r = rng(100);
  for (let t = 0; t < 40 * RUNS; t++) {
    const rank = r.int(2, 5);
    const shape = Array.from({ length: rank }, () => r.int(1, rank > 4 ? 4 : 5));
    const rest = Array.from({ length: rank - 1 }, (_, i) => i + 1);
    for (let i = rest.length - 1; i > 0; i--) {
      const j = r.int(0, i);
      [rest[i], rest[j]] = [rest[j], rest[i]];
    }
    const perm = [0, ...rest];
    const op: TransposeOp = { type: 'transpose', name: 't', inputs: [0], output: 1, perm };
    const outShape = inferShape(op, [shape]);
    const sources = traceSources([shape], (xs) => transpose(op, xs, outShape));
    const outs = Array.from({ length: sources.length }, (_, i) => B(i));
    const got = await h.call<bigint[]>('transposeSources', shape.map(B), perm.map(B), outs);
    expectSame(
      `transpose [${shape}] by [${perm}]`,
      outs,
      got,
      sources.map((s) => s.index),
    );
    const same = await h.call<bigint[]>('reshapeSources', outs, B(outs.length));
    expectSame('reshape', outs, same, outs);
  }
  await assert.rejects(h.call('reshapeSources', [6n], 6n), /IndexOutOfRange/);
  await assert.rejects(h.call('transposeSources', [2n, 3n], [0n, 0n], [0n]), /BadPermutation/);
});

test('concat: which input and which of its elements feeds each output', async () => {
  const r = rng(110);
  for (let t = 0; t < 40 * RUNS; t++) {
    const rank = r.int(2, 4);
    const axis = r.int(1, rank - 1);
    const base = Array.from({ length: rank }, () => r.int(1, 4));
    const shapes = Array.from({ length: r.int(1, 4) }, () =>
      base.map((d, i) => (i === axis ? r.int(1, 4) : d)),
    );
    const op: ConcatOp = { type: 'concat', name: 'c', inputs: shapes.map((_, i) => i), output: 9, axis };
    const outShape = inferShape(op, shapes);
    const sources = traceSources(shapes, (xs) => concat(op, xs, outShape));
    const outs = Array.from({ length: sources.length }, (_, i) => B(i));
    const [input, inFlat] = await h.call<[bigint[], bigint[]]>(
      'concatSources',
      outShape.map(B),
      B(axis),
      shapes.map((s) => B(s[axis])),
      outs,
    );
    const what = `concat [${shapes.map((s) => s.join('x')).join(', ')}] on axis ${axis}`;
    expectSame(
      what,
      outs,
      input,
      sources.map((s) => s.k),
    );
    expectSame(
      what,
      outs,
      inFlat,
      sources.map((s) => s.index),
    );
  }
});

test('summary: cases compared with the reference', (t) => {
  t.diagnostic(`seed ${SEED}, VERINFER_FUZZ_RUNS=${RUNS}`);
  for (const [what, n] of COMPARED) t.diagnostic(`${what}: ${n}`);
});
