// Integer-only sources for the benchmark models: a seeded PRNG and exp(-p/q) in fixed point.
//
// A model's root commits every constant byte, so the same seed must give the same bytes on every
// machine and Node version. Both functions therefore use integer arithmetic only: the PRNG works on
// uint32 values, and the exp tables come from BigInt fixed point instead of Math.exp, whose last
// bit the ECMAScript spec leaves to the engine.

/** A deterministic stream of integers (mulberry32). */
export interface SeededInts {
  /** Uniform in [0, 2^32). */
  uint32(): number;
  /** Uniform integer in [lo, hi]; hi - lo < 2^21. */
  int(lo: number, hi: number): number;
  /** Sum of four uniform integers in [-half, half]: a bell-shaped integer with variance 4·half·(half+1)/3. */
  bell(half: number): number;
}

export function seededInts(seed: number): SeededInts {
  let state = seed >>> 0;
  const uint32 = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  // u * n < 2^53, so the product and the division by 2^32 are exact.
  const int = (lo: number, hi: number) => lo + Math.floor((uint32() * (hi - lo + 1)) / 2 ** 32);
  const bell = (half: number) => int(-half, half) + int(-half, half) + int(-half, half) + int(-half, half);
  return { uint32, int, bell };
}

/** Fraction bits of the fixed-point exp. */
const FRAC = 96n;
const ONE = 1n << FRAC;

/** floor-ish 2^96 · exp(-p/q) for integers p >= 0, q > 0 (relative error below 2^-80). */
export function expNegFixed(p: number, q: number): bigint {
  const P = BigInt(p);
  const Q = BigInt(q);
  // Halve the argument k times until it is at most 2^-8, where 12 Taylor terms are exact to far
  // beyond 96 bits, then square the result k times.
  let k = 0n;
  while (P << 8n > Q << k) k += 1n;
  const r = (P << FRAC) / (Q << k);
  let term = ONE;
  let sum = ONE;
  for (let n = 1n; n <= 12n; n++) {
    term = -(term * r) / (ONE * n);
    sum += term;
  }
  for (let i = 0n; i < k; i++) sum = (sum * sum) >> FRAC;
  return sum;
}

/** round(2^bits · exp(-p/q)), correctly rounded (a tie cannot occur for p > 0). */
export function expNegRounded(p: number, q: number, bits: number): number {
  return Number((expNegFixed(p, q) + (1n << (FRAC - BigInt(bits) - 1n))) >> (FRAC - BigInt(bits)));
}

/**
 * round(x · sigmoid(c·x) · outDen) for x = a / inDen and c = cNum / cDen, rounding half away
 * from zero: the sigmoid form of GELU (c = 1.702) at one input code, in output units of 1/outDen.
 */
export function geluSigmoidRounded(
  a: number,
  inDen: number,
  cNum: number,
  cDen: number,
  outDen: number,
): number {
  if (a === 0) return 0;
  // e = exp(-c·|x|); sigmoid(c·x) = 1 / (1 + e) for x > 0 and e / (1 + e) for x < 0.
  const e = expNegFixed(cNum * Math.abs(a), cDen * inDen);
  const sig = ((a > 0 ? ONE : e) << FRAC) / (ONE + e);
  // |y| · 2^96 = |a| · outDen · sig / inDen.
  const num = BigInt(Math.abs(a) * outDen) * sig;
  const den = BigInt(inDen);
  const rounded = (2n * num + den * ONE) / (2n * den * ONE);
  return a > 0 ? Number(rounded) : -Number(rounded);
}
