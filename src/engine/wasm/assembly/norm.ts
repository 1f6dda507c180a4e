// layernorm over the last axis: integer statistics, one vector quotient per element (divide.ts)
// and the affine output in exact f64 lanes.
import { A, isqrt, P, roundTerm, rqClamp } from './arith';
import { floorDivNear, high2, low2, lowWords, ROUND52, sum4 } from './divide';
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
  for (let row = 0; row < rows; row++) {
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
    // sigma = 0 makes every n_i 0: num = 0 over den = 1.
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
