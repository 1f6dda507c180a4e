// Exact integer helpers shared by the kernels. Each matches src/engine/arith.ts inside the range
// the validator guarantees for the op that calls it.

/** Word k of a plan record. */
@inline
export function P(rec: usize, k: i32): i32 {
  return load<i32>(rec + ((<usize>k) << 2));
}

/** Address word k of a plan record. */
@inline
export function A(rec: usize, k: i32): usize {
  return <usize>load<i32>(rec + ((<usize>k) << 2));
}

/** 2^(s-1) for s > 0, else 0: the rounding term of rshift. */
@inline
export function roundTerm(s: i32): i64 {
  return s > 0 ? (<i64>1) << (<i64>(s - 1)) : 0;
}

/** clamp(zy + rshift(v * mult, s), qmin, qmax) in i64: |v| < 2^47, mult < 2^15, s <= 40. */
@inline
export function rqClamp(v: i64, mult: i32, s: i32, zy: i32, qmin: i32, qmax: i32): i32 {
  let t = ((v * <i64>mult + roundTerm(s)) >> (<i64>s)) + <i64>zy;
  if (t < <i64>qmin) t = <i64>qmin;
  if (t > <i64>qmax) t = <i64>qmax;
  return <i32>t;
}

/**
 * floor(a / b) for b > 0 and |a| < 2^52. The double quotient is only an estimate (within 1 of
 * the true quotient at these magnitudes); the integer comparisons then make the result exact.
 */
@inline
export function floorDiv(a: i64, b: i64): i64 {
  let q = <i64>Math.floor(<f64>a / <f64>b);
  if (q * b > a) q -= 1;
  else if ((q + 1) * b <= a) q += 1;
  return q;
}

/** floor((2p + q) / (2q)) for q > 0, |p| < 2^50: division rounding half up. */
@inline
export function divRound(p: i64, q: i64): i64 {
  return floorDiv(2 * p + q, 2 * q);
}

/** floor(sqrt(v)) for 0 <= v < 2^52: a double estimate corrected by exact integer comparisons. */
export function isqrt(v: i64): i64 {
  if (v < 2) return v;
  let x = <i64>Math.sqrt(<f64>v);
  while (x * x > v) x -= 1;
  while ((x + 1) * (x + 1) <= v) x += 1;
  return x;
}
