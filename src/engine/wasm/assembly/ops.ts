// Every op other than conv and matmul. Shapes arrive collapsed to six axes (leading axes of 1
// where the tensor has fewer), with per-axis element strides, so broadcasting and transposes are
// plain nested loops.
import { A, P, rqClamp } from './arith';
import { rq4, rq4s, rqHigh, rqLow, store8 } from './gemm';
import { meanClamp } from './pool';

/** add: y = clamp(zy + rshift((a - za) * mA + (b - zb) * mB, s), qmin, qmax); |sum| < 2^25. */
function addRun(
  a: usize,
  b: usize,
  y: usize,
  n: i32,
  sa: i32,
  sb: i32,
  za: i32,
  zb: i32,
  zy: i32,
  qmin: i32,
  qmax: i32,
  mA: i32,
  mB: i32,
  s: i32,
): void {
  // For s >= 31 every rshift of |v| < 2^25 is 0; below, v + 2^(s-1) fits in i32.
  const big = s >= 31;
  const sh = big ? 0 : s;
  const rnd = !big && s > 0 ? 1 << (s - 1) : 0;
  const mAe = big ? 0 : mA;
  const mBe = big ? 0 : mB;
  let i = 0;
  if (sa === 1 && sb <= 1 && n >= 16) {
    // v + rnd = a mA + b mB + c with raw bytes a, b and c = rnd - za mA - zb mB (b's term folded
    // into c when b is one value): |a mA + b mB| < 2^24 and |c| < 2^30 + 2^24, so no lane wraps.
    // The (a, b) byte pairs, zero-extended, meet (mA, mB) in one i16 dot product per 4 outputs.
    const pairM = i32x4.splat((mBe << 16) | mAe);
    const mav = i16x8.splat(<i16>mAe);
    const c = i32x4.splat(rnd - za * mAe - (sb === 1 ? zb * mBe : (zb - <i32>load<u8>(b)) * mBe));
    const zyv = i32x4.splat(zy);
    const lo = i8x16.splat(<i8>qmin);
    const hi = i8x16.splat(<i8>qmax);
    // 16 outputs at a time, the last block overlapping the one before (each output depends on its
    // own inputs only, and no op writes over its inputs).
    for (let j = 0; j < n; j += 16) {
      i = min(j, n - 16);
      const av = v128.load(a + <usize>i);
      let v0: v128, v1: v128, v2: v128, v3: v128;
      if (sb === 1) {
        const bv = v128.load(b + <usize>i);
        const p0 = i8x16.shuffle(av, bv, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const p1 = i8x16.shuffle(av, bv, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        v0 = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(p0), pairM);
        v1 = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(p0), pairM);
        v2 = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(p1), pairM);
        v3 = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(p1), pairM);
      } else {
        const l = i16x8.extend_low_i8x16_u(av);
        const h = i16x8.extend_high_i8x16_u(av);
        v0 = i32x4.extmul_low_i16x8_u(l, mav);
        v1 = i32x4.extmul_high_i16x8_u(l, mav);
        v2 = i32x4.extmul_low_i16x8_u(h, mav);
        v3 = i32x4.extmul_high_i16x8_u(h, mav);
      }
      v0 = i32x4.add(i32x4.shr_s(i32x4.add(v0, c), sh), zyv);
      v1 = i32x4.add(i32x4.shr_s(i32x4.add(v1, c), sh), zyv);
      v2 = i32x4.add(i32x4.shr_s(i32x4.add(v2, c), sh), zyv);
      v3 = i32x4.add(i32x4.shr_s(i32x4.add(v3, c), sh), zyv);
      // The saturating narrowings clamp to [0, 255], inside which [qmin, qmax] lies.
      const t = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(v0, v1), i16x8.narrow_i32x4_s(v2, v3));
      v128.store(y + <usize>i, i8x16.min_u(i8x16.max_u(t, lo), hi));
    }
    i = n;
  }
  for (; i < n; i++) {
    const v =
      (<i32>load<u8>(a + <usize>(i * sa)) - za) * mAe + (<i32>load<u8>(b + <usize>(i * sb)) - zb) * mBe;
    let t = zy + ((v + rnd) >> sh);
    if (t < qmin) t = qmin;
    if (t > qmax) t = qmax;
    store<u8>(y + <usize>i, <u8>t);
  }
}

