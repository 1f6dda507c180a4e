// Requantization fused into the conv kernels (depthwise.ts, gemmRequant.ts): 4 accumulators to
// bytes while they are still in registers, in the arithmetic of arith.ts's rqClamp.
import { roundTerm } from './arith';
import { rq4 } from './gemm';

/**
 * zy + rshift(v * m, S) on 4 lanes for S >= 16, |v| < 2^31 and 0 <= m < 2^15 (the validator's
 * bounds), with both 16-bit halves of v multiplied by i32x4.dot_i16x8_s: u = v ^ 0x8000 has the
 * same high half h and a signed low half l = (v & 0xffff) - 2^15, so v = h 2^16 + l + 2^15 and
 * v m + 2^(S-1) = (h m + rhi) 2^16 + (l m + 2^15 m + rlo), where 2^(S-1) = rhi 2^16 + rlo. The
 * second term lies in [0, 2^31), so floor(X / 2^S) = (h m + rhi + (that >>> 16)) >> (S - 16).
 * mlo and mhi are m in the low and in the high i16 of each lane, lc is 2^15 m + rlo, flip is
 * 0x8000 in every lane. |result - zy| < 2^30: the saturating narrows that follow and one clamp of
 * the bytes to [qmin, qmax] then give clamp(result, qmin, qmax).
 */
@inline
export function rqSplit(v: v128, mlo: v128, mhi: v128, lc: v128, rhi: v128, S: i32, zyv: v128, flip: v128): v128 {
  const u = v128.xor(v, flip);
  const a = i32x4.add(i32x4.dot_i16x8_s(u, mhi), rhi);
  const l = i32x4.add(i32x4.dot_i16x8_s(u, mlo), lc);
  return i32x4.add(i32x4.shr_s(i32x4.add(a, i32x4.shr_u(l, 16)), S - 16), zyv);
}

/**
 * zy + rshift(v * m, S) for S >= 2 when every |v| * m < 2^31 (the caller proves both): the
 * product is exact in i32, and floor((t + 2^(S-1)) / 2^S) = ((t >> (S - 1)) + 1) >> 1, where
 * t >> (S - 1) < 2^30 leaves room for the + 1 (at S = 1 it would not: t + 1 can be 2^31). A count
 * S - 1 >= 31 gives t >> 31 in {-1, 0} and then 0, the exact result for |t| < 2^31 <= 2^(S-1).
 */
@inline
export function rqSmall(v: v128, m: v128, s1: i32, zyv: v128): v128 {
  const t = i32x4.shr_s(i32x4.mul(v, m), s1);
  return i32x4.add(i32x4.shr_s(i32x4.add(t, i32x4.splat(1)), 1), zyv);
}

/** The low n (0..7) bytes of v at y. */
@inline
export function storeTail(y: usize, v: v128, n: i32): void {
  let b = i64x2.extract_lane(v, 0);
  let p = y;
  if (n & 4) {
    store<u32>(p, <u32>b);
    b >>>= 32;
    p += 4;
  }
  if (n & 2) {
    store<u16>(p, <u16>b);
    b >>>= 16;
    p += 2;
  }
  if (n & 1) store<u8>(p, <u8>b);
}

/**
 * Eight outputs of one channel (s0, s1: accumulators with the bias) as bytes in lanes 0..7:
 * clamp(zy + rshift(s * mult, S), qmin, qmax). t is the channel's entry of plan.ts's
 * requantSplats (mlo, mhi, lc and rhi of rqSplit); lo8, hi8 and zyv are qmin, qmax and zy
 * splatted. Below S = 16 it is rq4, clamped in i64 (its product needs more than 32 bits).
 */
@inline
export function rqBytes8(
  s0: v128,
  s1: v128,
  t: usize,
  S: i32,
  zy: i32,
  qmin: i32,
  qmax: i32,
  zyv: v128,
  lo8: v128,
  hi8: v128,
  flip: v128,
): v128 {
  const mlo = v128.load(t);
  let r0: v128;
  let r1: v128;
  if (S >= 16) {
    const mhi = v128.load(t, 16);
    const lc = v128.load(t, 32);
    const rhi = v128.load(t, 48);
    r0 = rqSplit(s0, mlo, mhi, lc, rhi, S, zyv, flip);
    r1 = rqSplit(s1, mlo, mhi, lc, rhi, S, zyv, flip);
  } else {
    const rnd = i64x2.splat(roundTerm(S));
    const lo64 = i64x2.splat(<i64>(qmin - zy));
    const hi64 = i64x2.splat(<i64>(qmax - zy));
    r0 = rq4(s0, mlo, rnd, S, lo64, hi64, zyv);
    r1 = rq4(s1, mlo, rnd, S, lo64, hi64, zyv);
  }
  const n = i16x8.narrow_i32x4_s(r0, r1);
  return i8x16.min_u(i8x16.max_u(i8x16.narrow_i16x8_u(n, n), lo8), hi8);
}
