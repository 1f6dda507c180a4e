// softmax and layernorm over the last axis.
//
// Quotients are estimated in floating point and then made exact by integer comparisons. In the
// four-lane paths every numerator, denominator and product q * den lies below 2^31 in magnitude
// (stated per op), so the estimate floor(f32(num) * f32(1 / den)) is within 1 of the quotient
// (relative error < 2^-22 on a quotient below 2^17) and one i32 comparison each way corrects it.
// Every f64 holds an integer below 2^53 in magnitude, so its products, sums and scalings by
// powers of two are exact.
import { A, isqrt, P } from './arith';
import { store8 } from './gemm';

/**
 * floor(num / den) per i32 lane for 0 < den and |num| + 2 den < 2^31, with |num / den| < 2^17,
 * from inv = f32(1 / den): the estimate q is within 1, so q * den and (q + 1) * den do not wrap.
 */
@inline
function floorDiv4(num: v128, den: v128, inv: v128): v128 {
  const q = i32x4.trunc_sat_f32x4_s(f32x4.floor(f32x4.mul(f32x4.convert_i32x4_s(num), inv)));
  const qd = i32x4.mul(q, den);
  // A true comparison is -1: add it to step down, subtract it to step up.
  return i32x4.sub(i32x4.add(q, i32x4.gt_s(qd, num)), i32x4.le_s(i32x4.add(qd, den), num));
}

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

