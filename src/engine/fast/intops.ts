// conv and matmul in the fast backend: the integer dot products (in onnxruntime, or in a
// TypeScript loop when the op is too small to pay for a session call), then bias,
// requantization and clamp in TypeScript with the arithmetic of ../arith.ts.
import { clamp, rq } from '../arith.ts';
import type { ConvOp, MatMulOp, Model, TensorData } from '../graph.ts';
import { broadcastIndexMap, broadcastShapes } from '../tensor.ts';
import { compileBinary } from './kernels.ts';
import type { Dim, NodeSpec } from './onnx.ts';
import { requantRows, requantRun, requantTable } from './requant.ts';

/** The part of a conv or matmul that onnxruntime computes: one node with its uint8 initializers. */
export interface OrtPart {
  node: NodeSpec;
  initializers: { name: string; dims: number[]; data: Uint8Array | Int8Array }[];
  /**
   * Activation tensors the node reads: graph input name, tensor id, declared dims (first dimension
   * symbolic) and the shape fed at this batch size (same bytes as the tensor, maybe flattened).
   */
  inputs: OrtInput[];
  /** Name of the int32 output. */
  output: string;
}

export interface OrtInput {
  name: string;
  id: number;
  dims: Dim[];
  shape: number[];
}

export interface IntOpPlan {
  opIndex: number;
  /** Multiply-accumulates at this batch size. */
  macs: number;
  /** Taps per output (the reduction length). */
  taps: number;
  /** Length of the int32 accumulator tensor. */
  accLength: number;
  /** The onnxruntime node, or null when onnxruntime's broadcasting would not match the reference. */
  ort: OrtPart | null;
  /** acc = Σ (x - zx) * (w - zw) over the reduction, without bias, in the layout of `ort`'s output. */
  dot(values: TensorData[], acc: Int32Array): void;
  /** out = clamp(zy + rq(acc + bias, mult, shift), qmin, qmax). */
  requant(acc: Int32Array, out: Uint8Array): void;
  /** A TypeScript kernel that writes the output directly; preferred over onnxruntime when set. */
  direct?: (values: TensorData[], out: Uint8Array) => void;
}

/** The symbolic name of the batch dimension in the onnxruntime graphs. */
export const BATCH_DIM = 'N';

export const inputName = (tensorId: number): string => `x${tensorId}`;

/** Dims of an activation as a graph input: the batch dimension is symbolic, the rest fixed. */
function graphDims(shape: readonly number[]): Dim[] {
  return shape.map((d, i) => (i === 0 ? BATCH_DIM : d));
}

/**
 * How constant int8 weights reach onnxruntime: 'u8' is w + 128 with weight zero point 128 (exact,
 * see the header of backend.ts); 's8' is w itself with zero point 0, which onnxruntime's AVX2
 * u8 x s8 kernel can get wrong (int16 saturation). 's8' exists only to demonstrate that hazard.
 */
export type WeightEncoding = 'u8' | 's8';

/** The weight initializer and its zero point. */
function encodeWeights(
  w: Int8Array,
  enc: WeightEncoding,
): { data: Uint8Array | Int8Array; zero: Uint8Array | Int8Array } {
  if (enc === 's8') return { data: w, zero: Int8Array.of(0) };
  const u = new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) u[i] = w[i] + 128;
  return { data: u, zero: Uint8Array.of(128) };
}

