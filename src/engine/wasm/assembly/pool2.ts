// Fast paths of maxpool and avgpool for the two commonest shapes: 2x2 windows of stride 2 that all
// lie inside the plane (16 outputs from two 32-byte row loads), and global pools (one window per
// plane, summed as contiguous bytes). Each writes whole 16-byte vectors while they end inside the
// output's own bytes (its length rounded up to 16, as the plan aligns every tensor): the bytes
// past a row's end belong to later rows, which are written after it. The last vectors go through
// the scratch buffer instead. Loads may read up to 30 bytes past the input, which later tensors,
// the scratch and the plan always follow.
import { A, P } from './arith';
import { floorDiv2 } from './divide';

/** Whether pool record r is a 2x2 window of stride 2 with every window inside the plane. */
export function isPair(r: usize): bool {
  return (
    P(r, 7) === 2 &&
    P(r, 8) === 2 &&
    P(r, 9) === 2 &&
    P(r, 10) === 2 &&
    P(r, 11) === 0 &&
    P(r, 12) === 0 &&
    2 * P(r, 5) <= P(r, 3) &&
    2 * P(r, 6) <= P(r, 4)
  );
}

/** Whether pool record r has one window covering each whole plane. */
export function isGlobal(r: usize): bool {
  return P(r, 5) === 1 && P(r, 6) === 1 && P(r, 7) === P(r, 3) && P(r, 8) === P(r, 4) && P(r, 11) === 0 && P(r, 12) === 0;
}

/** Stores v at o, or only its first n bytes (n < 16) through tmp when a whole vector would pass end. */
@inline
function put(o: usize, v: v128, n: i32, end: usize, tmp: usize): void {
  if (o + 16 <= end) v128.store(o, v);
  else {
    v128.store(tmp, v);
    memory.copy(o, tmp, <usize>min(n, 16));
  }
}

/** The window sums (u16, at most 4 * 255) of outputs c..c+7 from rows r0 and r1 at column 2c. */
@inline
function pairSums(r0: usize, r1: usize): v128 {
  return i16x8.add(i16x8.extadd_pairwise_i8x16_u(v128.load(r0)), i16x8.extadd_pairwise_i8x16_u(v128.load(r1)));
}

/**
 * maxpool or avgpool over 2x2 windows of stride 2 (isPair). The avgpool count is always 4, so
 * divRound(v mult, 2^(shift + 2)) = (v mult + 2^(shift + 1)) >> (shift + 2) for shift <= 28:
 * |v mult| <= 1020 * 2^15 and with rnd = 2^(shift + 1) - 4 zx mult, s mult + rnd stays below 2^31
 * for the raw window sum s.
 */
export function pairPool(r: usize, isAvg: bool): void {
  const x = A(r, 0);
  const y = A(r, 1);
  const planes = P(r, 2);
  const H = P(r, 3);
  const W = P(r, 4);
  const OH = P(r, 5);
  const OW = P(r, 6);
  const zx = P(r, 13);
  const zy = P(r, 14);
  const mult = P(r, 16);
  const k = P(r, 17) + 2;
  const tmp = A(r, 18);
  const end = y + ((<usize>(planes * OH * OW) + 15) & ~15);
  const mv = i16x8.splat(<i16>mult);
  const rnd = i32x4.splat((1 << (k - 1)) - 4 * zx * mult);
  const zyv = i32x4.splat(zy);
  let out = y;
  for (let p = 0; p < planes; p++) {
    const plane = x + <usize>(p * H * W);
    for (let oy = 0; oy < OH; oy++) {
      const r0 = plane + <usize>(2 * oy * W);
      const r1 = r0 + <usize>W;
      for (let c = 0; c < OW; c += 16) {
        const o = (<usize>c) << 1;
        let v: v128;
        if (isAvg) {
          const s0 = pairSums(r0 + o, r1 + o);
          const s1 = pairSums(r0 + o + 16, r1 + o + 16);
          const q0 = i32x4.add(i32x4.shr_s(i32x4.add(i32x4.extmul_low_i16x8_u(s0, mv), rnd), k), zyv);
          const q1 = i32x4.add(i32x4.shr_s(i32x4.add(i32x4.extmul_high_i16x8_u(s0, mv), rnd), k), zyv);
          const q2 = i32x4.add(i32x4.shr_s(i32x4.add(i32x4.extmul_low_i16x8_u(s1, mv), rnd), k), zyv);
          const q3 = i32x4.add(i32x4.shr_s(i32x4.add(i32x4.extmul_high_i16x8_u(s1, mv), rnd), k), zyv);
          // The saturating narrowings clamp to [0, 255], as meanClamp does.
          v = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3));
        } else {
          const a = i8x16.max_u(v128.load(r0 + o), v128.load(r1 + o));
          const b = i8x16.max_u(v128.load(r0 + o, 16), v128.load(r1 + o, 16));
          v = i8x16.max_u(
            i8x16.shuffle(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
            i8x16.shuffle(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31),
          );
        }
        put(out + <usize>c, v, OW - c, end, tmp);
      }
      out += <usize>OW;
    }
  }
}

