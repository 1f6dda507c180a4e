// Float reference of the neural-network ONNX ops (convolution, pooling, matrix products,
// normalization, reductions).
import { UnsupportedOpError } from '../../errors/base.ts';
import type { OnnxNode } from '../parse.ts';
import { attrFloat, attrInt, attrInts } from './attrs.ts';
import { outSize, type Window, windowOf } from './geometry.ts';
import {
  alloc,
  broadcast,
  broadcastMap,
  type FTensor,
  intsOf,
  normAxis,
  permute,
  sizeOf,
  stridesOf,
} from './tensor.ts';

function unsupported(node: OnnxNode, why: string): never {
  throw new UnsupportedOpError(`Node "${node.name}" (${node.opType}) is not supported: ${why}`);
}

/** y[out + ox] += wv * x[at + ox * sw] for ox in [from, to). */
function rowTap(
  y: Float64Array,
  out: number,
  x: Float64Array,
  at: number,
  wv: number,
  sw: number,
  from: number,
  to: number,
): void {
  for (let ox = from; ox < to; ox++) y[out + ox] += wv * x[at + ox * sw];
}

export function conv(node: OnnxNode, x: FTensor, w: FTensor, b?: FTensor): FTensor {
  if (w.shape.length !== 4) unsupported(node, 'only 2-D convolutions are supported.');
  const [N, C, H, W] = x.shape;
  const [M, Cg, KH, KW] = w.shape;
  const group = attrInt(node, 'group', 1);
  if (C !== Cg * group || M % group !== 0)
    unsupported(node, `channels ${C} do not match weight [${w.shape}] with group ${group}.`);
  const win = windowOf(node, x.shape, [KH, KW]);
  const OH = outSize(H, win, 0);
  const OW = outSize(W, win, 1);
  const [sh, sw] = win.strides;
  const [pt, pl] = win.pads;
  const [dh, dw] = win.dilations;
  const Mg = M / group;
  const y = alloc(N * M * OH * OW);
  // One output row at a time, four taps per pass over it: the same taps, added in the same order,
  // as the textbook loop, but the inner loop is contiguous and loads and stores each output a
  // quarter as often, which matters for 224x224 networks (calibration runs every sample).
  const xd = x.data;
  const wd = w.data;
  // Output columns whose tap ix = ox*sw - pl + kx*dw lies inside [0, W), per kx.
  const first = new Int32Array(KW);
  const end = new Int32Array(KW);
  for (let kx = 0; kx < KW; kx++) {
    const off = kx * dw - pl;
    first[kx] = Math.max(0, Math.ceil(-off / sw));
    end[kx] = Math.max(first[kx], Math.min(OW, Math.floor((W - 1 - off) / sw) + 1));
  }
  const taps = Cg * KH * KW;
  const tapX = new Int32Array(taps);
  const tapW = new Float64Array(taps);
  const tap0 = new Int32Array(taps);
  const tap1 = new Int32Array(taps);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const g = Math.floor(m / Mg);
      const bias = b ? b.data[m] : 0;
      for (let oy = 0; oy < OH; oy++) {
        // The taps of this output row: input offset of column 0, weight, valid columns.
        let t = 0;
        for (let c = 0; c < Cg; c++) {
          const plane = (n * C + g * Cg + c) * H * W;
          for (let ky = 0; ky < KH; ky++) {
            const iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < KW; kx++) {
              if (first[kx] >= end[kx]) continue;
              tapX[t] = plane + iy * W + kx * dw - pl;
              tapW[t] = wd[((m * Cg + c) * KH + ky) * KW + kx];
              tap0[t] = first[kx];
              tap1[t] = end[kx];
              t++;
            }
          }
        }
        const out = ((n * M + m) * OH + oy) * OW;
        y.fill(bias, out, out + OW);
        let k = 0;
        for (; k + 4 <= t; k += 4) {
          const x0 = tapX[k];
          const x1 = tapX[k + 1];
          const x2 = tapX[k + 2];
          const x3 = tapX[k + 3];
          const w0 = tapW[k];
          const w1 = tapW[k + 1];
          const w2 = tapW[k + 2];
          const w3 = tapW[k + 3];
          const lo = Math.max(tap0[k], tap0[k + 1], tap0[k + 2], tap0[k + 3]);
          const hi = Math.min(tap1[k], tap1[k + 1], tap1[k + 2], tap1[k + 3]);
          for (let ox = lo; ox < hi; ox++) {
            const i = ox * sw;
            // One add at a time, in tap order: the sums, and so the calibrated ranges and the
            // model ID, stay those of the textbook loop.
            let v = y[out + ox];
            v += w0 * xd[x0 + i];
            v += w1 * xd[x1 + i];
            v += w2 * xd[x2 + i];
            v += w3 * xd[x3 + i];
            y[out + ox] = v;
          }
          // The columns some of the four taps miss (near the left and right borders).
          if (lo >= hi) {
            for (let j = k; j < k + 4; j++) rowTap(y, out, xd, tapX[j], tapW[j], sw, tap0[j], tap1[j]);
          } else {
            for (let j = k; j < k + 4; j++) {
              rowTap(y, out, xd, tapX[j], tapW[j], sw, tap0[j], lo);
              rowTap(y, out, xd, tapX[j], tapW[j], sw, hi, tap1[j]);
            }
          }
        }
        for (; k < t; k++) rowTap(y, out, xd, tapX[k], tapW[k], sw, tap0[k], tap1[k]);
      }
    }
  }
  return { shape: [N, M, OH, OW], data: y, dtype: 'float' };
}

