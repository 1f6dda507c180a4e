// Property tests of the rounding rules in arith.ts against BigInt implementations, over the
// documented input ranges and their edges.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { clamp, divRound, floorDiv, isqrt, MAX_SHIFT, MULT_LIMIT, pow2, rq, rshift } from './arith.ts';

const RUNS = 5000;

/** floor(a / b) for BigInt, b > 0 (BigInt division truncates toward zero). */
function floorDivBig(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

function rshiftBig(v: bigint, s: number): bigint {
  if (s === 0) return v;
  return floorDivBig(v + (1n << BigInt(s - 1)), 1n << BigInt(s));
}

function isqrtBig(v: bigint): bigint {
  if (v < 2n) return v;
  let x = v;
  let y = (x + 1n) / 2n;
  while (y < x) {
    x = y;
    y = (x + v / x) / 2n;
  }
  return x;
}

const B52 = 2 ** 52;

/** Integers in (-limit, limit), with the edges and small values over-represented. */
function signedBelow(limit: number): fc.Arbitrary<number> {
  return fc.oneof(
    fc.integer({ min: -(limit - 1), max: limit - 1 }),
    fc.integer({ min: -1000, max: 1000 }),
    fc.constantFrom(0, 1, -1, limit - 1, -(limit - 1), limit - 2, -(limit - 2), 2 ** 31, -(2 ** 31)),
    fc
      .tuple(fc.integer({ min: 0, max: Math.log2(limit) - 1 }), fc.constantFrom(-1, 0, 1), fc.boolean())
      .map(([e, d, neg]) => {
        const v = 2 ** e + d;
        return neg ? -v : v;
      }),
  );
}

const shifts = fc.oneof(fc.integer({ min: 0, max: MAX_SHIFT }), fc.constantFrom(0, 1, 2, 39, MAX_SHIFT));

describe('arith.ts against BigInt', () => {
  test('rshift(v, s) = floor((v + 2^(s-1)) / 2^s), |v| < 2^52, 0 <= s <= 40', () => {
    fc.assert(
      fc.property(signedBelow(B52), shifts, (v, s) => {
        assert.equal(BigInt(rshift(v, s)), rshiftBig(BigInt(v), s));
      }),
      { numRuns: RUNS },
    );
  });

  test('rshift rounds half up at every shift (exact halves, both signs)', () => {
    for (let s = 1; s <= MAX_SHIFT; s++) {
      for (const k of [-5, -2, -1, 0, 1, 2, 5, 2 ** 10 + 1]) {
        for (const d of [-1, 0, 1]) {
          const v = k * 2 ** s + 2 ** (s - 1) + d;
          if (Math.abs(v) >= B52) continue;
          assert.equal(BigInt(rshift(v, s)), rshiftBig(BigInt(v), s), `v=${v} s=${s}`);
        }
      }
    }
  });

  test('rq(acc, mult, shift) = rshift(acc * mult, shift), |acc| < 2^36, 0 <= mult < 2^15', () => {
    fc.assert(
      fc.property(
        signedBelow(2 ** 36),
        fc.oneof(fc.integer({ min: 0, max: MULT_LIMIT - 1 }), fc.constantFrom(0, 1, MULT_LIMIT - 1)),
        shifts,
        (acc, mult, shift) => {
          assert.equal(BigInt(rq(acc, mult, shift)), rshiftBig(BigInt(acc) * BigInt(mult), shift));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('floorDiv(a, b) = floor(a / b), |a| < 2^52, 0 < b < 2^53', () => {
    const divisors = fc.oneof(
      fc.integer({ min: 1, max: 2 ** 53 - 1 }),
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 1, max: 2 ** 26 }),
      fc.constantFrom(1, 2, 3, 7, 2 ** 26 + 1, B52 - 1, B52, 2 ** 53 - 1),
    );
    fc.assert(
      fc.property(signedBelow(B52), divisors, (a, b) => {
        assert.equal(BigInt(floorDiv(a, b)), floorDivBig(BigInt(a), BigInt(b)));
      }),
      { numRuns: RUNS },
    );
  });

  test('floorDiv at exact multiples and their neighbours, where a double quotient rounds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 26 }),
        fc.integer({ min: -(2 ** 25), max: 2 ** 25 }),
        fc.constantFrom(-1, 0, 1),
        (b, k, d) => {
          const a = k * b + d;
          assert.equal(BigInt(floorDiv(a, b)), floorDivBig(BigInt(a), BigInt(b)));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('divRound(p, q) = floor((2p + q) / 2q), |p| < 2^50, 0 < q < 2^52', () => {
    const qs = fc.oneof(
      fc.integer({ min: 1, max: B52 - 1 }),
      fc.integer({ min: 1, max: 70000 }),
      fc.constantFrom(1, 2, 3, 255, 65536, B52 - 1),
    );
    fc.assert(
      fc.property(signedBelow(2 ** 50), qs, (p, q) => {
        const want = floorDivBig(2n * BigInt(p) + BigInt(q), 2n * BigInt(q));
        assert.equal(BigInt(divRound(p, q)), want);
      }),
      { numRuns: RUNS },
    );
  });

  test('divRound rounds exact halves up (toward +infinity)', () => {
    assert.equal(divRound(1, 2), 1);
    assert.equal(divRound(-1, 2), 0);
    assert.equal(divRound(3, 2), 2);
    assert.equal(divRound(-3, 2), -1);
    assert.equal(divRound(5, 10), 1);
    assert.equal(divRound(-5, 10), 0);
    assert.equal(divRound(-6, 10), -1);
  });

  test('isqrt(v) = floor(sqrt(v)), 0 <= v < 2^52', () => {
    const values = fc.oneof(
      fc.integer({ min: 0, max: B52 - 1 }),
      fc.integer({ min: 0, max: 100000 }),
      fc
        .tuple(fc.integer({ min: 0, max: 2 ** 26 - 1 }), fc.constantFrom(-1, 0, 1))
        .map(([r, d]) => Math.max(0, Math.min(B52 - 1, r * r + d))),
      fc.constantFrom(0, 1, 2, 3, 4, B52 - 1, (2 ** 26 - 1) ** 2, (2 ** 26 - 1) ** 2 - 1),
    );
    fc.assert(
      fc.property(values, (v) => {
        assert.equal(BigInt(isqrt(v)), isqrtBig(BigInt(v)));
      }),
      { numRuns: RUNS },
    );
  });

  test('isqrt is exact on every perfect square and its neighbours up to 2^16, and at 2^k', () => {
    for (let r = 0; r <= 2 ** 16; r++) {
      const v = r * r;
      assert.equal(isqrt(v), r);
      if (v > 0) assert.equal(isqrt(v - 1), r - 1);
      assert.equal(isqrt(v + 2 * r), r);
    }
    for (let k = 0; k < 52; k++) assert.equal(BigInt(isqrt(2 ** k)), isqrtBig(2n ** BigInt(k)));
  });

  test('clamp and pow2', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        (v, lo, width) => {
          const hi = lo + width;
          assert.equal(clamp(v, lo, hi), Math.min(hi, Math.max(lo, v)));
        },
      ),
      { numRuns: RUNS },
    );
    for (let s = 0; s < 64; s++) assert.equal(BigInt(pow2(s)), 1n << BigInt(s));
  });
});
