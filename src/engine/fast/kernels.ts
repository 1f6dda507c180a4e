// TypeScript kernels of the fast backend for the elementwise, pooling and mean ops (softmax and
// layernorm are in normalize.ts, gather, transpose and concat in movement.ts).
//
// Each `compileX` runs once per (model, op, batch size): it precomputes the index arithmetic
// (window bounds, broadcast offsets, transpose bases, the 64 KiB table of an add) and returns an
// `exec` that writes the op's output into a caller-provided buffer. Every integer result is
// computed with the functions of ../arith.ts or with an expression proved equal to them, so the
// bytes equal the reference interpreter's (see test/differential).
import { clamp, divRound, pow2, rq, rshift } from '../arith.ts';
import type { AddOp, AvgPoolOp, MaxPoolOp, MulOp, ReduceMeanOp, TensorData } from '../graph.ts';
import { odometerOffsets, stridesOf } from '../tensor.ts';

/** Reads op inputs from `values` (indexed by tensor id) and writes the op output into `out`. */
export type Exec = (values: TensorData[], out: Uint8Array) => void;

export function product(dims: readonly number[]): number {
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
  return effs.map((eff, k) => ({ inner, bases: odometerOffsets(outerDims, eff), step: step[k] }));
}

/**
 * add and mul: the output depends only on the pair (a, b) of bytes, so the op compiles to a
 * 256x256 table filled with the reference formula, and the run is one lookup per element.
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

export function mulTable(op: MulOp, za: number, zb: number, zy: number): Uint8Array {
  const table = new Uint8Array(65536);
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      table[(a << 8) | b] = clamp(zy + rq((a - za) * (b - zb), op.mult, op.shift), op.qmin, op.qmax);
    }
  }
  return table;
}

/** y = table[a << 8 | b] with numpy broadcasting over inputs `ids` = [a, b] (tables from addTable or mulTable). */
export function compileBinary(
  ids: readonly number[],
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
  const [ia, ib] = ids;
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

/** Whether every window lies fully inside the input (kh x kw in-bounds taps). */
function allFull(
  y0: Int32Array,
  y1: Int32Array,
  x0: Int32Array,
  x1: Int32Array,
  kh: number,
  kw: number,
): boolean {
  for (let i = 0; i < y0.length; i++) if (y1[i] - y0[i] !== kh) return false;
  for (let i = 0; i < x0.length; i++) if (x1[i] - x0[i] !== kw) return false;
  return true;
}

// Branchless max of two bytes: m - ((m - v) & ((m - v) >> 31)) is v if m < v, else m. (Pooling
// inputs are data-dependent, so a compare-and-branch mispredicts about half the time.)

export function compileMaxPool(op: MaxPoolOp, xShape: number[], outShape: number[]): Exec {
  const [N, C, H, W] = xShape;
  const [, , OH, OW] = outShape;
  const { y0, y1, x0, x1 } = poolWindows(op, H, W, OH, OW);
  const planes = N * C;
  const xId = op.inputs[0];
  const two = op.kernel[0] === 2 && op.kernel[1] === 2;
  if (two && allFull(y0, y1, x0, x1, 2, 2)) {
    const sw = op.strides[1];
    return (values, y) => {
      const x = values[xId] as Uint8Array;
      let o = 0;
      for (let p = 0; p < planes; p++) {
        for (let oy = 0; oy < OH; oy++) {
          let i = p * H * W + y0[oy] * W + x0[0];
          for (let ox = 0; ox < OW; ox++, i += sw) {
            const a = x[i];
            const b = x[i + 1];
            const c = x[i + W];
            const d = x[i + W + 1];
            const ab = a - ((a - b) & ((a - b) >> 31));
            const cd = c - ((c - d) & ((c - d) >> 31));
            y[o++] = ab - ((ab - cd) & ((ab - cd) >> 31));
          }
        }
      }
    };
  }
  return (values, y) => {
    const x = values[xId] as Uint8Array;
    let o = 0;
    for (let p = 0; p < planes; p++) {
      const plane = p * H * W;
      for (let oy = 0; oy < OH; oy++) {
        const ya = y0[oy];
        const yb = y1[oy];
        const fullRows = two && yb - ya === 2;
        for (let ox = 0; ox < OW; ox++) {
          const xa = x0[ox];
          const xb = x1[ox];
          let m = 0;
          if (fullRows && xb - xa === 2) {
            const i = plane + ya * W + xa;
            const a = x[i];
            const b = x[i + 1];
            const c = x[i + W];
            const d = x[i + W + 1];
            const ab = a - ((a - b) & ((a - b) >> 31));
            const cd = c - ((c - d) & ((c - d) >> 31));
            m = ab - ((ab - cd) & ((ab - cd) >> 31));
          } else {
            for (let iy = ya; iy < yb; iy++) {
              const row = plane + iy * W;
              for (let ix = xa; ix < xb; ix++) {
                const v = x[row + ix];
                m -= (m - v) & ((m - v) >> 31);
              }
            }
          }
          y[o++] = m;
        }
      }
    }
  };
}

/** Raw sums of n bytes span [0, 255n]; tables are used up to this n (65536 entries). */
const MAX_TABLE_TAPS = 257;

/**
 * The output of a mean over n in-bounds bytes as a function of their raw sum Σx, for divisor q:
 * table[Σx] = clamp(zy + divRound((Σx - n*zx) * mult, q), 0, 255), the reference formula.
 */
function meanTable(n: number, q: number, zx: number, zy: number, mult: number): Uint8Array {
  const t = new Uint8Array(255 * n + 1);
  for (let sum = 0; sum <= 255 * n; sum++) t[sum] = clamp(zy + divRound((sum - n * zx) * mult, q), 0, 255);
  return t;
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
  // Per window position: the number of in-bounds taps n, the reference divisor q = count * 2^shift,
  // and (when n is small enough) the offset of its table in `tables`.
  const q = new Float64Array(OH * OW);
  const offsets = new Int32Array(OH * OW);
  const byKey = new Map<string, number>();
  const parts: Uint8Array[] = [];
  let size = 0;
  let useTables = true;
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      const n = (y1[oy] - y0[oy]) * (x1[ox] - x0[ox]);
      const pos = oy * OW + ox;
      q[pos] = (op.countIncludePad ? full : n) * pow2(op.shift);
      if (n > MAX_TABLE_TAPS) {
        useTables = false;
        continue;
      }
      const key = `${n},${q[pos]}`;
      let off = byKey.get(key);
      if (off === undefined) {
        off = size;
        const t = meanTable(n, q[pos], zx, zy, op.mult);
        parts.push(t);
        size += t.length;
        byKey.set(key, off);
      }
      offsets[pos] = off;
    }
  }
  const tables = new Uint8Array(useTables ? size : 0);
  if (useTables) {
    let o = 0;
    for (const t of parts) {
      tables.set(t, o);
      o += t.length;
    }
  }
  const planes = N * C;
  const mult = op.mult;
  const xId = op.inputs[0];
  if (
    useTables &&
    op.kernel[0] === 2 &&
    op.kernel[1] === 2 &&
    allFull(y0, y1, x0, x1, 2, 2) &&
    byKey.size === 1
  ) {
    const sw = op.strides[1];
    return (values, y) => {
      const x = values[xId] as Uint8Array;
      let o = 0;
      for (let p = 0; p < planes; p++) {
        for (let oy = 0; oy < OH; oy++) {
          let i = p * H * W + y0[oy] * W + x0[0];
          for (let ox = 0; ox < OW; ox++, i += sw) y[o++] = tables[x[i] + x[i + 1] + x[i + W] + x[i + W + 1]];
        }
      }
    };
  }
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
          if (yb - ya === 2 && xb - xa === 2) {
            const i = plane + ya * W + xa;
            sum = x[i] + x[i + 1] + x[i + W] + x[i + W + 1];
          } else {
            for (let iy = ya; iy < yb; iy++) {
              const row = plane + iy * W;
              for (let ix = xa; ix < xb; ix++) sum += x[row + ix];
            }
          }
          const pos = oy * OW + ox;
          if (useTables) {
            y[o++] = tables[offsets[pos] + sum];
          } else {
            sum -= zx * (yb - ya) * (xb - xa);
            y[o++] = clamp(zy + divRound(sum * mult, q[pos]), 0, 255);
          }
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
  const table = len <= MAX_TABLE_TAPS ? meanTable(len, divisor, zx, zy, mult) : null;
  const xId = op.inputs[0];
  return (values, y) => {
    const x = values[xId] as Uint8Array;
    for (let o = 0; o < outer; o++) {
      sums.fill(0);
      for (let r = 0; r < len; r++) {
        const row = (o * len + r) * inner;
        for (let i = 0; i < inner; i++) sums[i] += x[row + i];
      }
      if (table) {
        for (let i = 0; i < inner; i++) y[o * inner + i] = table[sums[i]];
      } else {
        for (let i = 0; i < inner; i++) {
          y[o * inner + i] = clamp(zy + divRound((sums[i] - offset) * mult, divisor), 0, 255);
        }
      }
    }
  };
}
