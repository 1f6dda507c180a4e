// layernorm over the last axis: integer statistics, one vector quotient per element (divide.ts)
// and the affine output in exact f64 lanes.
import { A, isqrt, P, roundTerm, rqClamp } from './arith';
import { floorDivNear, high2, join2, low2, lowWords, ROUND52, sum4, sums4 } from './divide';
import { store8 } from './gemm';

/**
 * layernorm (9). Record: x, gamma, beta, y, rows, D, zx, zy, eps (lo, hi words), mult, shift,
 * qmin, qmax, gb (scratch f64 [2D]). D <= 2048. With T1 = Σ x_i and T2 = Σ x_i^2 (raw bytes), the
 * zero point cancels: c_i = D (x_i - zx) - Σ (x - zx) = D x_i - T1, and Σ c_i^2 = D (D T2 - T1^2),
 * so floor(Σ c^2 / D) = D T2 - T1^2 exactly (< 2^38); T1 < 2^19 and T2 < 2^27 fit i32 lanes.
 * sigma < 2^21; n_i = divRound(c_i 2^10, sigma) = floor(num_i / (2 sigma)) with num_i =
 * 2^11 D x_i + (sigma - 2^11 T1), |num_i| < 2^30 + 2^21, and |n_i| < 2^17 (|c_i| <= sqrt(Σ c^2)
 * < (sigma + 1) sqrt(D) <= 2 sigma sqrt(D)). Per column, with G_i = gamma_i mult < 2^30 and
 * K_i = beta_i mult + 2^(shift-1) + zy 2^shift (|K_i| < 2^49), y_i = clamp(floor(w_i), qmin, qmax)
 * for w_i = (n_i G_i + K_i) / 2^shift (see outLanes).
 */