/**
 * mul: y = clamp(zy + rshift(((a - za)(b - zb) + bias) * m, s), qmin, qmax); bias is 0 for a mul
 * and the bias of a K = N = 1 matmul (|product + bias| < 2^31, the validator's bound).
 */
function mulRun(
  a: usize,
  b: usize,
  y: usize,
  n: i32,
  sa: i32,
  sb: i32,
  za: i32,
  zb: i32,
  zy: i32,
  qmin: i32,
  qmax: i32,
  m: i32,
  bias: i32,
  s: i32,
): void {
  let i = 0;
  if (sa === 1 && sb === 0 && n >= 16 && s >= 16 && s <= 31 && mulScaled(a, y, n, za, zy, qmin, qmax, (<i64>(<i32>load<u8>(b) - zb)) * <i64>m, <i64>bias * <i64>m + ((<i64>1) << (<i64>(s - 1))), s)) return;
  if (sa === 1 && sb <= 1) {
    const bv = i32x4.splat(bias);
    const zav = i16x8.splat(<i16>za);
    const zbv = i16x8.splat(<i16>zb);
    const mv = i32x4.splat(m);
    const rnd = i64x2.splat(s > 0 ? (<i64>1) << (<i64>(s - 1)) : 0);
    const lo = i64x2.splat(<i64>(qmin - zy));
    const hi = i64x2.splat(<i64>(qmax - zy));
    const zyv = i32x4.splat(zy);
    const bconst = i32x4.splat(<i32>load<u8>(b) - zb);
    const rlo = rqLow(s);
    const rhi = rqHigh(s);
    const lo32 = i32x4.splat(qmin);
    const hi32 = i32x4.splat(qmax);
    if (s >= 16 && n >= 16) {
      // 16 outputs at a time, the last block overlapping the one before (each output depends on
      // its own inputs only, and no op writes over its inputs).
      for (let j = 0; j < n; j += 16) {
        i = min(j, n - 16);
        const av = v128.load(a + <usize>i);
        const al = i16x8.sub(i16x8.extend_low_i8x16_u(av), zav);
        const ah = i16x8.sub(i16x8.extend_high_i8x16_u(av), zav);
        let b0 = bconst;
        let b1 = bconst;
        let b2 = bconst;
        let b3 = bconst;
        if (sb === 1) {
          const bw = v128.load(b + <usize>i);
          const bl = i16x8.sub(i16x8.extend_low_i8x16_u(bw), zbv);
          const bh = i16x8.sub(i16x8.extend_high_i8x16_u(bw), zbv);
          b0 = i32x4.extend_low_i16x8_s(bl);
          b1 = i32x4.extend_high_i16x8_s(bl);
          b2 = i32x4.extend_low_i16x8_s(bh);
          b3 = i32x4.extend_high_i16x8_s(bh);
        }
        const r0 = rq4s(i32x4.add(i32x4.mul(i32x4.extend_low_i16x8_s(al), b0), bv), mv, rlo, rhi, s - 16, lo32, hi32, zyv);
        const r1 = rq4s(i32x4.add(i32x4.mul(i32x4.extend_high_i16x8_s(al), b1), bv), mv, rlo, rhi, s - 16, lo32, hi32, zyv);
        const r2 = rq4s(i32x4.add(i32x4.mul(i32x4.extend_low_i16x8_s(ah), b2), bv), mv, rlo, rhi, s - 16, lo32, hi32, zyv);
        const r3 = rq4s(i32x4.add(i32x4.mul(i32x4.extend_high_i16x8_s(ah), b3), bv), mv, rlo, rhi, s - 16, lo32, hi32, zyv);
        v128.store(y + <usize>i, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(r0, r1), i16x8.narrow_i32x4_s(r2, r3)));
      }
      return;
    }
    for (; i + 8 <= n; i += 8) {
      const av = i16x8.sub(v128.load8x8_u(a + <usize>i), zav);
      let b0 = bconst;
      let b1 = bconst;
      if (sb === 1) {
        const bv = i16x8.sub(v128.load8x8_u(b + <usize>i), zbv);
        b0 = i32x4.extend_low_i16x8_s(bv);
        b1 = i32x4.extend_high_i16x8_s(bv);
      }
      const p0 = i32x4.add(i32x4.mul(i32x4.extend_low_i16x8_s(av), b0), bv);
      const p1 = i32x4.add(i32x4.mul(i32x4.extend_high_i16x8_s(av), b1), bv);
      if (s >= 16) {
        store8(
          y + <usize>i,
          rq4s(p0, mv, rlo, rhi, s - 16, lo32, hi32, zyv),
          rq4s(p1, mv, rlo, rhi, s - 16, lo32, hi32, zyv),
        );
      } else {
        store8(y + <usize>i, rq4(p0, mv, rnd, s, lo, hi, zyv), rq4(p1, mv, rnd, s, lo, hi, zyv));
      }
    }
  }
  for (; i < n; i++) {
    const p = (<i32>load<u8>(a + <usize>(i * sa)) - za) * (<i32>load<u8>(b + <usize>(i * sb)) - zb) + bias;
    store<u8>(y + <usize>i, rqClamp(<i64>p, m, s, zy, qmin, qmax));
  }
}