/** Per-channel scale and shift of an inference BatchNormalization. */
export function bnAffine(node: OnnxNode, scale: FTensor, bias: FTensor, mean: FTensor, variance: FTensor) {
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const C = scale.data.length;
  const a = new Float64Array(C);
  const c = new Float64Array(C);
  for (let i = 0; i < C; i++) {
    a[i] = scale.data[i] / Math.sqrt(variance.data[i] + eps);
    c[i] = bias.data[i] - mean.data[i] * a[i];
  }
  return { a, c };
}

export function batchNorm(node: OnnxNode, x: FTensor, ins: FTensor[]): FTensor {
  const { a, c } = bnAffine(node, ins[0], ins[1], ins[2], ins[3]);
  const C = x.shape[1];
  const inner = sizeOf(x.shape.slice(2));
  const y = alloc(x.data.length);
  for (let i = 0; i < y.length; i++) {
    const ch = Math.floor(i / inner) % C;
    y[i] = x.data[i] * a[ch] + c[ch];
  }
  return { shape: x.shape, data: y, dtype: 'float' };
}

/** Pool geometry in IR form; GlobalXxxPool uses the full plane. */
export function poolWindow(node: OnnxNode, shape: readonly number[]): Window {
  if (node.opType.startsWith('Global')) {
    if (shape.length !== 4) unsupported(node, 'only NCHW inputs are supported.');
    return {
      kernel: [shape[2], shape[3]],
      strides: [1, 1],
      pads: [0, 0, 0, 0],
      dilations: [1, 1],
      ceilPadded: false,
    };
  }
  const k = attrInts(node, 'kernel_shape');
  if (k?.length !== 2) unsupported(node, 'only 2-D pooling is supported.');
  const win = windowOf(node, shape, [k[0], k[1]]);
  if (win.dilations[0] !== 1 || win.dilations[1] !== 1)
    unsupported(node, 'pooling dilations are not supported.');
  if (node.opType === 'AveragePool' && win.ceilPadded && attrInt(node, 'count_include_pad', 0) === 1) {
    unsupported(node, 'ceil_mode with count_include_pad=1 is not supported.');
  }
  return win;
}