export function layernorm(r: usize): void {
  const x = A(r, 0);
  const gamma = A(r, 1);
  const beta = A(r, 2);
  const y = A(r, 3);
  const rows = P(r, 4);
  const D = P(r, 5);
  const zy = P(r, 7);
  const eps = ((<i64>P(r, 8)) & 0xffffffff) | ((<i64>P(r, 9)) << 32);
  const mult = P(r, 10);
  const shift = P(r, 11);
  const qmin = P(r, 12);
  const qmax = P(r, 13);
  const G = A(r, 14);
  const C = G + ((<usize>D) << 3);
  // G'_i = G_i / 2^shift and C_i = w_i - n_i G'_i - 1/2 + 2^-(shift+1), both exact in f64:
  // 2^shift (2 C_i) = 2 K_i - 2^shift + 1 is an odd integer below 2^51 in magnitude.
  const inv2 = 1.0 / <f64>((<i64>1) << (<i64>(shift + 1)));
  const k0 = roundTerm(shift) + ((<i64>zy) << (<i64>shift));
  for (let i = 0; i < D; i++) {
    const o = <usize>i;
    const g: i64 = <i64>load<i32>(gamma + (o << 2)) * <i64>mult;
    store<f64>(G + (o << 3), <f64>g * (inv2 + inv2));
    const k = <i64>load<i32>(beta + (o << 2)) * <i64>mult + k0;
    const odd: i64 = 2 * k - ((<i64>1) << (<i64>shift)) + 1;
    store<f64>(C + (o << 3), <f64>odd * inv2);
  }
  const lo = f64x2.splat(ROUND52 + <f64>qmin);
  const hi = f64x2.splat(ROUND52 + <f64>qmax);
  // |w| < 2^50 / 2^shift: for shift >= 20 floor(w) fits an i32, the low word of z + ROUND52 is
  // floor(w) itself, and the saturating narrowings and byte clamps replace the f64 ones.
  const wide = shift < 20;
  let row = 0;
  if ((D & 15) === 0) {
    // Four rows at a time: their statistics side by side, one vector square root and one
    // vector reciprocal for all four, so that no row waits on its own latency chain.
    const qlo = i8x16.splat(<i8>qmin);
    const qhi = i8x16.splat(<i8>qmax);
    const epsv = f64x2.splat(<f64>eps);
    const Df = f64x2.splat(<f64>D);
    const one = f64x2.splat(1.0);
    for (; row + 4 <= rows; row += 4) {
      const xr = x + <usize>(row * D);
      const T1 = sums4(rowSum(xr, D), rowSum(xr + <usize>D, D), rowSum(xr + <usize>(2 * D), D), rowSum(xr + <usize>(3 * D), D));
      const T2 = sums4(rowSquares(xr, D), rowSquares(xr + <usize>D, D), rowSquares(xr + <usize>(2 * D), D), rowSquares(xr + <usize>(3 * D), D));
      // D T2 - T1^2 + eps < 2^39 + 2^40 and its square root below 2^21: every f64 step is exact
      // but the root, which the comparisons correct (x^2 and (x + 1)^2 stay below 2^42).
      const v0 = f64x2.add(f64x2.sub(f64x2.mul(low2(T2), Df), f64x2.mul(low2(T1), low2(T1))), epsv);
      const v1 = f64x2.add(f64x2.sub(f64x2.mul(high2(T2), Df), f64x2.mul(high2(T1), high2(T1))), epsv);
      const sigma = join2(isqrt2(v0, one), isqrt2(v1, one));
      const zero = i32x4.eq(sigma, i32x4.splat(0));
      // sigma = 0 makes every n_i 0: num = 0 over den = 1.
      const av = v128.andnot(i32x4.splat(D << 11), zero);
      const bv = v128.andnot(i32x4.sub(sigma, i32x4.shl(T1, 11)), zero);
      const den = v128.bitselect(i32x4.splat(1), i32x4.shl(sigma, 1), zero);
      // The correctly rounded f32 reciprocal of den (< 2^22, exact in f32), as floorDivNear needs.
      const inv = f32x4.div(f32x4.splat(1.0), f32x4.convert_i32x4_s(den));
      const yr = y + <usize>(row * D);
      outRow16(xr, yr, D, v128.shuffle<i32>(av, av, 0, 0, 0, 0), v128.shuffle<i32>(bv, bv, 0, 0, 0, 0), v128.shuffle<i32>(den, den, 0, 0, 0, 0), v128.shuffle<i32>(inv, inv, 0, 0, 0, 0), G, C, lo, hi, qlo, qhi, wide);
      outRow16(xr + <usize>D, yr + <usize>D, D, v128.shuffle<i32>(av, av, 1, 1, 1, 1), v128.shuffle<i32>(bv, bv, 1, 1, 1, 1), v128.shuffle<i32>(den, den, 1, 1, 1, 1), v128.shuffle<i32>(inv, inv, 1, 1, 1, 1), G, C, lo, hi, qlo, qhi, wide);
      outRow16(xr + <usize>(2 * D), yr + <usize>(2 * D), D, v128.shuffle<i32>(av, av, 2, 2, 2, 2), v128.shuffle<i32>(bv, bv, 2, 2, 2, 2), v128.shuffle<i32>(den, den, 2, 2, 2, 2), v128.shuffle<i32>(inv, inv, 2, 2, 2, 2), G, C, lo, hi, qlo, qhi, wide);
      outRow16(xr + <usize>(3 * D), yr + <usize>(3 * D), D, v128.shuffle<i32>(av, av, 3, 3, 3, 3), v128.shuffle<i32>(bv, bv, 3, 3, 3, 3), v128.shuffle<i32>(den, den, 3, 3, 3, 3), v128.shuffle<i32>(inv, inv, 3, 3, 3, 3), G, C, lo, hi, qlo, qhi, wide);
    }
  }
  for (; row < rows; row++) {
    const xr = x + <usize>(row * D);
    const yr = y + <usize>(row * D);
    let s16 = i16x8.splat(0);
    let q32 = i32x4.splat(0);
    let i = 0;
    // u16 lanes of s16 gather at most 2 * 255 per 16 bytes, D / 16 <= 128 times: below 2^16.
    for (; i + 16 <= D; i += 16) {
      const v = v128.load(xr + <usize>i);
      s16 = i16x8.add(s16, i16x8.extadd_pairwise_i8x16_u(v));
      const l = i16x8.extend_low_i8x16_u(v);
      const h = i16x8.extend_high_i8x16_u(v);
      q32 = i32x4.add(q32, i32x4.add(i32x4.dot_i16x8_s(l, l), i32x4.dot_i16x8_s(h, h)));
    }
    let T1 = sum4(i32x4.extadd_pairwise_i16x8_u(s16));
    let T2 = sum4(q32);
    for (; i < D; i++) {
      const v = <i32>load<u8>(xr + <usize>i);
      T1 += v;
      T2 += v * v;
    }
    const sigma = <i32>isqrt(<i64>D * <i64>T2 - <i64>T1 * <i64>T1 + eps);
    const a = i32x4.splat(sigma > 0 ? D << 11 : 0);
    const b = i32x4.splat(sigma > 0 ? sigma - (T1 << 11) : 0);
    const den = i32x4.splat(sigma > 0 ? 2 * sigma : 1);
    const inv = f32x4.splat(sigma > 0 ? <f32>(1.0 / (2.0 * <f64>sigma)) : 1.0);
    for (i = 0; i + 8 <= D; i += 8) {
      const xs = v128.load8x8_u(xr + <usize>i);
      const n0 = floorDivNear(i32x4.add(i32x4.mul(i32x4.extend_low_i16x8_u(xs), a), b), den, inv);
      const n1 = floorDivNear(i32x4.add(i32x4.mul(i32x4.extend_high_i16x8_u(xs), a), b), den, inv);
      const g = G + ((<usize>i) << 3);
      const c = C + ((<usize>i) << 3);
      const t0 = lowWords(
        outLanes(low2(n0), v128.load(g), v128.load(c), lo, hi),
        outLanes(high2(n0), v128.load(g, 16), v128.load(c, 16), lo, hi),
      );
      const t1 = lowWords(
        outLanes(low2(n1), v128.load(g, 32), v128.load(c, 32), lo, hi),
        outLanes(high2(n1), v128.load(g, 48), v128.load(c, 48), lo, hi),
      );
      store8(yr + <usize>i, t0, t1);
    }
    for (; i < D; i++) {
      const o = (<usize>i) << 2;
      const ci = <i64>(D * <i32>load<u8>(xr + <usize>i) - T1);
      const s2 = <i64>sigma;
      const n: i64 = s2 > 0 ? floorDivI(ci * 2048 + s2, 2 * s2) : 0;
      const v = n * <i64>load<i32>(gamma + o) + <i64>load<i32>(beta + o);
      store<u8>(yr + <usize>i, rqClamp(v, mult, shift, zy, qmin, qmax));
    }
  }
}

