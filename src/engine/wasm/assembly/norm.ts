// softmax and layernorm over the last axis, two lanes at a time in f64x2.
//
// Every f64 here holds an integer below 2^53 in magnitude, so products, sums, scalings by powers
// of two and floor are exact; the one inexact step, a product with a reciprocal, only estimates a
// quotient, which an exact comparison then corrects (the estimate is within 1 of the quotient).
import { A, isqrt, P } from './arith';

/**
 * floor(num / den) for 0 < den, |num| < 2^52 and |num / den| < 2^40 (so that q * den stays
 * exact), from the estimate floor(num * inv), inv = 1 / den.
 */
@inline
function floorDiv2(num: v128, den: v128, inv: v128): v128 {
  const one = f64x2.splat(1.0);
  let q = f64x2.floor(f64x2.mul(num, inv));
  q = v128.bitselect(f64x2.sub(q, one), q, f64x2.gt(f64x2.mul(q, den), num));
  const up = f64x2.add(q, one);
  return v128.bitselect(up, q, f64x2.le(f64x2.mul(up, den), num));
}

/** i32 lanes 0, 1 and 2, 3 of v as f64x2. */
@inline
function low2(v: v128): v128 {
  return f64x2.convert_low_i32x4_s(v);
}

@inline
function high2(v: v128): v128 {
  return f64x2.convert_low_i32x4_s(i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
}

/** Four f64 lanes holding integers in [0, 255] as bytes. */
@inline
function store4(y: usize, a: v128, b: v128): void {
  const lo = i32x4.trunc_sat_f64x2_s_zero(a);
  const hi = i32x4.trunc_sat_f64x2_s_zero(b);
  const w = i8x16.shuffle(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
  const n = i16x8.narrow_i32x4_s(w, w);
  v128.store32_lane(y, i8x16.narrow_i16x8_u(n, n), 0);
}

/**
 * softmax (8). Record: x, expTable (i32 [256]), y, rows, L, e (scratch i32 [L]).
 * e_i = expTable[m - x_i] <= 2^16, S = Σ e_i <= 2^32; y_i = floor((510 e_i + S) / 2S) <= 255.
 */
export function softmax(r: usize): void {
  const x = A(r, 0);
  const table = A(r, 1);
  const y = A(r, 2);
  const rows = P(r, 3);
  const L = P(r, 4);
  const e = A(r, 5);
  const k510 = f64x2.splat(510.0);
  for (let row = 0; row < rows; row++) {
    const xr = x + <usize>(row * L);
    const yr = y + <usize>(row * L);
    let i = 0;
    let mv = i8x16.splat(0);
    for (; i + 16 <= L; i += 16) mv = i8x16.max_u(mv, v128.load(xr + <usize>i));
    mv = i8x16.max_u(mv, i8x16.shuffle(mv, mv, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
    mv = i8x16.max_u(mv, i8x16.shuffle(mv, mv, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
    mv = i8x16.max_u(mv, i8x16.shuffle(mv, mv, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
    mv = i8x16.max_u(mv, i8x16.shuffle(mv, mv, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0));
    let m: u32 = i8x16.extract_lane_u(mv, 0);
    for (; i < L; i++) m = max(m, <u32>load<u8>(xr + <usize>i));
    let S: i64 = 0;
    for (i = 0; i < L; i++) {
      const v = load<i32>(table + ((<usize>(m - <u32>load<u8>(xr + <usize>i))) << 2));
      store<i32>(e + ((<usize>i) << 2), v);
      S += <i64>v;
    }
    const Sf = <f64>S;
    const sv = f64x2.splat(Sf);
    const den = f64x2.splat(2.0 * Sf);
    const inv = f64x2.splat(1.0 / (2.0 * Sf));
    for (i = 0; i + 4 <= L; i += 4) {
      const ev = v128.load(e + ((<usize>i) << 2));
      const q0 = floorDiv2(f64x2.add(f64x2.mul(low2(ev), k510), sv), den, inv);
      const q1 = floorDiv2(f64x2.add(f64x2.mul(high2(ev), k510), sv), den, inv);
      store4(yr + <usize>i, q0, q1);
    }
    for (; i < L; i++) {
      const num = 510 * <i64>load<i32>(e + ((<usize>i) << 2)) + S;
      store<u8>(yr + <usize>i, <u8>(num / (2 * S)));
    }
  }
}

/**
 * layernorm (9). Record: x, gamma, beta, y, rows, D, zx, zy, eps (lo, hi words), mult, shift,
 * qmin, qmax, c (scratch i32 [D]). D <= 2048, so |c_i| <= 255 D < 2^19, Σ c_i^2 < 2^50 and
 * sigma < 2^21; n_i = divRound(c_i 2^10, sigma) has |n_i| < 2^17 (|c_i| <= sqrt(Σ c^2) and
 * sigma^2 > Σ c^2 / D - 1), n_i gamma_i + beta_i < 2^33 and its product with mult < 2^48.
 */
export function layernorm(r: usize): void {
  const x = A(r, 0);
  const gamma = A(r, 1);
  const beta = A(r, 2);
  const y = A(r, 3);
  const rows = P(r, 4);
  const D = P(r, 5);
  const zx = P(r, 6);
  const zy = P(r, 7);
  const eps = ((<i64>P(r, 8)) & 0xffffffff) | ((<i64>P(r, 9)) << 32);
  const mult = P(r, 10);
  const shift = P(r, 11);
  const qmin = P(r, 12);
  const qmax = P(r, 13);
  const c = A(r, 14);
  const mv = f64x2.splat(<f64>mult);
  const rnd = f64x2.splat(shift > 0 ? <f64>((<i64>1) << (<i64>(shift - 1))) : 0.0);
  const scale = f64x2.splat(1.0 / <f64>((<i64>1) << (<i64>shift)));
  const zyv = f64x2.splat(<f64>zy);
  const lo = f64x2.splat(<f64>qmin);
  const hi = f64x2.splat(<f64>qmax);
  const k2048 = f64x2.splat(2048.0);
  for (let row = 0; row < rows; row++) {
    const xr = x + <usize>(row * D);
    const yr = y + <usize>(row * D);
    // S = Σ (x_i - zx), |S| < 2^20.
    let sv = i32x4.splat(0);
    let i = 0;
    for (; i + 16 <= D; i += 16) {
      sv = i32x4.add(sv, i32x4.extadd_pairwise_i16x8_u(i16x8.extadd_pairwise_i8x16_u(v128.load(xr + <usize>i))));
    }
    let S = i32x4.extract_lane(sv, 0) + i32x4.extract_lane(sv, 1) + i32x4.extract_lane(sv, 2) + i32x4.extract_lane(sv, 3);
    for (; i < D; i++) S += <i32>load<u8>(xr + <usize>i);
    S -= D * zx;
    // c_i = D x_i - (D zx + S); Q = Σ c_i^2.
    const off = i32x4.splat(D * zx + S);
    const dv = i32x4.splat(D);
    let q = i64x2.splat(0);
    for (i = 0; i + 8 <= D; i += 8) {
      const xs = v128.load8x8_u(xr + <usize>i);
      const c0 = i32x4.sub(i32x4.mul(i32x4.extend_low_i16x8_u(xs), dv), off);
      const c1 = i32x4.sub(i32x4.mul(i32x4.extend_high_i16x8_u(xs), dv), off);
      v128.store(c + ((<usize>i) << 2), c0);
      v128.store(c + ((<usize>i) << 2), c1, 16);
      q = i64x2.add(q, i64x2.add(i64x2.extmul_low_i32x4_s(c0, c0), i64x2.extmul_high_i32x4_s(c0, c0)));
      q = i64x2.add(q, i64x2.add(i64x2.extmul_low_i32x4_s(c1, c1), i64x2.extmul_high_i32x4_s(c1, c1)));
    }
    let Q = i64x2.extract_lane(q, 0) + i64x2.extract_lane(q, 1);
    for (; i < D; i++) {
      const ci = D * (<i32>load<u8>(xr + <usize>i) - zx) - S;
      store<i32>(c + ((<usize>i) << 2), ci);
      Q += <i64>ci * <i64>ci;
    }
    const sigma = <f64>isqrt(Q / <i64>D + eps);
    const sg = f64x2.splat(sigma);
    const den = f64x2.splat(2.0 * sigma);
    const inv = f64x2.splat(sigma > 0 ? 1.0 / (2.0 * sigma) : 0.0);
    const zero = f64x2.splat(0.0);
    for (i = 0; i + 4 <= D; i += 4) {
      const o = (<usize>i) << 2;
      const cv = v128.load(c + o);
      const gv = v128.load(gamma + o);
      const bv = v128.load(beta + o);
      // n = divRound(c 2^10, sigma) = floor((2^11 c + sigma) / (2 sigma)), 0 when sigma = 0.
      let n0 = zero;
      let n1 = zero;
      if (sigma > 0) {
        n0 = floorDiv2(f64x2.add(f64x2.mul(low2(cv), k2048), sg), den, inv);
        n1 = floorDiv2(f64x2.add(f64x2.mul(high2(cv), k2048), sg), den, inv);
      }
      // y = clamp(zy + floor(((n gamma + beta) mult + 2^(shift-1)) / 2^shift), qmin, qmax).
      const v0 = f64x2.add(f64x2.mul(n0, low2(gv)), low2(bv));
      const v1 = f64x2.add(f64x2.mul(n1, high2(gv)), high2(bv));
      const t0 = f64x2.add(f64x2.floor(f64x2.mul(f64x2.add(f64x2.mul(v0, mv), rnd), scale)), zyv);
      const t1 = f64x2.add(f64x2.floor(f64x2.mul(f64x2.add(f64x2.mul(v1, mv), rnd), scale)), zyv);
      store4(yr + <usize>i, f64x2.min(f64x2.max(t0, lo), hi), f64x2.min(f64x2.max(t1, lo), hi));
    }
    for (; i < D; i++) {
      const o = (<usize>i) << 2;
      const ci = <i64>load<i32>(c + o);
      const s2 = <i64>sigma;
      const n: i64 = s2 > 0 ? floorDivI(ci * 2048 + s2, 2 * s2) : 0;
      const v = n * <i64>load<i32>(gamma + o) + <i64>load<i32>(beta + o);
      let t = ((v * <i64>mult + (shift > 0 ? (<i64>1) << (<i64>(shift - 1)) : 0)) >> (<i64>shift)) + <i64>zy;
      if (t < <i64>qmin) t = <i64>qmin;
      if (t > <i64>qmax) t = <i64>qmax;
      store<u8>(yr + <usize>i, <u8>t);
    }
  }
}

/** floor(a / b) for b > 0 in i64 (the scalar tails). */
@inline
function floorDivI(a: i64, b: i64): i64 {
  const q = a / b;
  return a % b < 0 ? q - 1 : q;
}
