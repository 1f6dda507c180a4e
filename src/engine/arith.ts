// Exact integer arithmetic shared by every op. This file defines the rounding rules.
//
// Values are JavaScript numbers holding integers. Every function documents the range it accepts;
// inside that range every intermediate is an integer below 2^53 in magnitude, so each result is
// exact. Division by a power of two only changes the exponent of a double, so it is exact too.
// General division (floorDiv) uses the quotient of a double division only as an estimate and
// then corrects it with exact integer multiplication and comparison, so its result never depends
// on floating-point rounding.

/** Largest |value| any accumulator-times-multiplier product may reach (checked by the quantizer). */
export const MAX_EXACT = 2 ** 52;

/** Requantization multipliers are unsigned 15-bit integers. */
export const MULT_LIMIT = 2 ** 15;

/** Shifts lie in [0, MAX_SHIFT]. */
export const MAX_SHIFT = 40;

/** Fixed-point fraction bits of the normalized value inside layernorm. */
export const LAYERNORM_FRAC_BITS = 10;

/** Scale of the exp lookup table inside softmax: expTable[0] = 2^16. */
export const SOFTMAX_EXP_ONE = 2 ** 16;

const POW2: number[] = Array.from({ length: 64 }, (_, i) => 2 ** i);

/** floor((v + 2^(s-1)) / 2^s): shift right, rounding half up. |v| < 2^52, 0 <= s <= 40. */
export function rshift(v: number, s: number): number {
  if (s === 0) return v;
  return Math.floor((v + POW2[s - 1]) / POW2[s]);
}

/** Requantize: rshift(acc * mult, shift). |acc| < 2^36, 0 <= mult < 2^15 so |acc * mult| < 2^51. */
export function rq(acc: number, mult: number, shift: number): number {
  return rshift(acc * mult, shift);
}

/** Clamp to [lo, hi]. */
export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : Math.min(v, hi);
}

/** floor(a / b) for b > 0 and |a| < 2^52, by integer (BigInt) division. */
export function floorDiv(a: number, b: number): number {
  const n = BigInt(a);
  const d = BigInt(b);
  const q = n / d; // truncates toward zero
  return Number(n % d < 0n ? q - 1n : q);
}

/** Round to nearest, half up: floor((2p + q) / (2q)) for q > 0, |p| < 2^50. */
export function divRound(p: number, q: number): number {
  return floorDiv(2 * p + q, 2 * q);
}

/** floor(sqrt(v)) for 0 <= v < 2^52, by integer Newton iteration. */
export function isqrt(v: number): number {
  if (v < 2) return v;
  // Start from a power of two at or above sqrt(v); Newton then decreases monotonically to the floor.
  let bits = 0;
  while (POW2[bits] <= v) bits += 1;
  let x = POW2[Math.ceil(bits / 2)];
  for (;;) {
    const y = Math.floor((x + floorDiv(v, x)) / 2);
    if (y >= x) return x;
    x = y;
  }
}

/** 2^s for 0 <= s < 64, exact. */
export function pow2(s: number): number {
  return POW2[s];
}
