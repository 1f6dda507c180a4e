// Vector quotients made exact. A floating-point estimate only has to land within 1 of the true
// quotient; an integer (or exact f64) comparison of the estimate times the divisor against the
// dividend then corrects it, so every result below is exact within the stated bounds.

/** 1.5 * 2^23: f32 sums with it in [2^23, 2^24), where the f32 values are the integers. */
export const ROUND23: f32 = 12582912.0;
/** The i32 bits of ROUND23; those of ROUND23 + k are ROUND23_BITS + k for |k| < 2^22. */
export const ROUND23_BITS: i32 = 0x4b400000;
/** 1.5 * 2^52: f64 sums with it in [2^52, 2^53), where the doubles are the integers. */
export const ROUND52: f64 = 6755399441055744.0;

/**
 * floor(num / den) per i32 lane for 0 < den, |num| + den < 2^31 and |num / den| < 2^21, from
 * inv = f32(1 / den). The estimate e = f32(num) * inv carries three f32 roundings, a relative
 * error below 3.001 * 2^-24, so |e - num / den| < 3/8; adding ROUND23 rounds e to the nearest
 * integer k, which is floor(num / den) or one more (k - e lies in [-1/2, 1/2]). k * den then stays
 * within num ± den, so it does not wrap, and one comparison steps k down where k * den > num.
 */
@inline
export function floorDivNear(num: v128, den: v128, inv: v128): v128 {
  const e = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(num), inv), f32x4.splat(ROUND23));
  const k = i32x4.sub(e, i32x4.splat(ROUND23_BITS));
  return i32x4.add(k, i32x4.gt_s(i32x4.mul(k, den), num));
}

/**
 * floor(num / den) per f64 lane for 0 < den, |num| < 2^52 and |num / den| < 2^40 (so that q * den
 * stays exact), from the estimate floor(num * inv) with inv within a few ulps of 1 / den.
 */
@inline
export function floorDiv2(num: v128, den: v128, inv: v128): v128 {
  const one = f64x2.splat(1.0);
  let q = f64x2.floor(f64x2.mul(num, inv));
  q = v128.bitselect(f64x2.sub(q, one), q, f64x2.gt(f64x2.mul(q, den), num));
  const up = f64x2.add(q, one);
  return v128.bitselect(up, q, f64x2.le(f64x2.mul(up, den), num));
}

/** i32 lanes 0, 1 of v as f64x2. */
@inline
export function low2(v: v128): v128 {
  return f64x2.convert_low_i32x4_s(v);
}

/** i32 lanes 2, 3 of v as f64x2. */
@inline
export function high2(v: v128): v128 {
  return f64x2.convert_low_i32x4_s(i8x16.shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
}

/** Two f64x2 of integers in i32 range as one i32x4. */
@inline
export function join2(a: v128, b: v128): v128 {
  const lo = i32x4.trunc_sat_f64x2_s_zero(a);
  const hi = i32x4.trunc_sat_f64x2_s_zero(b);
  return i8x16.shuffle(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}

/**
 * The low i32 words of the four f64 lanes of a and b. For a double ROUND52 + t with 0 <= t < 2^31
 * that word is t, so this is join2 without the conversions.
 */
@inline
export function lowWords(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
}

/** Sum of the four i32 lanes of v. */
@inline
export function sum4(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** The lane sums of a, b, c and d as the four lanes of one vector. */
@inline
export function sums4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(
    i8x16.shuffle(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
    i8x16.shuffle(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31),
  );
  const cd = i32x4.add(
    i8x16.shuffle(c, d, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
    i8x16.shuffle(c, d, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31),
  );
  return i32x4.add(
    i8x16.shuffle(ab, cd, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27),
    i8x16.shuffle(ab, cd, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31),
  );
}
