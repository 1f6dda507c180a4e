// TypeScript kernels of the fast backend for every op that does not go to onnxruntime.
//
// Each `compileX` runs once per (model, op, batch size): it precomputes the index arithmetic
// (window bounds, broadcast offsets, transpose bases, the 64 KiB table of an add) and returns an
// `exec` that writes the op's output into a caller-provided buffer. Every integer result is
// computed with the functions of ../arith.ts or with an expression proved equal to them, so the
// bytes equal the reference interpreter's (see test/differential).
import { clamp, divRound, floorDiv, isqrt, LAYERNORM_FRAC_BITS, pow2, rq, rshift } from '../arith.ts';
import type {
  AddOp,
  AvgPoolOp,
  ConcatOp,
  LayerNormOp,
  MaxPoolOp,
  ReduceMeanOp,
  TensorData,
  TransposeOp,
} from '../graph.ts';
import { TokenOutOfRangeError } from '../reference/shape.ts';
import { stridesOf } from '../tensor.ts';

/** Reads op inputs from `values` (indexed by tensor id) and writes the op output into `out`. */
export type Exec = (values: TensorData[], out: Uint8Array) => void;

function product(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/**
 * The flat offsets into a tensor of shape `inShape` broadcast to `outShape`, split into an outer
 * part (one base offset per row) and an inner run of `inner` elements with stride `step` (0 or the
 * contiguous stride). Uses the same effective strides as `broadcastIndexMap` in ../tensor.ts.
 */
export interface BroadcastRows {
  inner: number;
  bases: Int32Array;
  step: number;
}

function effectiveStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const inStrides = stridesOf(inShape);
  const eff = new Array<number>(rank).fill(0);
  for (let i = 0; i < rank; i++) {
    const j = inShape.length - rank + i;
    if (j >= 0 && inShape[j] !== 1) eff[i] = inStrides[j];
  }
  return eff;
}

/**
 * Splits the iteration over `outShape` into outer rows and a maximal inner run shared by all
 * operands: trailing axes merge while every operand's strides stay affine across them.
 */
export function broadcastRows(
  inShapes: readonly (readonly number[])[],
  outShape: readonly number[],
): BroadcastRows[] {
  const rank = outShape.length;
  const effs = inShapes.map((s) => effectiveStrides(s, outShape));
  let first = rank; // axes [first, rank) form the inner run
  let inner = 1;
  const step = effs.map(() => 0);
  if (rank > 0) {
    first = rank - 1;
    inner = outShape[rank - 1];
    for (let k = 0; k < effs.length; k++) step[k] = effs[k][rank - 1];
    while (first > 0) {
      const ax = first - 1;
      // Axis ax continues the run if, for every operand, its stride equals step * inner
      // (size-1 axes always merge).
      let ok = true;
      for (let k = 0; k < effs.length; k++) {
        if (outShape[ax] !== 1 && effs[k][ax] !== step[k] * inner) ok = false;
      }
      if (inner === 1) {
        // A run of length 1 can adopt any stride.
        ok = true;
        for (let k = 0; k < effs.length; k++) step[k] = effs[k][ax];
      }
      if (!ok) break;
      inner *= outShape[ax];
      first = ax;
    }
  }
  const outerDims = outShape.slice(0, first);
  const outer = product(outerDims);
  return effs.map((eff, k) => {
    const bases = new Int32Array(outer);
    const idx = new Array<number>(first).fill(0);
    let off = 0;
    for (let o = 0; o < outer; o++) {
      bases[o] = off;
      for (let ax = first - 1; ax >= 0; ax--) {
        idx[ax] += 1;
        off += eff[ax];
        if (idx[ax] < outerDims[ax]) break;
        off -= eff[ax] * idx[ax];
        idx[ax] = 0;
      }
    }
    return { inner, bases, step: step[k] };
  });
}

/**
 * add: the output depends only on the pair (a, b) of bytes, so the op compiles to a 256x256 table
 * filled with the reference formula, and the run is one table lookup per element.
 */
export function addTable(op: AddOp, za: number, zb: number, zy: number): Uint8Array {
  const table = new Uint8Array(65536);
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      const v = (a - za) * op.multA + (b - zb) * op.multB;
      table[(a << 8) | b] = clamp(zy + rshift(v, op.shift), op.qmin, op.qmax);
    }
  }
  return table;
}