/** Two f64x2 of integers in i32 range as one i32x4. */
@inline
function join2(a: v128, b: v128): v128 {
  const lo = i32x4.trunc_sat_f64x2_s_zero(a);
  const hi = i32x4.trunc_sat_f64x2_s_zero(b);
  return i8x16.shuffle(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

/** The largest byte lane of v. */
@inline
function maxLane(v: v128): u32 {
  let mv = v;
  mv = i8x16.max_u(mv, i8x16.shuffle(mv, mv, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
  mv = i8x16.max_u(mv, i8x16.shuffle(mv, mv, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3));
  mv = i8x16.max_u(mv, i8x16.shuffle(mv, mv, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1));
  mv = i8x16.max_u(mv, i8x16.shuffle(mv, mv, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0));
  return i8x16.extract_lane_u(mv, 0);
}

/**
 * softmax (8). Record: x, expTable (i32 [256]), y, rows, L, e (scratch i32 [L]).
 * e_i = expTable[m - x_i] <= 2^16, S = Σ e_i <= 2^32; y_i = floor((510 e_i + S) / 2S) <= 255.
 * For S < 2^24 the quotient takes the four-lane path: 510 e_i + S + 4S < 2^25 + 5 * 2^24 < 2^31.
 */
export function softmax(r: usize): void {
  const x = A(r, 0);
  const table = A(r, 1);
  const y = A(r, 2);
  const rows = P(r, 3);
  const L = P(r, 4);
  const e = A(r, 5);
  const k510 = f64x2.splat(510.0);
  const k510i = i32x4.splat(510);
  for (let row = 0; row < rows; row++) {
    const xr = x + <usize>(row * L);
    const yr = y + <usize>(row * L);
    let i = 0;
    let mv = i8x16.splat(0);
    for (; i + 16 <= L; i += 16) mv = i8x16.max_u(mv, v128.load(xr + <usize>i));
    let m = maxLane(mv);
    for (; i < L; i++) m = max(m, <u32>load<u8>(xr + <usize>i));
    let S: i64 = 0;
    for (i = 0; i < L; i++) {
      const v = load<i32>(table + ((<usize>(m - <u32>load<u8>(xr + <usize>i))) << 2));
      store<i32>(e + ((<usize>i) << 2), v);
      S += <i64>v;
    }
    i = 0;
    if (S < 1 << 24) {
      const s32 = <i32>S;
      const sv = i32x4.splat(s32);
      const den = i32x4.splat(2 * s32);
      const inv = f32x4.splat(<f32>(1.0 / (2.0 * <f64>s32)));
      for (; i + 8 <= L; i += 8) {
        const ep = e + ((<usize>i) << 2);
        const q0 = floorDiv4(i32x4.add(i32x4.mul(v128.load(ep), k510i), sv), den, inv);
        const q1 = floorDiv4(i32x4.add(i32x4.mul(v128.load(ep, 16), k510i), sv), den, inv);
        store8(yr + <usize>i, q0, q1);
      }
    } else {
      const Sf = <f64>S;
      const sv = f64x2.splat(Sf);
      const den = f64x2.splat(2.0 * Sf);
      const inv = f64x2.splat(1.0 / (2.0 * Sf));
      for (; i + 8 <= L; i += 8) {
        const ep = e + ((<usize>i) << 2);
        const e0 = v128.load(ep);
        const e1 = v128.load(ep, 16);
        const q0 = join2(
          floorDiv2(f64x2.add(f64x2.mul(low2(e0), k510), sv), den, inv),
          floorDiv2(f64x2.add(f64x2.mul(high2(e0), k510), sv), den, inv),
        );
        const q1 = join2(
          floorDiv2(f64x2.add(f64x2.mul(low2(e1), k510), sv), den, inv),
          floorDiv2(f64x2.add(f64x2.mul(high2(e1), k510), sv), den, inv),
        );
        store8(yr + <usize>i, q0, q1);
      }
    }
    for (; i < L; i++) {
      const num = 510 * <i64>load<i32>(e + ((<usize>i) << 2)) + S;
      store<u8>(yr + <usize>i, <u8>(num / (2 * S)));
    }
  }
}

/**
 * layernorm (9). Record: x, gamma, beta, y, rows, D, zx, zy, eps (lo, hi words), mult, shift,
 * qmin, qmax, gb (scratch f64 [2D]). D <= 2048, so |c_i| <= 255 D < 2^19, Σ c_i^2 < 2^50 and
 * sigma < 2^21; n_i = divRound(c_i 2^10, sigma) = floor((2^11 c_i + sigma) / (2 sigma)) has
 * |n_i| < 2^17 (|c_i| <= sqrt(Σ c^2) and sigma^2 > Σ c^2 / D - 1), and its numerator plus twice
 * the denominator stays below 2^30 + 2^23. |gamma| <= 2^15 and mult < 2^15, so per column
 * G_i = gamma_i mult < 2^30 and B_i = beta_i mult + 2^(shift-1) + zy 2^shift < 2^49, and
 * y_i = clamp(floor((n_i G_i + B_i) / 2^shift), qmin, qmax) with |n_i G_i + B_i| < 2^50.
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
  const G = A(r, 14);
  const B = G + ((<usize>D) << 3);
  const p2 = <f64>((<i64>1) << (<i64>shift));
  const bias = (shift > 0 ? p2 * 0.5 : 0.0) + <f64>zy * p2;
  for (let i = 0; i < D; i++) {
    const o = <usize>i;
    store<f64>(G + (o << 3), <f64>load<i32>(gamma + (o << 2)) * <f64>mult);
    store<f64>(B + (o << 3), <f64>load<i32>(beta + (o << 2)) * <f64>mult + bias);
  }
  const scale = f64x2.splat(1.0 / p2);
  const lo = f64x2.splat(<f64>qmin);
  const hi = f64x2.splat(<f64>qmax);
  const dv = i32x4.splat(D);
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
    const offset = D * zx + S;
    const off = i32x4.splat(offset);
    let q = i64x2.splat(0);
    for (i = 0; i + 8 <= D; i += 8) {
      const xs = v128.load8x8_u(xr + <usize>i);
      const c0 = i32x4.sub(i32x4.mul(i32x4.extend_low_i16x8_u(xs), dv), off);
      const c1 = i32x4.sub(i32x4.mul(i32x4.extend_high_i16x8_u(xs), dv), off);
      q = i64x2.add(q, i64x2.add(i64x2.extmul_low_i32x4_s(c0, c0), i64x2.extmul_high_i32x4_s(c0, c0)));
      q = i64x2.add(q, i64x2.add(i64x2.extmul_low_i32x4_s(c1, c1), i64x2.extmul_high_i32x4_s(c1, c1)));
    }
    let Q = i64x2.extract_lane(q, 0) + i64x2.extract_lane(q, 1);
    for (; i < D; i++) {
      const ci = D * <i32>load<u8>(xr + <usize>i) - offset;
      Q += <i64>ci * <i64>ci;
    }
    const sigma = <i32>isqrt(Q / <i64>D + eps);
    const sg = i32x4.splat(sigma);
    const den = i32x4.splat(2 * sigma);
    const inv = f32x4.splat(sigma > 0 ? <f32>(1.0 / (2.0 * <f64>sigma)) : 0.0);
    let n0 = i32x4.splat(0);
    let n1 = n0;
    for (i = 0; i + 8 <= D; i += 8) {
      if (sigma > 0) {
        const xs = v128.load8x8_u(xr + <usize>i);
        const c0 = i32x4.sub(i32x4.mul(i32x4.extend_low_i16x8_u(xs), dv), off);
        const c1 = i32x4.sub(i32x4.mul(i32x4.extend_high_i16x8_u(xs), dv), off);
        n0 = floorDiv4(i32x4.add(i32x4.shl(c0, 11), sg), den, inv);
        n1 = floorDiv4(i32x4.add(i32x4.shl(c1, 11), sg), den, inv);
      }
      const g = G + ((<usize>i) << 3);
      const b = B + ((<usize>i) << 3);
      store8(
        yr + <usize>i,
        join2(
          clampScaled(f64x2.add(f64x2.mul(low2(n0), v128.load(g)), v128.load(b)), scale, lo, hi),
          clampScaled(f64x2.add(f64x2.mul(high2(n0), v128.load(g, 16)), v128.load(b, 16)), scale, lo, hi),
        ),
        join2(
          clampScaled(f64x2.add(f64x2.mul(low2(n1), v128.load(g, 32)), v128.load(b, 32)), scale, lo, hi),
          clampScaled(f64x2.add(f64x2.mul(high2(n1), v128.load(g, 48)), v128.load(b, 48)), scale, lo, hi),
        ),
      );
    }
    for (; i < D; i++) {
      const o = (<usize>i) << 2;
      const ci = <i64>(D * <i32>load<u8>(xr + <usize>i) - offset);
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

/**
 * clamp(floor(v * scale), lo, hi) for integral lo >= 0: clamping first and truncating after is
 * the same, as floor is monotone, keeps integers and equals truncation at or above 0.
 */
@inline
function clampScaled(v: v128, scale: v128, lo: v128, hi: v128): v128 {
  return f64x2.pmin(f64x2.pmax(f64x2.mul(v, scale), lo), hi);
}

/** floor(a / b) for b > 0 in i64 (the scalar tails). */
@inline
function floorDivI(a: i64, b: i64): i64 {
  const q = a / b;
  return a % b < 0 ? q - 1 : q;
}