/** Plans a conv at batch size N. `xShape` and `outShape` are batched. */
export function planConv(
  model: Model,
  opIndex: number,
  xShape: number[],
  outShape: number[],
  enc: WeightEncoding = 'u8',
): IntOpPlan {
  const op = model.ops[opIndex] as ConvOp;
  const xInfo = model.tensors[op.inputs[0]];
  const wInfo = model.tensors[op.inputs[1]];
  const w = model.consts.get(op.inputs[1]) as Int8Array;
  const [N, C, H, W] = xShape;
  const [M, Cg, KH, KW] = wInfo.shape;
  const [, , OH, OW] = outShape;
  const [sh, sw] = op.strides;
  const [pt, pl, pb, pr] = op.pads;
  const [dh, dw] = op.dilations;
  const Mg = M / op.group;
  const P = OH * OW;
  const zx = xInfo.zeroPoint | 0;
  const zy = model.tensors[op.output].zeroPoint | 0;
  const taps = Cg * KH * KW;

  // Valid output rows for each ky and columns for each kx: the taps that land inside the input.
  const oyLo = new Int32Array(KH);
  const oyHi = new Int32Array(KH);
  for (let ky = 0; ky < KH; ky++) {
    let lo = OH;
    let hi = 0;
    for (let oy = 0; oy < OH; oy++) {
      const iy = oy * sh - pt + ky * dh;
      if (iy >= 0 && iy < H) {
        if (lo === OH) lo = oy;
        hi = oy + 1;
      }
    }
    oyLo[ky] = lo;
    oyHi[ky] = Math.max(lo, hi);
  }
  const oxLo = new Int32Array(KW);
  const oxHi = new Int32Array(KW);
  for (let kx = 0; kx < KW; kx++) {
    let lo = OW;
    let hi = 0;
    for (let ox = 0; ox < OW; ox++) {
      const ix = ox * sw - pl + kx * dw;
      if (ix >= 0 && ix < W) {
        if (lo === OW) lo = ox;
        hi = ox + 1;
      }
    }
    oxLo[kx] = lo;
    oxHi[kx] = Math.max(lo, hi);
  }
  // x - zx, allocated at the first TypeScript run (most convs never need it).
  let xzBuf: Int16Array | null = null;
  const HW = H * W;
  const xId = op.inputs[0];

  // Direct convolution, weight-stationary: for every weight, one strided pass over an output row.
  const dot = (values: TensorData[], acc: Int32Array) => {
    const x = values[xId] as Uint8Array;
    xzBuf ??= new Int16Array(N * C * H * W);
    const xz = xzBuf;
    for (let i = 0; i < xz.length; i++) xz[i] = x[i] - zx;
    acc.fill(0);
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++) {
        const g = Math.floor(m / Mg);
        const accBase = (n * M + m) * P;
        for (let c = 0; c < Cg; c++) {
          const xBase = (n * C + g * Cg + c) * HW;
          const wBase = (m * Cg + c) * KH * KW;
          for (let ky = 0; ky < KH; ky++) {
            const oy0 = oyLo[ky];
            const oy1 = oyHi[ky];
            const iyOff = ky * dh - pt;
            for (let kx = 0; kx < KW; kx++) {
              const wv = w[wBase + ky * KW + kx];
              if (wv === 0) continue;
              const ox0 = oxLo[kx];
              const ox1 = oxHi[kx];
              const ixOff = kx * dw - pl;
              for (let oy = oy0; oy < oy1; oy++) {
                const xRow = xBase + (oy * sh + iyOff) * W + ixOff;
                const aRow = accBase + oy * OW;
                if (sw === 1) {
                  for (let ox = ox0; ox < ox1; ox++) acc[aRow + ox] += wv * xz[xRow + ox];
                } else {
                  for (let ox = ox0; ox < ox1; ox++) acc[aRow + ox] += wv * xz[xRow + ox * sw];
                }
              }
            }
          }
        }
      }
    }
  };

  const output = `y${opIndex}`;
  const wq = encodeWeights(w, enc);
  const ort: OrtPart = {
    node: {
      opType: 'ConvInteger',
      inputs: [inputName(xId), `w${opIndex}`, `zx${opIndex}`, `zw${opIndex}`],
      output,
      ints: {
        kernel_shape: [KH, KW],
        strides: [sh, sw],
        pads: [pt, pl, pb, pr],
        dilations: [dh, dw],
      },
      int: { group: op.group },
    },
    initializers: [
      { name: `w${opIndex}`, dims: [M, Cg, KH, KW], data: wq.data },
      { name: `zx${opIndex}`, dims: [], data: Uint8Array.of(zx) },
      { name: `zw${opIndex}`, dims: [], data: wq.zero },
    ],
    inputs: [{ name: inputName(xId), id: xId, dims: graphDims(xShape), shape: xShape }],
    output,
  };
  const c = (k: number) => model.consts.get(op.inputs[k]) as Int32Array;
  const rt = requantTable(c(2), c(3), c(4), M, zy, op.qmin, op.qmax);
  const requant = (acc: Int32Array, y: Uint8Array) => {
    let i = 0;
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++, i += P) requantRun(rt, m, acc, y, i, i + P);
    }
  };
  return { opIndex, macs: N * M * P * taps, taps, accLength: N * M * P, ort, dot, requant };
}