export function pool(node: OnnxNode, x: FTensor): FTensor {
  const win = poolWindow(node, x.shape);
  const [N, C, H, W] = x.shape;
  const OH = outSize(H, win, 0);
  const OW = outSize(W, win, 1);
  const isMax = node.opType.endsWith('MaxPool');
  const includePad = node.opType === 'AveragePool' && attrInt(node, 'count_include_pad', 0) === 1;
  const [kh, kw] = win.kernel;
  const y = alloc(N * C * OH * OW);
  for (let p = 0; p < N * C; p++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = Math.max(0, oy * win.strides[0] - win.pads[0]);
      const y1 = Math.min(H, oy * win.strides[0] - win.pads[0] + kh);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = Math.max(0, ox * win.strides[1] - win.pads[1]);
        const x1 = Math.min(W, ox * win.strides[1] - win.pads[1] + kw);
        let acc = isMax ? Number.NEGATIVE_INFINITY : 0;
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const v = x.data[(p * H + iy) * W + ix];
            acc = isMax ? Math.max(acc, v) : acc + v;
          }
        }
        const count = includePad ? kh * kw : (y1 - y0) * (x1 - x0);
        y[(p * OH + oy) * OW + ox] = isMax ? acc : acc / count;
      }
    }
  }
  return { shape: [N, C, OH, OW], data: y, dtype: 'float' };
}

/** numpy.matmul. */
export function matmul(a: FTensor, b: FTensor): FTensor {
  const a2 = a.shape.length === 1 ? { ...a, shape: [1, a.shape[0]] } : a;
  const b2 = b.shape.length === 1 ? { ...b, shape: [b.shape[0], 1] } : b;
  const M = a2.shape[a2.shape.length - 2];
  const K = a2.shape[a2.shape.length - 1];
  const N = b2.shape[b2.shape.length - 1];
  if (b2.shape[b2.shape.length - 2] !== K)
    throw new UnsupportedOpError(`MatMul of [${a.shape}] and [${b.shape}]: inner sizes differ.`);
  const lead = broadcast(a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const aMap = broadcastMap(a2.shape.slice(0, -2), lead);
  const bMap = broadcastMap(b2.shape.slice(0, -2), lead);
  const batches = sizeOf(lead);
  const y = alloc(batches * M * N);
  for (let t = 0; t < batches; t++) {
    const aBase = aMap[t] * M * K;
    const bBase = bMap[t] * K * N;
    for (let i = 0; i < M; i++) {
      for (let k = 0; k < K; k++) {
        const av = a2.data[aBase + i * K + k];
        if (av === 0) continue;
        const row = bBase + k * N;
        const yRow = (t * M + i) * N;
        for (let j = 0; j < N; j++) y[yRow + j] += av * b2.data[row + j];
      }
    }
  }
  let shape = [...lead, M, N];
  if (a.shape.length === 1) shape = shape.filter((_, i) => i !== shape.length - 2);
  if (b.shape.length === 1) shape = shape.slice(0, -1);
  return { shape, data: y, dtype: 'float' };
}

export function transpose2d(t: FTensor): FTensor {
  return permute(t, [1, 0]);
}

export function gemm(node: OnnxNode, a: FTensor, b: FTensor, c?: FTensor): FTensor {
  const A = attrInt(node, 'transA', 0) ? transpose2d(a) : a;
  const B = attrInt(node, 'transB', 0) ? transpose2d(b) : b;
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const y = matmul(A, B);
  const cMap = c ? broadcastMap(c.shape, y.shape) : null;
  for (let i = 0; i < y.data.length; i++)
    y.data[i] = alpha * y.data[i] + (c && cMap ? beta * c.data[cMap[i]] : 0);
  return y;
}

/** Applies `fn` to each row of length `len` laid out contiguously (the last axis). */
function rows(x: FTensor, len: number, fn: (src: Float64Array, dst: Float64Array) => void): FTensor {
  const y = alloc(x.data.length);
  for (let r = 0; r < x.data.length / len; r++)
    fn(x.data.subarray(r * len, (r + 1) * len), y.subarray(r * len, (r + 1) * len));
  return { shape: x.shape, data: y, dtype: 'float' };
}

export function softmax(node: OnnxNode, x: FTensor, opset: number): FTensor {
  const rank = x.shape.length;
  const log = node.opType === 'LogSoftmax';
  const axis = normAxis(attrInt(node, 'axis', opset < 13 ? 1 : -1), rank);
  const last = opset < 13 ? true : axis === rank - 1;
  const moved = last ? x : permute(x, swapLast(rank, axis));
  const len = opset < 13 ? sizeOf(x.shape.slice(axis)) : x.shape[axis];
  const y = rows(moved, len, (src, dst) => {
    let m = Number.NEGATIVE_INFINITY;
    for (const v of src) m = Math.max(m, v);
    let s = 0;
    for (let i = 0; i < src.length; i++) s += Math.exp(src[i] - m);
    for (let i = 0; i < src.length; i++) dst[i] = log ? src[i] - m - Math.log(s) : Math.exp(src[i] - m) / s;
  });
  return last ? y : permute(y, swapLast(rank, axis));
}

export function swapLast(rank: number, axis: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[axis] = rank - 1;
  perm[rank - 1] = axis;
  return perm;
}

export function layerNorm(node: OnnxNode, x: FTensor, scale: FTensor, bias?: FTensor): FTensor {
  const axis = normAxis(attrInt(node, 'axis', -1), x.shape.length);
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const len = sizeOf(x.shape.slice(axis));
  const sMap = broadcastMap(scale.shape, x.shape.slice(axis));
  const bMap = bias ? broadcastMap(bias.shape, x.shape.slice(axis)) : null;
  return rows(x, len, (src, dst) => {
    let mean = 0;
    for (const v of src) mean += v;
    mean /= len;
    let variance = 0;
    for (const v of src) variance += (v - mean) ** 2;
    variance /= len;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < len; i++)
      dst[i] = (src[i] - mean) * inv * scale.data[sMap[i]] + (bias && bMap ? bias.data[bMap[i]] : 0);
  });
}