/** Σ x_i of a row of D bytes (D a multiple of 16), in the four i32 lanes. */
@inline
function rowSum(xr: usize, D: i32): v128 {
  // u16 lanes gather at most 2 * 255 per 16 bytes, D / 16 <= 128 times: below 2^16.
  let s16 = i16x8.splat(0);
  for (let i = 0; i < D; i += 16) s16 = i16x8.add(s16, i16x8.extadd_pairwise_i8x16_u(v128.load(xr + <usize>i)));
  return i32x4.extadd_pairwise_i16x8_u(s16);
}

/** Σ x_i^2 of a row of D bytes (D a multiple of 16), in the four i32 lanes (below 2^27). */
@inline
function rowSquares(xr: usize, D: i32): v128 {
  let q32 = i32x4.splat(0);
  for (let i = 0; i < D; i += 16) {
    const v = v128.load(xr + <usize>i);
    const l = i16x8.extend_low_i8x16_u(v);
    const h = i16x8.extend_high_i8x16_u(v);
    q32 = i32x4.add(q32, i32x4.add(i32x4.dot_i16x8_s(l, l), i32x4.dot_i16x8_s(h, h)));
  }
  return q32;
}

/**
 * floor(sqrt(v)) per f64 lane for integers 0 <= v < 2^42: the rounded root, floored, then one
 * exact step either way (every square compared stays below 2^43).
 */
@inline
function isqrt2(v: v128, one: v128): v128 {
  let s = f64x2.floor(f64x2.sqrt(v));
  s = v128.bitselect(f64x2.sub(s, one), s, f64x2.gt(f64x2.mul(s, s), v));
  const up = f64x2.add(s, one);
  return v128.bitselect(up, s, f64x2.le(f64x2.mul(up, up), v));
}