/** `table` is `addTable(op, za, zb, zy)`. */
export function compileAdd(
  op: AddOp,
  table: Uint8Array,
  aShape: number[],
  bShape: number[],
  outShape: number[],
): Exec {
  const [ra, rb] = broadcastRows([aShape, bShape], outShape);
  const inner = ra.inner;
  const outer = ra.bases.length;
  const sa = ra.step;
  const sb = rb.step;
  const [ia, ib] = op.inputs;
  return (values, y) => {
    const a = values[ia] as Uint8Array;
    const b = values[ib] as Uint8Array;
    for (let o = 0; o < outer; o++) {
      let pa = ra.bases[o];
      let pb = rb.bases[o];
      const base = o * inner;
      if (sa === 1 && sb === 1) {
        for (let k = 0; k < inner; k++) y[base + k] = table[(a[pa + k] << 8) | b[pb + k]];
      } else if (sa === 0 && sb === 1) {
        const hi = a[pa] << 8;
        for (let k = 0; k < inner; k++) y[base + k] = table[hi | b[pb + k]];
      } else if (sa === 1 && sb === 0) {
        const lo = b[pb];
        for (let k = 0; k < inner; k++) y[base + k] = table[(a[pa + k] << 8) | lo];
      } else {
        for (let k = 0; k < inner; k++) {
          y[base + k] = table[(a[pa] << 8) | b[pb]];
          pa += sa;
          pb += sb;
        }
      }
    }
  };
}

export function compileLut(x: number, tableId: number): Exec {
  return (values, y) => {
    const xd = values[x] as Uint8Array;
    const t = values[tableId] as Uint8Array;
    for (let i = 0; i < y.length; i++) y[i] = t[xd[i]];
  };
}

interface Windows {
  y0: Int32Array;
  y1: Int32Array;
  x0: Int32Array;
  x1: Int32Array;
}

/** In-bounds row range [y0, y1) of each output row and column range [x0, x1) of each output column. */
function poolWindows(op: MaxPoolOp | AvgPoolOp, H: number, W: number, OH: number, OW: number): Windows {
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.strides;
  const [pt, pl] = op.pads;
  const w: Windows = {
    y0: new Int32Array(OH),
    y1: new Int32Array(OH),
    x0: new Int32Array(OW),
    x1: new Int32Array(OW),
  };
  for (let oy = 0; oy < OH; oy++) {
    w.y0[oy] = Math.max(0, oy * sh - pt);
    w.y1[oy] = Math.min(H, oy * sh - pt + kh);
  }
  for (let ox = 0; ox < OW; ox++) {
    w.x0[ox] = Math.max(0, ox * sw - pl);
    w.x1[ox] = Math.min(W, ox * sw - pl + kw);
  }
  return w;
}

export function compileMaxPool(op: MaxPoolOp, xShape: number[], outShape: number[]): Exec {
  const [N, C, H, W] = xShape;
  const [, , OH, OW] = outShape;
  const { y0, y1, x0, x1 } = poolWindows(op, H, W, OH, OW);
  const planes = N * C;
  const xId = op.inputs[0];
  return (values, y) => {
    const x = values[xId] as Uint8Array;
    let o = 0;
    for (let p = 0; p < planes; p++) {
      const plane = p * H * W;
      for (let oy = 0; oy < OH; oy++) {
        const ya = y0[oy];
        const yb = y1[oy];
        for (let ox = 0; ox < OW; ox++) {
          const xa = x0[ox];
          const xb = x1[ox];
          let m = 0;
          for (let iy = ya; iy < yb; iy++) {
            const row = plane + iy * W;
            for (let ix = xa; ix < xb; ix++) {
              const v = x[row + ix];
              if (v > m) m = v;
            }
          }
          y[o++] = m;
        }
      }
    }
  };
}

export function compileAvgPool(
  op: AvgPoolOp,
  xShape: number[],
  outShape: number[],
  zx: number,
  zy: number,
): Exec {
  const [N, C, H, W] = xShape;
  const [, , OH, OW] = outShape;
  const { y0, y1, x0, x1 } = poolWindows(op, H, W, OH, OW);
  const full = op.kernel[0] * op.kernel[1];
  // The reference divisor count * 2^shift of every window position.
  const q = new Float64Array(OH * OW);
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      const count = op.countIncludePad ? full : (y1[oy] - y0[oy]) * (x1[ox] - x0[ox]);
      q[oy * OW + ox] = count * pow2(op.shift);
    }
  }
  const planes = N * C;
  const mult = op.mult;
  const xId = op.inputs[0];
  return (values, y) => {
    const x = values[xId] as Uint8Array;
    let o = 0;
    for (let p = 0; p < planes; p++) {
      const plane = p * H * W;
      for (let oy = 0; oy < OH; oy++) {
        const ya = y0[oy];
        const yb = y1[oy];
        for (let ox = 0; ox < OW; ox++) {
          const xa = x0[ox];
          const xb = x1[ox];
          let sum = 0;
          for (let iy = ya; iy < yb; iy++) {
            const row = plane + iy * W;
            for (let ix = xa; ix < xb; ix++) sum += x[row + ix];
          }
          sum -= zx * (yb - ya) * (xb - xa);
          y[o++] = clamp(zy + divRound(sum * mult, q[oy * OW + ox]), 0, 255);
        }
      }
    }
  };
}