function elementCountOf(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Plans a matmul. `aShape`, `bShape` (batched unless constant) and `outShape` are at the run's batch size. */
export function planMatMul(
  model: Model,
  opIndex: number,
  aShape: number[],
  bShape: number[],
  outShape: number[],
  enc: WeightEncoding = 'u8',
): IntOpPlan {
  const op = model.ops[opIndex] as MatMulOp;
  const [aId, bId] = op.inputs;
  const bInfo = model.tensors[bId];
  const bConst = bInfo.kind === 'const';
  const za = model.tensors[aId].zeroPoint | 0;
  const zb = bInfo.zeroPoint | 0;
  const zy = model.tensors[op.output].zeroPoint | 0;
  const rank = outShape.length;
  const M = outShape[rank - 2];
  const N = outShape[rank - 1];
  const K = aShape[aShape.length - 1];
  const lead = outShape.slice(0, rank - 2);
  const T = lead.reduce((p, d) => p * d, 1);
  // The same index maps as the reference, so that even unusual shapes read the same bytes.
  const aMap = broadcastIndexMap(aShape.slice(0, -2), lead);
  const bMap = broadcastIndexMap(bShape.slice(0, -2), lead);
  const w = bConst ? (model.consts.get(bId) as Int8Array) : null;
  // b - zb for an activation b, allocated at the first TypeScript run.
  let bzBuf: Int16Array | null = null;
  const row = new Int32Array(N);

  const dot = (values: TensorData[], acc: Int32Array) => {
    const a = values[aId] as Uint8Array;
    let bz: Int8Array | Int16Array;
    if (w) {
      bz = w;
    } else {
      const b = values[bId] as Uint8Array;
      bzBuf ??= new Int16Array(b.length);
      bz = bzBuf;
      for (let i = 0; i < bz.length; i++) bz[i] = b[i] - zb;
    }
    for (let t = 0; t < T; t++) {
      const aBase = aMap[t] * M * K;
      const bBase = bMap[t] * K * N;
      for (let i = 0; i < M; i++) {
        row.fill(0);
        const aRow = aBase + i * K;
        for (let k = 0; k < K; k++) {
          const av = a[aRow + k] - za;
          if (av === 0) continue;
          const bRow = bBase + k * N;
          for (let j = 0; j < N; j++) row[j] += av * bz[bRow + j];
        }
        acc.set(row, (t * M + i) * N);
      }
    }
  };

  // onnxruntime's MatMulInteger broadcasts like numpy; use it only where that provably reads the
  // same elements as the reference's index maps.
  let ortOk = aShape.length >= 2 && bShape.length >= 2 && aShape[aShape.length - 2] === M;
  ortOk &&= bShape[bShape.length - 2] === K && bShape[bShape.length - 1] === N;
  if (ortOk) {
    try {
      ortOk = sameDims(broadcastShapes(aShape.slice(0, -2), bShape.slice(0, -2)), lead);
    } catch {
      ortOk = false;
    }
  }
  const output = `y${opIndex}`;
  let ort: OrtPart | null = null;
  if (ortOk) {
    // A constant 2-D b: feed a as one [rows, K] matrix (same bytes), which onnxruntime runs as a
    // single GEMM instead of one per leading index.
    const flat = bConst && bShape.length === 2 && aShape.length > 2;
    const aFeed = flat ? [T * M, K] : aShape;
    const aName = flat ? `${inputName(aId)}_2d` : inputName(aId);
    const inputs: OrtInput[] = [{ name: aName, id: aId, dims: graphDims(aFeed), shape: aFeed }];
    const initializers: OrtPart['initializers'] = [
      { name: `za${opIndex}`, dims: [], data: Uint8Array.of(za) },
    ];
    let bName: string;
    if (bConst) {
      bName = `w${opIndex}`;
      const wq = encodeWeights(w as Int8Array, enc);
      initializers.push({ name: bName, dims: bInfo.shape, data: wq.data });
      initializers.push({ name: `zb${opIndex}`, dims: [], data: wq.zero });
    } else {
      bName = inputName(bId);
      if (bId !== aId) inputs.push({ name: bName, id: bId, dims: graphDims(bShape), shape: bShape });
      initializers.push({ name: `zb${opIndex}`, dims: [], data: Uint8Array.of(zb) });
    }
    ort = {
      node: {
        opType: 'MatMulInteger',
        inputs: [aName, bName, `za${opIndex}`, `zb${opIndex}`],
        output,
      },
      initializers,
      inputs,
      output,
    };
  }
  const c = (k: number) => model.consts.get(op.inputs[k]) as Int32Array;
  const rt = requantTable(c(2), c(3), c(4), N, zy, op.qmin, op.qmax);
  return {
    opIndex,
    macs: T * M * N * K,
    taps: K,
    accLength: T * M * N,
    ort,
    dot,
    requant: (acc, y) => requantRows(rt, T * M, N, acc, y),
    direct:
      K === 1
        ? outerProduct(model, op, T, M, N, aMap, bMap, aShape.slice(0, -2), bShape.slice(0, -2), lead)
        : undefined,
  };
}

/**
 * matmul with K = 1 (an elementwise product in disguise, like a broadcast Mul): every output is a
 * function of one byte of a and one of b, so it is read from tables filled with the reference
 * formula: 256 entries per column for constant b, 65536 per column for activation b (N <= 4).
 */
function outerProduct(
  model: Model,
  op: MatMulOp,
  T: number,
  M: number,
  N: number,
  aMap: Int32Array,
  bMap: Int32Array,
  aLead: number[],
  bLead: number[],
  lead: number[],
): ((values: TensorData[], out: Uint8Array) => void) | undefined {
  const [aId, bId, biasId, multId, shiftId] = op.inputs;
  const bConst = model.tensors[bId].kind === 'const';
  if (!bConst && N > 4) return undefined;
  if (bConst && elementCountOf(model.tensors[bId].shape) !== N) return undefined;
  const za = model.tensors[aId].zeroPoint | 0;
  const zb = model.tensors[bId].zeroPoint | 0;
  const zy = model.tensors[op.output].zeroPoint | 0;
  const bias = model.consts.get(biasId) as Int32Array;
  const mult = model.consts.get(multId) as Int32Array;
  const shift = model.consts.get(shiftId) as Int32Array;
  const f = (j: number, av: number, bv: number) => {
    const c = mult.length > 1 ? j : 0;
    return clamp(zy + rq(bias[j] + (av - za) * (bv - zb), mult[c], shift[c]), op.qmin, op.qmax);
  };
  if (bConst) {
    const w = model.consts.get(bId) as Int8Array;
    const table = new Uint8Array(N * 256);
    for (let j = 0; j < N; j++) for (let av = 0; av < 256; av++) table[j * 256 + av] = f(j, av, w[j]);
    return (values, y) => {
      const a = values[aId] as Uint8Array;
      let o = 0;
      for (let t = 0; t < T; t++) {
        const aBase = aMap[t] * M;
        for (let i = 0; i < M; i++) {
          const av = a[aBase + i];
          for (let j = 0; j < N; j++) y[o++] = table[(j << 8) | av];
        }
      }
    };
  }
  const table = new Uint8Array(N * 65536);
  for (let j = 0; j < N; j++) {
    for (let av = 0; av < 256; av++)
      for (let bv = 0; bv < 256; bv++) table[(j << 16) | (av << 8) | bv] = f(j, av, bv);
  }
  if (M === 1 && N === 1) {
    // One output per pair of leading indices: a broadcast elementwise op over the leading dims.
    return compileBinary([aId, bId], table, aLead, bLead, lead);
  }
  return (values, y) => {
    const a = values[aId] as Uint8Array;
    const b = values[bId] as Uint8Array;
    let o = 0;
    for (let t = 0; t < T; t++) {
      const aBase = aMap[t] * M;
      const bBase = bMap[t] * N;
      for (let i = 0; i < M; i++) {
        const hi = a[aBase + i] << 8;
        for (let j = 0; j < N; j++) y[o++] = table[(j << 16) | hi | b[bBase + j]];
      }
    }
  };
}