/** The reduced axes of a Reduce* node (attribute, or second input from opset 18 / ReduceSum 13). */
export function reduceAxes(node: OnnxNode, rank: number, axesInput: FTensor | undefined): number[] {
  const raw = axesInput ? intsOf(axesInput) : attrInts(node, 'axes');
  if (!raw || raw.length === 0) {
    return attrInt(node, 'noop_with_empty_axes', 0) ? [] : Array.from({ length: rank }, (_, i) => i);
  }
  return [...new Set(raw.map((a) => normAxis(a, rank)))].sort((p, q) => p - q);
}

export function reduce(node: OnnxNode, x: FTensor, axesInput: FTensor | undefined): FTensor {
  const rank = x.shape.length;
  const axes = reduceAxes(node, rank, axesInput);
  const keep = attrInt(node, 'keepdims', 1) === 1;
  const outKeep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const n = sizeOf(outKeep);
  const op = node.opType;
  const init =
    op === 'ReduceMax' ? Number.NEGATIVE_INFINITY : op === 'ReduceMin' ? Number.POSITIVE_INFINITY : 0;
  const acc = alloc(n).fill(init);
  const xs = stridesOf(x.shape);
  const os = stridesOf(outKeep);
  for (let i = 0; i < x.data.length; i++) {
    let o = 0;
    for (let d = 0; d < rank; d++) if (!axes.includes(d)) o += (Math.floor(i / xs[d]) % x.shape[d]) * os[d];
    const v = x.data[i];
    if (op === 'ReduceMax') acc[o] = Math.max(acc[o], v);
    else if (op === 'ReduceMin') acc[o] = Math.min(acc[o], v);
    else if (op === 'ReduceSumSquare' || op === 'ReduceL2') acc[o] += v * v;
    else acc[o] += v;
  }
  const count = x.data.length / n;
  if (op === 'ReduceMean') for (let i = 0; i < n; i++) acc[i] /= count;
  if (op === 'ReduceL2') for (let i = 0; i < n; i++) acc[i] = Math.sqrt(acc[i]);
  const shape = keep ? outKeep : x.shape.filter((_, i) => !axes.includes(i));
  return { shape, data: acc, dtype: x.dtype };
}
