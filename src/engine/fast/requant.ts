// Requantization of int32 accumulators in int32 arithmetic, equal to the reference's
//   y = clamp(zy + rq(A, mult, shift), qmin, qmax),  A = acc + bias,  rq(v, m, s) = floor((v*m + 2^(s-1)) / 2^s)
// (arith.ts; for s = 0, rq = v*m) for every |A| < 2^31, 0 <= mult < 2^15, 0 <= shift <= 40.
//
// V8 runs int32 shifts and multiplies much faster than the double floor/divide of the reference,
// so each channel picks one of these exact forms at plan time:
// - CONST (mult = 0): rq = 0, y is a constant.
// - DIRECT (shift <= 16): rq is non-decreasing in A, so A can first be clamped to [aMin, aMax],
//   the largest A whose rq is still <= qmin - zy and the smallest whose rq is >= qmax - zy (found
//   by binary search with arith.rq itself); that changes no output. On that range
//   |A*mult + 2^(s-1)| < 2^31 (checked), so rq = (A*mult + h) >> s exactly (>> is floor division).
// - SPLIT (shift >= 17): with A = Ah*2^16 + Al, 0 <= Al < 2^16 and c = 2^(s-17),
//   A*mult + 2^(s-1) = 2^16 * (Ah*mult + c) + Al*mult, and floor(floor(z) / 2^k) = floor(z / 2^k), so
//   rq = (Ah*mult + c + ((Al*mult) >> 16)) >> (s - 16). Every term fits in int32:
//   |Ah*mult| < 2^30, c <= 2^23, Al*mult < 2^31.
// - DOUBLE: the reference formula in doubles (only if a check above fails; not expected).
// The final clamp to [lo, hi] = [qmin - zy, qmax - zy] is branchless in the SPLIT loops, because
// after a ReLU-like clamp about half the outputs saturate and a branch would mispredict:
// max(r, lo) = r - ((r - lo) & ((r - lo) >> 31)) and min(u, hi) = hi + ((u - hi) & ((u - hi) >> 31)),
// exact because |r| < 2^30 and |lo|, |hi| <= 255, so no difference overflows int32.
import { clamp, rq } from '../arith.ts';

export const CONST = 0;
export const DIRECT = 1;
export const SPLIT = 2;
export const DOUBLE = 3;

/** Per-channel requantization constants (struct of arrays). */
export interface RequantTable {
  mode: Uint8Array;
  bias: Int32Array;
  mult: Int32Array;
  shift: Int32Array;
  /** DIRECT: 2^(s-1) or 0. SPLIT: 2^(s-17). CONST: the output value. */
  add: Int32Array;
  aMin: Int32Array;
  aMax: Int32Array;
  lo: number;
  hi: number;
  zy: number;
}

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