/**
 * mulRun for one b value: with c = (b - zb) m and B = bias m + 2^(s-1) = Bh 2^s + Bl (0 <= Bl <
 * 2^s), rshift(((a - za)(b - zb) + bias) m, s) = Bh + floor(((a - za) c + Bl) / 2^s), one i32
 * product per output when |(a - za) c| + Bl < 2^31 (checked here: a c + Bl - za c wraps in i32
 * lanes but its true value fits). |Bh| < 2^31 * 2^15 / 2^16, so zy + Bh + the quotient fits too;
 * the saturating narrowings and byte clamps then give clamp(..., qmin, qmax). Returns false,
 * having written nothing, when the bound fails.
 */
function mulScaled(a: usize, y: usize, n: i32, za: i32, zy: i32, qmin: i32, qmax: i32, c: i64, B: i64, s: i32): bool {
  const Bh = B >> (<i64>s);
  const Bl = B - (Bh << (<i64>s));
  if (255 * (c < 0 ? -c : c) + Bl > 0x7fffffff) return false;
  const cv = i32x4.splat(<i32>c);
  const d0 = i32x4.splat(<i32>Bl - za * <i32>c);
  const z = i32x4.splat(<i32>Bh + zy);
  const lo = i8x16.splat(<i8>qmin);
  const hi = i8x16.splat(<i8>qmax);
  // 16 outputs at a time, the last block overlapping the one before (each output depends on its
  // own input only, and no op writes over its inputs).
  for (let j = 0; j < n; j += 16) {
    const i = min(j, n - 16);
    const av = v128.load(a + <usize>i);
    const l = i16x8.extend_low_i8x16_u(av);
    const h = i16x8.extend_high_i8x16_u(av);
    const r0 = i32x4.add(i32x4.shr_s(i32x4.add(i32x4.mul(i32x4.extend_low_i16x8_u(l), cv), d0), s), z);
    const r1 = i32x4.add(i32x4.shr_s(i32x4.add(i32x4.mul(i32x4.extend_high_i16x8_u(l), cv), d0), s), z);
    const r2 = i32x4.add(i32x4.shr_s(i32x4.add(i32x4.mul(i32x4.extend_low_i16x8_u(h), cv), d0), s), z);
    const r3 = i32x4.add(i32x4.shr_s(i32x4.add(i32x4.mul(i32x4.extend_high_i16x8_u(h), cv), d0), s), z);
    const t = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(r0, r1), i16x8.narrow_i32x4_s(r2, r3));
    v128.store(y + <usize>i, i8x16.min_u(i8x16.max_u(t, lo), hi));
  }
  return true;
}

/**
 * add (3) and mul (14) with broadcasting. Record: a, b, y, za, zb, zy, qmin, qmax, multA|mult,
 * multB|bias, shift, dims[6], strideA[6], strideB[6].
 */