/**
 * One output row of D bytes (D a multiple of 16) from its n_i = floor((a x_i + b) / den): 16
 * outputs per step, clamped as bytes after the saturating narrowings (and in f64 first when
 * floor(w) may not fit an i32: wide).
 */
@inline
function outRow16(
  xr: usize,
  yr: usize,
  D: i32,
  a: v128,
  b: v128,
  den: v128,
  inv: v128,
  G: usize,
  C: usize,
  lo: v128,
  hi: v128,
  qlo: v128,
  qhi: v128,
  wide: bool,
): void {
  for (let i = 0; i < D; i += 16) {
    const xs = v128.load(xr + <usize>i);
    const l = i16x8.extend_low_i8x16_u(xs);
    const h = i16x8.extend_high_i8x16_u(xs);
    const n0 = floorDivNear(i32x4.add(i32x4.mul(i32x4.extend_low_i16x8_u(l), a), b), den, inv);
    const n1 = floorDivNear(i32x4.add(i32x4.mul(i32x4.extend_high_i16x8_u(l), a), b), den, inv);
    const n2 = floorDivNear(i32x4.add(i32x4.mul(i32x4.extend_low_i16x8_u(h), a), b), den, inv);
    const n3 = floorDivNear(i32x4.add(i32x4.mul(i32x4.extend_high_i16x8_u(h), a), b), den, inv);
    const g = G + ((<usize>i) << 3);
    const c = C + ((<usize>i) << 3);
    const t0 = lowWords(outAny(low2(n0), v128.load(g), v128.load(c), lo, hi, wide), outAny(high2(n0), v128.load(g, 16), v128.load(c, 16), lo, hi, wide));
    const t1 = lowWords(outAny(low2(n1), v128.load(g, 32), v128.load(c, 32), lo, hi, wide), outAny(high2(n1), v128.load(g, 48), v128.load(c, 48), lo, hi, wide));
    const t2 = lowWords(outAny(low2(n2), v128.load(g, 64), v128.load(c, 64), lo, hi, wide), outAny(high2(n2), v128.load(g, 80), v128.load(c, 80), lo, hi, wide));
    const t3 = lowWords(outAny(low2(n3), v128.load(g, 96), v128.load(c, 96), lo, hi, wide), outAny(high2(n3), v128.load(g, 112), v128.load(c, 112), lo, hi, wide));
    const q = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(t0, t1), i16x8.narrow_i32x4_s(t2, t3));
    v128.store(yr + <usize>i, i8x16.min_u(i8x16.max_u(q, qlo), qhi));
  }
}

/** outLanes, or for !wide the same without the f64 clamps (ROUND52 + floor(w) unclamped). */
@inline
function outAny(n: v128, g: v128, c: v128, lo: v128, hi: v128, wide: bool): v128 {
  if (wide) return outLanes(n, g, c, lo, hi);
  return f64x2.add(f64x2.add(f64x2.mul(n, g), c), f64x2.splat(ROUND52));
}

/**
 * ROUND52 + clamp(floor(w), qmin, qmax) per f64 lane from n (integers), G' and C: z = n G' + C is
 * exact (n G_i < 2^47 and 2^(shift+1) z an odd integer below 2^51), and as w is a multiple of
 * 2^-shift, z = w - 1/2 + 2^-(shift+1) lies strictly between floor(w) - 1/2 and floor(w) + 1/2
 * and is never halfway between integers; so z + ROUND52 (in [2^52, 2^53), where doubles are the
 * integers) rounds to ROUND52 + floor(w). Clamping after that is monotone and exact.
 */
@inline
function outLanes(n: v128, g: v128, c: v128, lo: v128, hi: v128): v128 {
  const z = f64x2.add(f64x2.add(f64x2.mul(n, g), c), f64x2.splat(ROUND52));
  return f64x2.pmin(f64x2.pmax(z, lo), hi);
}

/** floor(a / b) for b > 0 in i64 (the scalar tails). */
@inline
function floorDivI(a: i64, b: i64): i64 {
  const q = a / b;
  return a % b < 0 ? q - 1 : q;
}