export function compileReduceMean(op: ReduceMeanOp, xShape: number[], zx: number, zy: number): Exec {
  const outer = product(xShape.slice(0, op.axis));
  const len = xShape[op.axis];
  const inner = product(xShape.slice(op.axis + 1));
  const divisor = len * pow2(op.shift);
  const mult = op.mult;
  const sums = new Int32Array(inner);
  const offset = zx * len;
  const xId = op.inputs[0];
  return (values, y) => {
    const x = values[xId] as Uint8Array;
    for (let o = 0; o < outer; o++) {
      sums.fill(0);
      for (let r = 0; r < len; r++) {
        const row = (o * len + r) * inner;
        for (let i = 0; i < inner; i++) sums[i] += x[row + i];
      }
      for (let i = 0; i < inner; i++) {
        y[o * inner + i] = clamp(zy + divRound((sums[i] - offset) * mult, divisor), 0, 255);
      }
    }
  };
}

export function compileSoftmax(xShape: number[], xId: number, tableId: number): Exec {
  const L = xShape[xShape.length - 1];
  const e = new Int32Array(L);
  return (values, y) => {
    const x = values[xId] as Uint8Array;
    const table = values[tableId] as Int32Array;
    const rows = x.length / L;
    for (let r = 0; r < rows; r++) {
      const base = r * L;
      let m = 0;
      for (let i = 0; i < L; i++) if (x[base + i] > m) m = x[base + i];
      let S = 0;
      for (let i = 0; i < L; i++) {
        const v = table[m - x[base + i]];
        e[i] = v;
        S += v;
      }
      for (let i = 0; i < L; i++) y[base + i] = divRound(255 * e[i], S);
    }
  };
}

export function compileLayerNorm(op: LayerNormOp, xShape: number[], zx: number, zy: number): Exec {
  const D = xShape[xShape.length - 1];
  const one = pow2(LAYERNORM_FRAC_BITS);
  const c = new Int32Array(D);
  const [xId, gId, bId] = op.inputs;
  const { eps, mult, shift, qmin, qmax } = op;
  return (values, y) => {
    const x = values[xId] as Uint8Array;
    const gamma = values[gId] as Int32Array;
    const beta = values[bId] as Int32Array;
    const rows = x.length / D;
    for (let r = 0; r < rows; r++) {
      const base = r * D;
      let S = 0;
      for (let i = 0; i < D; i++) S += x[base + i] - zx;
      let Q = 0;
      for (let i = 0; i < D; i++) {
        const ci = D * (x[base + i] - zx) - S;
        c[i] = ci;
        Q += ci * ci;
      }
      const sigma = isqrt(floorDiv(Q, D) + eps);
      for (let i = 0; i < D; i++) {
        const n = sigma > 0 ? divRound(c[i] * one, sigma) : 0;
        y[base + i] = clamp(zy + rq(n * gamma[i] + beta[i], mult, shift), qmin, qmax);
      }
    }
  };
}

export function compileGather(tableShape: number[], tableId: number, idsId: number): Exec {
  const [V, D] = tableShape;
  return (values, y) => {
    const table = values[tableId] as Uint8Array;
    const ids = values[idsId];
    for (let p = 0; p < ids.length; p++) {
      const id = ids[p];
      if (id < 0 || id >= V) throw new TokenOutOfRangeError(id, V, p);
      const src = id * D;
      const dst = p * D;
      if (D < 32) {
        for (let d = 0; d < D; d++) y[dst + d] = table[src + d];
      } else {
        y.set(table.subarray(src, src + D), dst);
      }
    }
  };
}

export function compileTranspose(op: TransposeOp, xShape: number[], outShape: number[]): Exec {
  const inStrides = stridesOf(xShape);
  const s = op.perm.map((p) => inStrides[p]);
  const rank = outShape.length;
  const inner = outShape[rank - 1];
  const step = s[rank - 1];
  const outerDims = outShape.slice(0, rank - 1);
  const outer = product(outerDims);
  const bases = new Int32Array(outer);
  const idx = new Array<number>(rank - 1).fill(0);
  let off = 0;
  for (let o = 0; o < outer; o++) {
    bases[o] = off;
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax] += 1;
      off += s[ax];
      if (idx[ax] < outerDims[ax]) break;
      off -= s[ax] * idx[ax];
      idx[ax] = 0;
    }
  }
  const xId = op.inputs[0];
  return (values, y) => {
    const x = values[xId] as Uint8Array;
    let o = 0;
    for (let r = 0; r < outer; r++) {
      let p = bases[r];
      for (let k = 0; k < inner; k++) {
        y[o++] = x[p];
        p += step;
      }
    }
  };
}

export function compileConcat(op: ConcatOp, inShapes: number[][], outShape: number[]): Exec {
  const outer = product(outShape.slice(0, op.axis));
  const inner = product(outShape.slice(op.axis + 1));
  const rowLen = outShape[op.axis] * inner;
  const lens = inShapes.map((s) => s[op.axis] * inner);
  const ids = op.inputs;
  return (values, y) => {
    let offset = 0;
    for (let k = 0; k < ids.length; k++) {
      const x = values[ids[k]] as Uint8Array;
      const len = lens[k];
      for (let o = 0; o < outer; o++) y.set(x.subarray(o * len, (o + 1) * len), o * rowLen + offset);
      offset += len;
    }
  };
}