export function binary(r: usize, isMul: bool): void {
  const a = A(r, 0);
  const b = A(r, 1);
  const y = A(r, 2);
  const za = P(r, 3);
  const zb = P(r, 4);
  const zy = P(r, 5);
  const qmin = P(r, 6);
  const qmax = P(r, 7);
  const m1 = P(r, 8);
  const m2 = P(r, 9);
  const s = P(r, 10);
  const d0 = P(r, 11);
  const d1 = P(r, 12);
  const d2 = P(r, 13);
  const d3 = P(r, 14);
  const d4 = P(r, 15);
  const n = P(r, 16);
  const sa5 = P(r, 22);
  const sb5 = P(r, 28);
  let yo = y;
  for (let i0 = 0; i0 < d0; i0++) {
    for (let i1 = 0; i1 < d1; i1++) {
      for (let i2 = 0; i2 < d2; i2++) {
        for (let i3 = 0; i3 < d3; i3++) {
          for (let i4 = 0; i4 < d4; i4++) {
            const ao =
              i0 * P(r, 17) + i1 * P(r, 18) + i2 * P(r, 19) + i3 * P(r, 20) + i4 * P(r, 21);
            const bo =
              i0 * P(r, 23) + i1 * P(r, 24) + i2 * P(r, 25) + i3 * P(r, 26) + i4 * P(r, 27);
            if (isMul) mulRun(a + <usize>ao, b + <usize>bo, yo, n, sa5, sb5, za, zb, zy, qmin, qmax, m1, m2, s);
            else addRun(a + <usize>ao, b + <usize>bo, yo, n, sa5, sb5, za, zb, zy, qmin, qmax, m1, m2, s);
            yo += <usize>n;
          }
        }
      }
    }
  }
}

/** lut (4): y = table[x]. Record: x, table, y, n. */
export function lut(r: usize): void {
  const x = A(r, 0);
  const table = A(r, 1);
  const y = A(r, 2);
  const n = P(r, 3);
  for (let i = 0; i < n; i++) store<u8>(y + <usize>i, load<u8>(table + <usize>load<u8>(x + <usize>i)));
}

/** reducemean (7). Record: x, y, outer, len, inner, zx, zy, mult, shift. */
export function reducemean(r: usize): void {
  const x = A(r, 0);
  const y = A(r, 1);
  const outer = P(r, 2);
  const len = P(r, 3);
  const inner = P(r, 4);
  const zx = P(r, 5);
  const zy = P(r, 6);
  const mult = P(r, 7);
  const shift = P(r, 8);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let sum = 0;
      for (let k = 0; k < len; k++) sum += <i32>load<u8>(x + <usize>((o * len + k) * inner + i)) - zx;
      store<u8>(y + <usize>(o * inner + i), meanClamp(<i64>sum * <i64>mult, len, shift, zy));
    }
  }
}

/** gather (10). Record: table, ids, y, count, V, D, err. Returns 1 (and the position) for a bad id. */
export function gather(r: usize): i32 {
  const table = A(r, 0);
  const ids = A(r, 1);
  const y = A(r, 2);
  const count = P(r, 3);
  const V = P(r, 4);
  const D = P(r, 5);
  const err = A(r, 6);
  for (let p = 0; p < count; p++) {
    const id = load<i32>(ids + ((<usize>p) << 2));
    if (id < 0 || id >= V) {
      store<i32>(err, p);
      return 1;
    }
    memory.copy(y + <usize>(p * D), table + <usize>(id * D), <usize>D);
  }
  return 0;
}

/** copy (20), one input of a concat. Record: src, dst, count, len, srcStride, dstStride. */
export function copyRows(r: usize): void {
  const src = A(r, 0);
  const dst = A(r, 1);
  const count = P(r, 2);
  const len = P(r, 3);
  const ss = P(r, 4);
  const ds = P(r, 5);
  for (let o = 0; o < count; o++) memory.copy(dst + <usize>(o * ds), src + <usize>(o * ss), <usize>len);
}
