// Seeded float32 weights with exactly reproducible bytes: every value is an integer from the
// integer PRNG (./seeded.ts) divided by a power of two, so it is exact in float32 and no
// floating-point operation (whose rounding could depend on the engine) decides any bit.
import type { SeededInts } from './seeded.ts';

/** Fraction bits of every generated value. */
export const INIT_BITS = 14;
const SCALE = 2 ** INIT_BITS;

/**
 * The smallest bell half-width h whose variance 4h(h+1)/3 / 4^INIT_BITS reaches num/den: the
 * float estimate is corrected by exact integer comparisons, so h does not depend on Math.sqrt.
 */
export function bellHalfFor(num: number, den: number): number {
  const target = (h: bigint) => 4n * h * (h + 1n) * BigInt(den) >= 3n * BigInt(num) * 4n ** BigInt(INIT_BITS);
  let h = BigInt(Math.max(1, Math.floor(Math.sqrt((3 * num * SCALE * SCALE) / (4 * den)))));
  while (h > 1n && target(h - 1n)) h -= 1n;
  while (!target(h)) h += 1n;
  if (h >= 1n << 19n) throw new RangeError(`Variance ${num}/${den} is too large for the generator.`);
  return Number(h);
}

/** n values with variance about num/den (bell-shaped, mean 0). */
export function bellFloats(rng: SeededInts, n: number, num: number, den: number): Float32Array {
  const half = bellHalfFor(num, den);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.bell(half) / SCALE;
  return out;
}

/** He-like weights for a layer with `fanIn` inputs: variance gainNum / (gainDen · fanIn). */
export function heFloats(rng: SeededInts, n: number, fanIn: number, gainNum = 2, gainDen = 1): Float32Array {
  return bellFloats(rng, n, gainNum, gainDen * fanIn);
}

/** n uniform values in [lo, hi] / 2^INIT_BITS (small biases, folded batch-norm shifts). */
export function uniformFloats(rng: SeededInts, n: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(lo, hi) / SCALE;
  return out;
}

/** 1 / √d rounded down to a multiple of 2^-40 by integer square root, then to float32. */
export function invSqrt(d: number): number {
  const target = (1n << 80n) / BigInt(d);
  let r = BigInt(Math.floor(2 ** 40 / Math.sqrt(d)));
  while (r * r > target) r -= 1n;
  while ((r + 1n) * (r + 1n) <= target) r += 1n;
  return Math.fround(Number(r) / 2 ** 40);
}