/**
 * clamp(zy + divRound(p, q), 0, 255) in two f64 lanes, p = v mult and q = count 2^shift given as
 * f64: |p| < 2^39 and q < 2^46, so 2p + q, 2q and the quotient (< 2^24) are exact integers.
 */
@inline
export function meanLanes(v: v128, mult: v128, q: v128, inv: v128, zy: v128): v128 {
  const num = f64x2.add(f64x2.mul(f64x2.mul(v, mult), f64x2.splat(2.0)), q);
  const d = floorDiv2(num, f64x2.add(q, q), inv);
  return f64x2.pmin(f64x2.pmax(f64x2.add(d, zy), f64x2.splat(0.0)), f64x2.splat(255.0));
}

/** Σ (x_i - zx) over the n bytes at s (n <= 2^24). */
@inline
function planeSum(s: usize, n: i32, zx: i32): i32 {
  let acc = i32x4.splat(0);
  let i = 0;
  // u16 lanes gather at most 2 * 255 per 16 bytes, 128 times per chunk.
  while (i + 16 <= n) {
    const stop = min(n - 15, i + 128 * 16);
    let s16 = i16x8.splat(0);
    for (; i < stop; i += 16) s16 = i16x8.add(s16, i16x8.extadd_pairwise_i8x16_u(v128.load(s + <usize>i)));
    acc = i32x4.add(acc, i32x4.extadd_pairwise_i16x8_u(s16));
  }
  let t = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; i < n; i++) t += <i32>load<u8>(s + <usize>i);
  return t - n * zx;
}

/**
 * avgpool with one window per plane (isGlobal): count = H W either way. Two planes per quotient,
 * for 255 H W mult < 2^39 and H W 2^shift < 2^46 (meanLanes); returns false to leave other
 * records to the general paths.
 */
export function globalAvg(r: usize): bool {
  const x = A(r, 0);
  const y = A(r, 1);
  const planes = P(r, 2);
  const n = P(r, 3) * P(r, 4);
  const zx = P(r, 13);
  const zy = P(r, 14);
  const mult = P(r, 16);
  const shift = P(r, 17);
  if (<f64>n * 255.0 * <f64>mult >= 549755813888.0 || <f64>n * <f64>((<i64>1) << (<i64>shift)) >= 70368744177664.0)
    return false;
  const qf = <f64>n * <f64>((<i64>1) << (<i64>shift));
  const q = f64x2.splat(qf);
  const inv = f64x2.splat(1.0 / (2.0 * qf));
  const mv = f64x2.splat(<f64>mult);
  const zyv = f64x2.splat(<f64>zy);
  for (let p = 0; p < planes; p += 2) {
    const s0 = planeSum(x + <usize>(p * n), n, zx);
    const s1 = p + 1 < planes ? planeSum(x + <usize>((p + 1) * n), n, zx) : 0;
    const v = f64x2.replace_lane(f64x2.splat(<f64>s0), 1, <f64>s1);
    const t = i32x4.trunc_sat_f64x2_s_zero(meanLanes(v, mv, q, inv, zyv));
    store<u8>(y + <usize>p, <u8>i32x4.extract_lane(t, 0));
    if (p + 1 < planes) store<u8>(y + <usize>(p + 1), <u8>i32x4.extract_lane(t, 1));
  }
  return true;
}