/** Largest A in [I32_MIN, I32_MAX] with f(A) true, for f true-then-false (f(I32_MIN) must hold). */
function lastTrue(f: (a: number) => boolean): number {
  let lo = I32_MIN;
  let hi = I32_MAX;
  if (f(hi)) return hi;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (f(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Constants for n channels; mult and shift have length n or 1 (broadcast). */
export function requantTable(
  bias: Int32Array,
  mult: Int32Array,
  shift: Int32Array,
  n: number,
  zy: number,
  qmin: number,
  qmax: number,
): RequantTable {
  const t: RequantTable = {
    mode: new Uint8Array(n),
    bias: new Int32Array(n),
    mult: new Int32Array(n),
    shift: new Int32Array(n),
    add: new Int32Array(n),
    aMin: new Int32Array(n),
    aMax: new Int32Array(n),
    lo: (qmin - zy) | 0,
    hi: (qmax - zy) | 0,
    zy: zy | 0,
  };
  for (let j = 0; j < n; j++) {
    const c = mult.length > 1 ? j : 0;
    const m = mult[c];
    const s = shift[c];
    t.bias[j] = bias[j];
    t.mult[j] = m;
    t.shift[j] = s;
    if (m === 0) {
      t.mode[j] = CONST;
      t.add[j] = clamp(zy + rq(0, 0, s), qmin, qmax);
    } else if (s >= 17) {
      t.mode[j] = SPLIT;
      t.add[j] = 2 ** (s - 17);
    } else {
      // rq(A) <= lo up to aMin, rq(A) >= hi from aMax on.
      const aMin = rq(I32_MIN, m, s) <= t.lo ? lastTrue((a) => rq(a, m, s) <= t.lo) : I32_MIN;
      const aMax = rq(I32_MAX, m, s) >= t.hi ? lastTrue((a) => rq(a, m, s) < t.hi) + 1 : I32_MAX;
      const h = s === 0 ? 0 : 2 ** (s - 1);
      const fits = Math.max(Math.abs(aMin), Math.abs(aMax)) * m + h < 2 ** 31;
      t.mode[j] = fits ? DIRECT : DOUBLE;
      t.add[j] = h;
      t.aMin[j] = aMin;
      t.aMax[j] = aMax;
    }
  }
  return t;
}

/**
 * y[from..to) = requantized acc[from..to) for channel j. (Exported for the kernel tests; the hot
 * loops below inline the same arithmetic.)
 */
export function requantRun(
  t: RequantTable,
  j: number,
  acc: Int32Array,
  y: Uint8Array,
  from: number,
  to: number,
): void {
  const b = t.bias[j];
  const m = t.mult[j];
  const add = t.add[j];
  const lo = t.lo;
  const hi = t.hi;
  const zy = t.zy;
  switch (t.mode[j]) {
    case CONST:
      y.fill(add, from, to);
      return;
    case SPLIT: {
      const s2 = t.shift[j] - 16;
      for (let i = from; i < to; i++) {
        const a = acc[i] + b;
        const r = (Math.imul(a >> 16, m) + add + (Math.imul(a & 0xffff, m) >> 16)) >> s2;
        const u = r - ((r - lo) & ((r - lo) >> 31));
        y[i] = hi + ((u - hi) & ((u - hi) >> 31)) + zy;
      }
      return;
    }
    case DIRECT: {
      const s = t.shift[j];
      const aMin = t.aMin[j];
      const aMax = t.aMax[j];
      for (let i = from; i < to; i++) {
        const a = Math.min(Math.max(acc[i] + b, aMin), aMax);
        const r = (Math.imul(a, m) + add) >> s;
        y[i] = Math.min(Math.max(r, lo), hi) + zy;
      }
      return;
    }
    default: {
      const s = t.shift[j];
      for (let i = from; i < to; i++) y[i] = clamp(zy + rq(acc[i] + b, m, s), lo + zy, hi + zy);
    }
  }
}

/** Rows of n channels (matmul output [..., n]): y[r*n + j] from acc[r*n + j] with channel j. */
export function requantRows(t: RequantTable, rows: number, n: number, acc: Int32Array, y: Uint8Array): void {
  if (n === 1) {
    requantRun(t, 0, acc, y, 0, rows);
    return;
  }
  let uniform = true;
  for (let j = 1; j < n; j++) if (t.mode[j] !== t.mode[0]) uniform = false;
  const { mode, bias, mult, shift, add, aMin, aMax, lo, hi, zy } = t;
  if (uniform && mode[0] === SPLIT) {
    const s2 = new Int32Array(n);
    for (let j = 0; j < n; j++) s2[j] = shift[j] - 16;
    let i = 0;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++, i++) {
        const a = acc[i] + bias[j];
        const m = mult[j];
        const v = (Math.imul(a >> 16, m) + add[j] + (Math.imul(a & 0xffff, m) >> 16)) >> s2[j];
        const u = v - ((v - lo) & ((v - lo) >> 31));
        y[i] = hi + ((u - hi) & ((u - hi) >> 31)) + zy;
      }
    }
    return;
  }
  if (uniform && mode[0] === DIRECT) {
    let i = 0;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++, i++) {
        const a = Math.min(Math.max(acc[i] + bias[j], aMin[j]), aMax[j]);
        const v = (Math.imul(a, mult[j]) + add[j]) >> shift[j];
        y[i] = Math.min(Math.max(v, lo), hi) + zy;
      }
    }
    return;
  }
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < n; j++) requantRun(t, j, acc, y, r * n + j, r * n + j + 1);
}
