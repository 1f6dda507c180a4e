// Seeded generator of random VALID models (they pass validateModel) for differential tests.
//
// - `randomCase(seed)` is the entry point of the differential tests: a model, a batch size 1..4 and
//   an input, all determined by the seed. About a quarter of the cases are "extreme": zero points
//   0/255, weights all -128 or all 127, multipliers 2^15-1, shifts 0 and 40, narrow clamp
//   ranges, inputs all 0 or all 255.
// - `singleOpModel(rng, type)` builds a one-op model of any op type (act x act matmul and
//   add of two activations need a producer op, so those get two or three ops).
// - `chainModel(rng)` builds a random chain/DAG of up to 8 ops, and `namedChainModel` the fixed
//   patterns conv->maxpool->reshape->matmul and gather->layernorm->matmul->softmax.
// - `extremeAccumulatorModels()` are the largest accumulators validateGraph allows (|acc| up to
//   2^31 - 1) and the int16-saturation patterns (activations 255 against weights -128/127).
import fc from 'fast-check';
import { MAX_SHIFT, MULT_LIMIT } from '../../src/engine/arith.ts';
import {
  type DType,
  elementCount,
  type Model,
  OP_CODES,
  type Op,
  type OpType,
  type TensorData,
  type TensorInfo,
} from '../../src/engine/graph.ts';
import { inferShape } from '../../src/engine/shapes.ts';
import type { Tensor } from '../../src/engine/tensor.ts';

export const OP_TYPES = Object.keys(OP_CODES) as OpType[];

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An op without its name and output (the builder assigns both). */
export type OpSpec = DistributiveOmit<Op, 'output' | 'name'>;

const INT32_MAX = 2 ** 31 - 1;

/** Whether random convs may use per-tensor requantization (on unless VERINFER_CONV_PER_TENSOR=0). */
export const CONV_PER_TENSOR = process.env.VERINFER_CONV_PER_TENSOR !== '0';
const CONST_PRODUCT = 255 * 128;
const ACT_PRODUCT = 255 * 255;

// ---------------------------------------------------------------------------------------------
// PRNG

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  bool(p?: number): boolean;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: a small, fast, deterministic 32-bit PRNG. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    bool: (p = 0.5) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)],
  };
}

// ---------------------------------------------------------------------------------------------
// Model builder

export class ModelBuilder {
  readonly tensors: TensorInfo[] = [];
  readonly consts = new Map<number, TensorData>();
  readonly ops: Op[] = [];
  inputId = -1;

  private add(
    kind: TensorInfo['kind'],
    dtype: DType,
    shape: number[],
    zeroPoint: number,
    scale: number,
  ): number {
    const id = this.tensors.length;
    this.tensors.push({ id, name: `${kind[0]}${id}`, kind, dtype, shape, zeroPoint, scale });
    return id;
  }

  input(dtype: 'u8' | 'i32', shape: number[], zeroPoint = 0, scale = 0.05): number {
    this.inputId = this.add('input', dtype, shape, dtype === 'u8' ? zeroPoint : 0, scale);
    return this.inputId;
  }

  constant(data: TensorData, shape: number[]): number {
    const dtype: DType = data instanceof Uint8Array ? 'u8' : data instanceof Int8Array ? 'i8' : 'i32';
    const id = this.add('const', dtype, shape, 0, 1);
    this.consts.set(id, data);
    return id;
  }

  shape(id: number): number[] {
    return this.tensors[id].shape;
  }

  zp(id: number): number {
    return this.tensors[id].zeroPoint;
  }

  /** Appends `op` (without output), creating its output tensor from the inferred shape. */
  op(op: OpSpec, zeroPoint: number, scale = 0.05): number {
    const shape = inferShape(
      op as Op,
      op.inputs.map((id) => this.tensors[id].shape),
    );
    const out = this.add('activation', 'u8', shape, zeroPoint, scale);
    this.ops.push({ ...op, name: `${op.type}${this.ops.length}`, output: out } as Op);
    return out;
  }

  /** Output tensor with the same quantization as `id` (pass-through ops). */
  sameQuant(id: number): [number, number] {
    return [this.tensors[id].zeroPoint, this.tensors[id].scale];
  }

  build(name: string): Model {
    if (this.ops.length === 0) throw new Error('no ops');
    return {
      meta: {
        name,
        version: '1',
        inputKind: this.tensors[this.inputId].dtype === 'i32' ? 'tokens' : 'tensor',
      },
      tensors: this.tensors,
      ops: this.ops,
      consts: this.consts,
      input: this.inputId,
      output: this.ops[this.ops.length - 1].output,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Random parameters

/** Generation context: the PRNG and whether to favour extreme values. */
export interface Gen {
  rng: Rng;
  extreme: boolean;
}

function zeroPoint(g: Gen): number {
  if (g.extreme && g.rng.bool(0.6)) return g.rng.pick([0, 255, 0, 255, 128, 1, 254]);
  return g.rng.bool(0.2) ? g.rng.pick([0, 128]) : g.rng.int(0, 255);
}

function clampRange(g: Gen): { qmin: number; qmax: number } {
  const r = g.rng;
  if (g.extreme && r.bool(0.5)) {
    const lo = r.int(0, 255);
    return r.pick([
      { qmin: lo, qmax: lo },
      { qmin: lo, qmax: Math.min(255, lo + 1) },
      { qmin: 0, qmax: 0 },
      { qmin: 255, qmax: 255 },
      { qmin: 0, qmax: 255 },
    ]);
  }
  if (r.bool(0.6)) return { qmin: 0, qmax: 255 };
  const a = r.int(0, 255);
  const b = r.int(0, 255);
  return { qmin: Math.min(a, b), qmax: Math.max(a, b) };
}

function randomI8(g: Gen, n: number): Int8Array {
  const r = g.rng;
  const w = new Int8Array(n);
  const mode = g.extreme
    ? r.pick(['min', 'max', 'alt', 'ends', 'random'])
    : r.pick(['random', 'random', 'small', 'sparse']);
  for (let i = 0; i < n; i++) {
    switch (mode) {
      case 'min':
        w[i] = -128;
        break;
      case 'max':
        w[i] = 127;
        break;
      case 'alt':
        w[i] = i % 2 ? 127 : -128;
        break;
      case 'ends':
        w[i] = r.bool() ? 127 : -128;
        break;
      case 'small':
        w[i] = r.int(-8, 8);
        break;
      case 'sparse':
        w[i] = r.bool(0.7) ? 0 : r.int(-128, 127);
        break;
      default:
        w[i] = r.int(-128, 127);
    }
  }
  return w;
}

function randomU8(r: Rng, n: number): Uint8Array {
  const t = new Uint8Array(n);
  for (let i = 0; i < n; i++) t[i] = r.int(0, 255);
  return t;
}

/** Multiplier and shift giving outputs of roughly `target` units for accumulators of size `scale`. */
function fittedRequant(g: Gen, scale: number, target = 40): [number, number] {
  const r = g.rng;
  if (g.extreme && r.bool(0.6)) {
    return [
      r.pick([MULT_LIMIT - 1, MULT_LIMIT - 1, 0, 1, r.int(0, MULT_LIMIT - 1)]),
      r.pick([0, MAX_SHIFT, MAX_SHIFT, r.int(0, MAX_SHIFT)]),
    ];
  }
  if (r.bool(0.05)) return [r.int(0, MULT_LIMIT - 1), r.int(0, MAX_SHIFT)];
  const mult = r.int(2 ** 13, MULT_LIMIT - 1);
  const s = Math.round(Math.log2((mult * Math.max(1, scale)) / target)) + r.int(-1, 1);
  return [mult, Math.max(0, Math.min(MAX_SHIFT, s))];
}

/**
 * Per-channel (length n) or per-tensor (length 1) multiplier and shift vectors.
 *
 * Conv models get per-tensor vectors too while `CONV_PER_TENSOR` is on.
 */
function requantVectors(g: Gen, n: number, scale: number, perTensorOk = true): [Int32Array, Int32Array] {
  const len = perTensorOk && g.rng.bool(0.5) ? 1 : n;
  const mult = new Int32Array(len);
  const shift = new Int32Array(len);
  for (let i = 0; i < len; i++) [mult[i], shift[i]] = fittedRequant(g, scale);
  return [mult, shift];
}

/** Bias vector within the validator's accumulator bound for `taps` taps of at most `product`. */
function biasVector(g: Gen, n: number, taps: number, product: number): Int32Array {
  const limit = INT32_MAX - taps * product;
  if (limit < 0) throw new Error(`too many taps: ${taps}`);
  const r = g.rng;
  const b = new Int32Array(n);
  const mode = g.extreme ? r.pick(['max', 'min', 'zero', 'random']) : r.pick(['random', 'random', 'zero']);
  const typical = Math.min(limit, Math.max(1, taps * 3000));
  for (let i = 0; i < n; i++) {
    if (mode === 'max') b[i] = limit;
    else if (mode === 'min') b[i] = -limit;
    else if (mode === 'zero') b[i] = 0;
    else b[i] = r.int(-typical, typical);
  }
  return b;
}

/** A random factorization of n into `parts` factors (in random order). */
function factor(r: Rng, n: number, parts: number): number[] {
  const out = new Array<number>(parts).fill(1);
  let rest = n;
  for (let p = 2; rest > 1; ) {
    if (rest % p === 0) {
      out[r.int(0, parts - 1)] *= p;
      rest /= p;
    } else {
      p += 1;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Op builders: each appends one op reading existing tensors and returns its output tensor id

export function addConv(b: ModelBuilder, g: Gen, x: number, opts: { depthwise?: boolean } = {}): number {
  const r = g.rng;
  const [, C, H, W] = b.shape(x);
  let group = 1;
  const u = r.next();
  if (opts.depthwise || u < 0.2) group = C;
  else if (u < 0.4) {
    const divs = [];
    for (let d = 1; d <= C; d++) if (C % d === 0) divs.push(d);
    group = r.pick(divs);
  }
  const M = group * r.int(1, group === C && C > 4 ? 2 : 3);
  const Cg = C / group;
  for (let attempt = 0; ; attempt++) {
    const small = attempt > 5;
    const KH = small ? 1 : r.int(1, Math.min(5, H + 2));
    const KW = small ? 1 : r.int(1, Math.min(5, W + 2));
    const dh = small || r.bool(0.7) ? 1 : r.int(2, 3);
    const dw = small || r.bool(0.7) ? 1 : r.int(2, 3);
    const sh = r.bool(0.6) ? 1 : r.int(2, 3);
    const sw = r.bool(0.6) ? 1 : r.int(2, 3);
    const pads: [number, number, number, number] = small
      ? [0, 0, 0, 0]
      : [
          r.int(0, KH * dh - 1),
          r.int(0, KW * dw - 1),
          r.int(0, KH * dh + (r.bool(0.1) ? 3 : -1)),
          r.int(0, KW * dw),
        ];
    const OH = Math.floor((H + pads[0] + pads[2] - ((KH - 1) * dh + 1)) / sh) + 1;
    const OW = Math.floor((W + pads[1] + pads[3] - ((KW - 1) * dw + 1)) / sw) + 1;
    if (OH < 1 || OW < 1) continue;
    const taps = Cg * KH * KW;
    const w = b.constant(randomI8(g, M * taps), [M, Cg, KH, KW]);
    const bias = b.constant(biasVector(g, M, taps, CONST_PRODUCT), [M]);
    const [mult, shift] = requantVectors(g, M, Math.sqrt(taps) * 74 * 60, CONV_PER_TENSOR);
    const mId = b.constant(mult, [mult.length]);
    const sId = b.constant(shift, [shift.length]);
    return b.op(
      {
        type: 'conv',
        inputs: [x, w, bias, mId, sId],
        strides: [sh, sw],
        pads,
        dilations: [dh, dw],
        group,
        ...clampRange(g),
      },
      zeroPoint(g),
    );
  }
}

/** matmul with constant i8 weights [K, N] (sometimes [1, K, N]). */
export function addMatMulConst(b: ModelBuilder, g: Gen, a: number, N?: number): number {
  const r = g.rng;
  const K = b.shape(a)[b.shape(a).length - 1];
  const n = N ?? r.int(1, 24);
  const wShape = b.shape(a).length >= 3 && r.bool(0.2) ? [1, K, n] : [K, n];
  const w = b.constant(randomI8(g, K * n), wShape);
  const bias = b.constant(biasVector(g, n, K, CONST_PRODUCT), [n]);
  const [mult, shift] = requantVectors(g, n, Math.sqrt(K) * 74 * 60);
  return b.op(
    {
      type: 'matmul',
      inputs: [a, w, bias, b.constant(mult, [mult.length]), b.constant(shift, [shift.length])],
      ...clampRange(g),
    },
    zeroPoint(g),
  );
}

/** activation x activation matmul: a [..., M, K] @ bm [..., K, N] (u8, leading dims broadcast). */
export function addMatMulAct(b: ModelBuilder, g: Gen, a: number, bm: number): number {
  const N = b.shape(bm)[b.shape(bm).length - 1];
  const K = b.shape(a)[b.shape(a).length - 1];
  const bias = b.constant(biasVector(g, N, K, ACT_PRODUCT), [N]);
  const [mult, shift] = requantVectors(g, N, Math.sqrt(K) * 74 * 74);
  return b.op(
    {
      type: 'matmul',
      inputs: [a, bm, bias, b.constant(mult, [mult.length]), b.constant(shift, [shift.length])],
      ...clampRange(g),
    },
    zeroPoint(g),
  );
}

export function addAdd(b: ModelBuilder, g: Gen, a: number, other?: number): number {
  const r = g.rng;
  let bt = other;
  if (bt === undefined) {
    // A constant operand whose shape broadcasts against a's (numpy rules, possibly lower rank).
    const s = b.shape(a);
    const rank = r.int(1, s.length);
    const shape = s
      .slice(s.length - rank)
      .map((d, i) => (i === 0 && rank === s.length ? 1 : r.bool(0.5) ? d : 1));
    bt = b.constant(randomU8(r, elementCount(shape)), shape);
    b.tensors[bt].zeroPoint = zeroPoint(g);
  }
  const [ma, s1] = fittedRequant(g, 128, 64);
  const mb =
    g.extreme && r.bool(0.5)
      ? r.pick([0, MULT_LIMIT - 1])
      : Math.min(MULT_LIMIT - 1, Math.max(0, ma + r.int(-2000, 2000)));
  const swap = other !== undefined && r.bool(0.3);
  return b.op(
    {
      type: 'add',
      inputs: swap ? [bt, a] : [a, bt],
      multA: ma,
      multB: mb,
      shift: s1,
      ...clampRange(g),
    },
    zeroPoint(g),
  );
}

/** mul with a constant operand (broadcast like addAdd's) or with another activation. */
export function addMul(b: ModelBuilder, g: Gen, a: number, other?: number): number {
  const r = g.rng;
  let bt = other;
  if (bt === undefined) {
    const s = b.shape(a);
    const rank = r.int(1, s.length);
    const shape = s
      .slice(s.length - rank)
      .map((d, i) => (i === 0 && rank === s.length ? 1 : r.bool(0.5) ? d : 1));
    bt = b.constant(randomU8(r, elementCount(shape)), shape);
    b.tensors[bt].zeroPoint = zeroPoint(g);
  }
  const [mult, shift] = fittedRequant(g, 74 * 74, 50);
  const swap = other !== undefined && r.bool(0.3);
  return b.op({ type: 'mul', inputs: swap ? [bt, a] : [a, bt], mult, shift, ...clampRange(g) }, zeroPoint(g));
}

export function addLut(b: ModelBuilder, g: Gen, x: number): number {
  const r = g.rng;
  const table = g.extreme && r.bool(0.5) ? new Uint8Array(256).fill(r.pick([0, 255])) : randomU8(r, 256);
  if (r.bool(0.3)) for (let i = 0; i < 256; i++) table[i] = 255 - i;
  const t = b.constant(table, r.bool(0.5) ? [256] : [16, 16]);
  return b.op({ type: 'lut', inputs: [x, t] }, zeroPoint(g));
}

function poolGeometry(g: Gen, H: number, W: number) {
  const r = g.rng;
  if (H >= 2 && W >= 2 && r.bool(0.35)) {
    // The common 2x2 window (the fast backend has a dedicated loop for fully inside windows).
    const st = r.pick([1, 2, 2]);
    return {
      kernel: [2, 2] as [number, number],
      strides: [st, st] as [number, number],
      pads: [0, 0, 0, 0] as [number, number, number, number],
    };
  }
  for (;;) {
    const kh = r.int(1, Math.min(4, H + 1));
    const kw = r.int(1, Math.min(4, W + 1));
    const pads: [number, number, number, number] = r.bool(0.5)
      ? [0, 0, 0, 0]
      : [r.int(0, kh - 1), r.int(0, kw - 1), r.int(0, kh - 1), r.int(0, kw - 1)];
    if (H + pads[0] + pads[2] < kh || W + pads[1] + pads[3] < kw) continue;
    const strides: [number, number] = [r.int(1, 3), r.int(1, 3)];
    return { kernel: [kh, kw] as [number, number], strides, pads };
  }
}

export function addMaxPool(b: ModelBuilder, g: Gen, x: number): number {
  const [, , H, W] = b.shape(x);
  const [zp, scale] = b.sameQuant(x);
  return b.op({ type: 'maxpool', inputs: [x], ...poolGeometry(g, H, W) }, zp, scale);
}

function meanRequant(g: Gen): { mult: number; shift: number } {
  const r = g.rng;
  if (g.extreme && r.bool(0.6)) {
    return { mult: r.pick([MULT_LIMIT - 1, 0, 1]), shift: r.pick([0, MAX_SHIFT, r.int(0, MAX_SHIFT)]) };
  }
  const shift = r.int(0, 14);
  return {
    mult: Math.max(0, Math.min(MULT_LIMIT - 1, 2 ** shift + r.int(-(2 ** shift) >> 1, (2 ** shift) >> 1))),
    shift,
  };
}

export function addAvgPool(b: ModelBuilder, g: Gen, x: number): number {
  const [, , H, W] = b.shape(x);
  return b.op(
    {
      type: 'avgpool',
      inputs: [x],
      ...poolGeometry(g, H, W),
      countIncludePad: g.rng.bool(),
      ...meanRequant(g),
    },
    zeroPoint(g),
  );
}

export function addReduceMean(b: ModelBuilder, g: Gen, x: number, axis?: number, keepDims?: boolean): number {
  const rank = b.shape(x).length;
  return b.op(
    {
      type: 'reducemean',
      inputs: [x],
      axis: axis ?? g.rng.int(1, rank - 1),
      keepDims: keepDims ?? g.rng.bool(),
      ...meanRequant(g),
    },
    zeroPoint(g),
  );
}

export function expTable(g: Gen): Int32Array {
  const r = g.rng;
  const t = new Int32Array(256);
  const mode = g.extreme ? r.pick(['zeros', 'ones', 'random']) : r.pick(['exp', 'exp', 'random']);
  const scale = 0.005 + r.next() * 0.5;
  for (let d = 0; d < 256; d++) {
    if (mode === 'zeros') t[d] = 0;
    else if (mode === 'ones') t[d] = 2 ** 16;
    else if (mode === 'random') t[d] = r.int(0, 2 ** 16);
    else t[d] = Math.round(2 ** 16 * Math.exp(-d * scale));
  }
  t[0] = 2 ** 16;
  return t;
}

export function addSoftmax(b: ModelBuilder, g: Gen, x: number): number {
  return b.op({ type: 'softmax', inputs: [x, b.constant(expTable(g), [256])] }, 0, 1 / 255);
}

export function addLayerNorm(b: ModelBuilder, g: Gen, x: number): number {
  const r = g.rng;
  const D = b.shape(x)[b.shape(x).length - 1];
  const gamma = new Int32Array(D);
  const beta = new Int32Array(D);
  const gmax = g.extreme ? r.pick([2 ** 15, 1, 2 ** 10]) : r.pick([1024, 4096, 300]);
  const bmax = g.extreme ? r.pick([INT32_MAX, 0, 2 ** 20]) : r.pick([0, 2 ** 16, 2 ** 20]);
  for (let i = 0; i < D; i++) {
    gamma[i] = g.extreme && r.bool(0.5) ? r.pick([-(2 ** 15), 2 ** 15]) : r.int(-gmax, gmax);
    beta[i] = r.int(-bmax, bmax);
  }
  const eps = g.extreme ? r.pick([0, 2 ** 40 - 1, 1, r.int(0, 2 ** 30)]) : r.pick([0, 1, r.int(0, 4096)]);
  const [mult, shift] = fittedRequant(g, 1024 * gmax, 50);
  return b.op(
    {
      type: 'layernorm',
      inputs: [x, b.constant(gamma, [D]), b.constant(beta, [D])],
      eps,
      mult,
      shift,
      ...clampRange(g),
    },
    zeroPoint(g),
  );
}

export function addGather(b: ModelBuilder, g: Gen, ids: number, V?: number, D?: number): number {
  const r = g.rng;
  const v = V ?? r.int(1, 50);
  const d = D ?? r.int(1, 40);
  const table = b.constant(randomU8(r, v * d), [v, d]);
  return b.op({ type: 'gather', inputs: [table, ids] }, zeroPoint(g));
}

export function addReshape(b: ModelBuilder, g: Gen, x: number, shape?: number[]): number {
  const inner = elementCount(b.shape(x).slice(1));
  const target = shape ?? factor(g.rng, inner, g.rng.int(1, 4));
  const [zp, scale] = b.sameQuant(x);
  return b.op({ type: 'reshape', inputs: [x], shape: target }, zp, scale);
}

export function addTranspose(b: ModelBuilder, g: Gen, x: number, perm?: number[]): number {
  const rank = b.shape(x).length;
  let p = perm;
  if (!p) {
    const rest = Array.from({ length: rank - 1 }, (_, i) => i + 1);
    for (let i = rest.length - 1; i > 0; i--) {
      const j = g.rng.int(0, i);
      [rest[i], rest[j]] = [rest[j], rest[i]];
    }
    p = [0, ...rest];
  }
  const [zp, scale] = b.sameQuant(x);
  return b.op({ type: 'transpose', inputs: [x], perm: p }, zp, scale);
}

export function addConcat(b: ModelBuilder, xs: number[], axis: number): number {
  const [zp, scale] = b.sameQuant(xs[0]);
  return b.op({ type: 'concat', inputs: xs, axis }, zp, scale);
}

/** Reshapes x to rank 4 [B, C, H, W] unless it already is. */
function toRank4(b: ModelBuilder, g: Gen, x: number): number {
  if (b.shape(x).length === 4) return x;
  const inner = elementCount(b.shape(x).slice(1));
  return addReshape(b, g, x, factor(g.rng, inner, 3));
}

function toRankAtLeast2(b: ModelBuilder, g: Gen, x: number): number {
  if (b.shape(x).length >= 2) return x;
  return addReshape(b, g, x, [1]);
}

// ---------------------------------------------------------------------------------------------
// Models

function imageShape(r: Rng): number[] {
  return [1, r.int(1, 6), r.int(1, 12), r.int(1, 12)];
}

/** A model whose main op is `type` (plus the producers it needs). */
export function singleOpModel(g: Gen, type: OpType): Model {
  const r = g.rng;
  const b = new ModelBuilder();
  const u8 = (shape: number[]) => b.input('u8', shape, zeroPoint(g), 0.02 + r.next() * 0.1);
  switch (type) {
    case 'conv': {
      const s = imageShape(r);
      if (r.bool(0.3)) s[1] = r.pick([8, 12, 16]);
      addConv(b, g, u8(s), { depthwise: r.bool(0.25) });
      break;
    }
    case 'matmul': {
      const variant = r.int(0, 3);
      if (variant <= 1) {
        const rank = r.int(2, 4);
        const shape = [1, ...Array.from({ length: rank - 1 }, () => r.int(1, 6))];
        shape[rank - 1] = r.int(1, 64);
        addMatMulConst(b, g, u8(shape));
      } else if (variant === 2) {
        // Square activation times itself.
        const S = r.int(1, 12);
        const x = u8(r.bool() ? [1, S, S] : [1, r.int(1, 3), S, S]);
        addMatMulAct(b, g, x, x);
      } else {
        // Broadcast batch dims: x [1,H,M,K] @ transpose(reducemean over H) [1,1,K,M], or the mirror.
        const x = u8([1, r.int(2, 4), r.int(1, 8), r.int(1, 16)]);
        const m = addReduceMean(b, g, x, 1, true);
        const t = addTranspose(b, g, m, [0, 1, 3, 2]);
        if (r.bool()) addMatMulAct(b, g, x, t);
        else addMatMulAct(b, g, m, addTranspose(b, g, x, [0, 1, 3, 2]));
      }
      break;
    }
    case 'add': {
      const x = u8(r.bool() ? imageShape(r) : [1, r.int(1, 40)]);
      const variant = r.int(0, 3);
      if (variant <= 1) addAdd(b, g, x);
      else if (variant === 2) addAdd(b, g, x, x);
      else {
        // Two activations with broadcasting: x + reducemean(x, keepDims).
        const s = b.shape(x);
        const m = addReduceMean(b, g, x, r.int(1, s.length - 1), true);
        addAdd(b, g, x, m);
      }
      break;
    }
    case 'mul': {
      const x = u8(r.bool() ? imageShape(r) : [1, r.int(1, 40)]);
      const variant = r.int(0, 3);
      if (variant <= 1) addMul(b, g, x);
      else if (variant === 2) addMul(b, g, x, x);
      else addMul(b, g, x, addReduceMean(b, g, x, r.int(1, b.shape(x).length - 1), true));
      break;
    }
    case 'lut':
      addLut(b, g, u8(r.bool() ? imageShape(r) : [1, r.int(1, 100)]));
      break;
    case 'maxpool':
      addMaxPool(b, g, u8(imageShape(r)));
      break;
    case 'avgpool':
      addAvgPool(b, g, u8(imageShape(r)));
      break;
    case 'reducemean': {
      const rank = r.int(2, 4);
      addReduceMean(b, g, u8([1, ...Array.from({ length: rank - 1 }, () => r.int(1, 10))]));
      break;
    }
    case 'softmax': {
      // Long rows up to what one on-chain step can check (src/engine/stepCost.ts).
      const L = g.extreme && r.bool(0.1) ? r.int(1000, 1400) : r.int(1, 40);
      addSoftmax(b, g, u8(L > 1000 ? [1, L] : [1, r.int(1, 5), L]));
      break;
    }
    case 'layernorm': {
      const D = g.extreme && r.bool(0.2) ? r.pick([2048, 1, 2, r.int(100, 2048)]) : r.int(1, 64);
      addLayerNorm(b, g, u8(D > 100 ? [1, D] : [1, r.int(1, 5), D]));
      break;
    }
    case 'gather': {
      const ids = b.input('i32', r.bool() ? [1, r.int(1, 12)] : [1, r.int(1, 3), r.int(1, 5)]);
      addGather(b, g, ids);
      break;
    }
    case 'reshape':
      addReshape(b, g, u8(imageShape(r)));
      break;
    case 'transpose': {
      const rank = r.int(2, 5);
      addTranspose(b, g, u8([1, ...Array.from({ length: rank - 1 }, () => r.int(1, 6))]));
      break;
    }
    case 'concat': {
      const x = u8(imageShape(r));
      const axis = r.int(1, 3);
      addConcat(
        b,
        Array.from({ length: r.int(1, 3) }, () => x),
        axis,
      );
      break;
    }
  }
  return b.build(`single-${type}`);
}

/** A random chain (DAG) of 2..8 ops over the activations built so far. */
export function chainModel(g: Gen): Model {
  const r = g.rng;
  const b = new ModelBuilder();
  const pool: number[] = [];
  if (r.bool(0.25)) {
    const ids = b.input('i32', [1, r.int(1, 8)]);
    pool.push(addGather(b, g, ids, r.int(1, 30), r.int(1, 24)));
  } else {
    pool.push(b.input('u8', r.bool(0.7) ? imageShape(r) : [1, r.int(1, 6), r.int(1, 24)], zeroPoint(g)));
  }
  const steps = r.int(2, 8);
  const maxElems = 3000;
  while (b.ops.length < steps) {
    const x = r.bool(0.7) ? pool[pool.length - 1] : r.pick(pool);
    const s = b.shape(x);
    if (elementCount(s) > maxElems) {
      pool.push(addReduceMean(b, g, x, s.indexOf(Math.max(...s.slice(1))), false));
      continue;
    }
    const type = r.pick(OP_TYPES.filter((t) => t !== 'gather'));
    let y: number;
    switch (type) {
      case 'conv':
        y = addConv(b, g, toRank4(b, g, x));
        break;
      case 'maxpool':
        y = addMaxPool(b, g, toRank4(b, g, x));
        break;
      case 'avgpool':
        y = addAvgPool(b, g, toRank4(b, g, x));
        break;
      case 'matmul': {
        const a = toRankAtLeast2(b, g, x);
        const sa = b.shape(a);
        const M = sa[sa.length - 2];
        if (sa.length >= 3 && r.bool(0.4) && (elementCount(sa) / sa[sa.length - 1]) * M <= 20000) {
          // act x act: a @ transpose(a or a broadcastable partner).
          const perm = sa.map((_, i) => i);
          [perm[sa.length - 2], perm[sa.length - 1]] = [perm[sa.length - 1], perm[sa.length - 2]];
          let partner = a;
          if (sa.length >= 4 && r.bool(0.5)) partner = addReduceMean(b, g, a, 1, true);
          y = addMatMulAct(b, g, a, addTranspose(b, g, partner, perm));
        } else {
          y = addMatMulConst(b, g, a);
        }
        break;
      }
      case 'add': {
        const partners = pool.filter((p) => p !== x && sameShape(b.shape(p), s));
        y = partners.length && r.bool(0.5) ? addAdd(b, g, x, r.pick(partners)) : addAdd(b, g, x);
        break;
      }
      case 'mul': {
        const partners = pool.filter((p) => p !== x && sameShape(b.shape(p), s));
        if (partners.length && r.bool(0.4)) y = addMul(b, g, x, r.pick(partners));
        else if (s.length >= 2 && r.bool(0.3))
          y = addMul(b, g, x, addReduceMean(b, g, x, r.int(1, s.length - 1), true));
        else y = addMul(b, g, x);
        break;
      }
      case 'lut':
        y = addLut(b, g, x);
        break;
      case 'reducemean':
        y = s.length >= 2 ? addReduceMean(b, g, x) : addLut(b, g, x);
        break;
      case 'softmax':
        y = s.length > 1 ? addSoftmax(b, g, x) : addLut(b, g, x);
        break;
      case 'layernorm':
        y = s.length > 1 && s[s.length - 1] <= 2048 ? addLayerNorm(b, g, x) : addLut(b, g, x);
        break;
      case 'reshape':
        y = addReshape(b, g, x);
        break;
      case 'transpose':
        y = addTranspose(b, g, x);
        break;
      default: {
        if (s.length < 2) {
          y = addLut(b, g, x);
          break;
        }
        const axis = r.int(1, s.length - 1);
        const zp = b.zp(x);
        const scale = b.tensors[x].scale;
        const mates = pool.filter((p) => {
          const q = b.shape(p);
          const t = b.tensors[p];
          return (
            t.dtype === 'u8' &&
            t.zeroPoint === zp &&
            t.scale === scale &&
            q.length === s.length &&
            q.every((d, i) => i === axis || d === s[i])
          );
        });
        const xs = [x, ...Array.from({ length: r.int(0, 2) }, () => r.pick(mates.length ? mates : [x]))];
        y = addConcat(b, xs, axis);
      }
    }
    pool.push(y);
  }
  return b.build('chain');
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The fixed chain patterns: conv->maxpool->reshape->matmul and gather->layernorm->matmul->softmax. */
export function namedChainModel(g: Gen, which: 0 | 1): Model {
  const r = g.rng;
  const b = new ModelBuilder();
  if (which === 0) {
    const x = b.input('u8', [1, r.int(1, 4), r.int(4, 12), r.int(4, 12)], zeroPoint(g));
    const c = addConv(b, g, x);
    const p = addMaxPool(b, g, c);
    const f = addReshape(b, g, p, [elementCount(b.shape(p).slice(1))]);
    addMatMulConst(b, g, f, r.int(2, 10));
    return b.build('conv-maxpool-reshape-matmul');
  }
  const ids = b.input('i32', [1, r.int(1, 10)]);
  const e = addGather(b, g, ids, r.int(2, 40), r.int(2, 32));
  const n = addLayerNorm(b, g, e);
  const m = addMatMulConst(b, g, n, r.int(2, 16));
  addSoftmax(b, g, m);
  return b.build('gather-layernorm-matmul-softmax');
}

/**
 * Models at the accumulator limits validate.ts allows and int16-saturation patterns. Their inputs
 * should be all 0 or all 255 (see `extremeInputs`).
 */
export function extremeAccumulatorModels(): { name: string; model: Model }[] {
  const out: { name: string; model: Model }[] = [];
  const one = (n: number) => new Int32Array(n).fill(1);
  const zero = (n: number) => new Int32Array(n);
  // Largest const-weight reduction: 65793 taps * 255 * 128 = 2147483520, bias up to 127.
  const maxTaps = Math.floor(INT32_MAX / CONST_PRODUCT);
  for (const [wv, zx, bias] of [
    [-128, 255, 127],
    [127, 255, -127],
    [-128, 0, -127],
    [127, 0, 127],
  ] as const) {
    for (const [mult, shift] of [
      [MULT_LIMIT - 1, MAX_SHIFT],
      [1, 0],
      [MULT_LIMIT - 1, 31],
    ] as const) {
      // matmul [1, 2, K] @ [K, 3]
      const b = new ModelBuilder();
      const x = b.input('u8', [1, 2, maxTaps], zx);
      const w = b.constant(new Int8Array(maxTaps * 3).fill(wv), [maxTaps, 3]);
      b.op(
        {
          type: 'matmul',
          inputs: [
            x,
            w,
            b.constant(new Int32Array(3).fill(bias), [3]),
            b.constant(new Int32Array([mult]), [1]),
            b.constant(new Int32Array([shift]), [1]),
          ],
          qmin: 0,
          qmax: 255,
        },
        128,
      );
      out.push({
        name: `matmul K=${maxTaps} w=${wv} zx=${zx} bias=${bias} mult=${mult} shift=${shift}`,
        model: b.build('max-matmul'),
      });
    }
    // conv with 3x1 kernel over 21931 channels = 65793 taps, and a 1x1 kernel over 65793 channels.
    for (const [C, KH, H] of [
      [maxTaps / 3, 3, 3],
      [maxTaps, 1, 1],
    ]) {
      const b = new ModelBuilder();
      const x = b.input('u8', [1, C, H, 2], zx);
      b.op(
        {
          type: 'conv',
          inputs: [
            x,
            b.constant(new Int8Array(2 * C * KH).fill(wv), [2, C, KH, 1]),
            b.constant(new Int32Array(2).fill(bias), [2]),
            b.constant(new Int32Array([MULT_LIMIT - 1, 1]), [2]),
            b.constant(new Int32Array([MAX_SHIFT, 20]), [2]),
          ],
          strides: [1, 1],
          pads: [0, 0, 0, 0],
          dilations: [1, 1],
          group: 1,
          qmin: 0,
          qmax: 255,
        },
        100,
      );
      out.push({ name: `conv taps=${C * KH} w=${wv} zx=${zx} bias=${bias}`, model: b.build('max-conv') });
    }
  }
  // Largest act x act reduction: 33025 taps * 255 * 255 = 2147450625, bias up to 33022.
  const actTaps = Math.floor(INT32_MAX / ACT_PRODUCT);
  for (const [zx, invert] of [
    [255, false],
    [0, true],
    [255, true],
  ] as const) {
    const b = new ModelBuilder();
    const x = b.input('u8', [1, 2, actTaps], zx);
    // b operand: transpose(x) or transpose(255 - x) with zero point 255 - zx.
    let partner = x;
    if (invert) {
      const table = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
      partner = b.op({ type: 'lut', inputs: [x, b.constant(table, [256])] }, 255 - zx);
    }
    const t = b.op({ type: 'transpose', inputs: [partner], perm: [0, 2, 1] }, b.zp(partner));
    const limit = INT32_MAX - actTaps * ACT_PRODUCT;
    b.op(
      {
        type: 'matmul',
        inputs: [
          x,
          t,
          b.constant(Int32Array.from([limit, -limit]), [2]),
          b.constant(Int32Array.from([MULT_LIMIT - 1, 1]), [2]),
          b.constant(Int32Array.from([MAX_SHIFT, 0]), [2]),
        ],
        qmin: 0,
        qmax: 255,
      },
      7,
    );
    out.push({ name: `act x act K=${actTaps} zx=${zx} invert=${invert}`, model: b.build('max-act-matmul') });
  }
  // int16-saturation patterns: long dot products of 255s against -128/127, requantized to about
  // ±64 around 128 so that a halved (saturated) accumulator shows in the output bytes.
  for (const K of [2, 16, 64, 256, 1024, 4096]) {
    for (const pattern of ['max', 'min', 'alt'] as const) {
      const b = new ModelBuilder();
      const x = b.input('u8', [1, 4, K], 0);
      const w = new Int8Array(K * 8);
      for (let i = 0; i < w.length; i++)
        w[i] = pattern === 'max' ? 127 : pattern === 'min' ? -128 : i % 2 ? 127 : -128;
      const shift = Math.ceil(Math.log2(K * CONST_PRODUCT));
      b.op(
        {
          type: 'matmul',
          inputs: [
            x,
            b.constant(w, [K, 8]),
            b.constant(zero(8), [8]),
            b.constant(one(1).fill(64), [1]),
            b.constant(Int32Array.of(shift), [1]),
          ],
          qmin: 0,
          qmax: 255,
        },
        128,
      );
      out.push({ name: `saturation matmul K=${K} ${pattern}`, model: b.build('saturation') });
      // The same as a 3x3 conv over K/9 channels (at least 1).
      const C = Math.max(1, Math.floor(K / 9));
      const cb = new ModelBuilder();
      const cx = cb.input('u8', [1, C, 5, 5], 0);
      const cw = new Int8Array(4 * C * 9);
      for (let i = 0; i < cw.length; i++)
        cw[i] = pattern === 'max' ? 127 : pattern === 'min' ? -128 : i % 2 ? 127 : -128;
      cb.op(
        {
          type: 'conv',
          inputs: [
            cx,
            cb.constant(cw, [4, C, 3, 3]),
            cb.constant(zero(4), [4]),
            cb.constant(one(4).fill(64), [4]),
            cb.constant(new Int32Array(4).fill(Math.ceil(Math.log2(C * 9 * CONST_PRODUCT))), [4]),
          ],
          strides: [1, 1],
          pads: [1, 1, 1, 1],
          dilations: [1, 1],
          group: 1,
          qmin: 0,
          qmax: 255,
        },
        128,
      );
      out.push({ name: `saturation conv C=${C} ${pattern}`, model: cb.build('saturation-conv') });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Inputs and cases

export type InputMode = 'random' | 'zeros' | 'max' | 'extreme';

/** A valid input for `model` at batch size `batch` (token ids stay inside every gather table). */
export function randomInput(model: Model, batch: number, rng: Rng, mode: InputMode = 'random'): Tensor {
  const info = model.tensors[model.input];
  const shape = [batch, ...info.shape.slice(1)];
  const n = elementCount(shape);
  if (info.dtype === 'i32') {
    let V = 2 ** 31 - 1;
    for (const op of model.ops)
      if (op.type === 'gather' && op.inputs[1] === model.input)
        V = Math.min(V, model.tensors[op.inputs[0]].shape[0]);
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) ids[i] = mode === 'zeros' ? 0 : mode === 'max' ? V - 1 : rng.int(0, V - 1);
    return { dtype: 'i32', shape, data: ids, zeroPoint: 0 };
  }
  const data = new Uint8Array(n);
  const sub = mode === 'extreme' ? rng.pick(['zeros', 'max', 'alt', 'ends'] as const) : mode;
  for (let i = 0; i < n; i++) {
    data[i] =
      sub === 'zeros'
        ? 0
        : sub === 'max'
          ? 255
          : sub === 'alt'
            ? (i % 2) * 255
            : sub === 'ends'
              ? rng.pick([0, 255])
              : rng.int(0, 255);
  }
  return { dtype: 'u8', shape, data, zeroPoint: info.zeroPoint };
}

export interface RandomCase {
  seed: number;
  kind: string;
  model: Model;
  batch: number;
  input: Tensor;
}

/**
 * The case for one seed: a single-op model of a seed-chosen op type (45%), a random chain (45%)
 * or a named chain (10%); a quarter of them extreme; batch 1..4.
 */
export function randomCase(seed: number): RandomCase {
  const rng = mulberry32(seed);
  const g: Gen = { rng, extreme: rng.bool(0.25) };
  const u = rng.next();
  let model: Model;
  let kind: string;
  if (u < 0.45) {
    const type = OP_TYPES[seed % OP_TYPES.length];
    model = singleOpModel(g, type);
    kind = `single ${type}`;
  } else if (u < 0.9) {
    model = chainModel(g);
    kind = 'chain';
  } else {
    const which = rng.bool() ? 0 : 1;
    model = namedChainModel(g, which);
    kind = model.meta.name;
  }
  if (g.extreme) kind += ' (extreme)';
  const batch = rng.int(1, 4);
  const mode: InputMode = g.extreme
    ? rng.pick(['extreme', 'random', 'zeros', 'max'])
    : rng.bool(0.05)
      ? 'extreme'
      : 'random';
  return { seed, kind, model, batch, input: randomInput(model, batch, rng, mode) };
}

/** fast-check arbitraries over the same cases (shrinking is over the seed). */
export const arbSeed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
export const arbCase: fc.Arbitrary<RandomCase> = arbSeed.map(randomCase);
