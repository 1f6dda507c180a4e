// The integer sources of the benchmark models (bench/models/seeded.ts) against float references.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { expNegRounded, geluSigmoidRounded, seededInts } from '../../bench/models/seeded.ts';

describe('seededInts', () => {
  test('the same seed gives the same stream, values stay in range and cover it', () => {
    const a = seededInts(42);
    const b = seededInts(42);
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const v = a.int(-3, 4);
      assert.equal(v, b.int(-3, 4));
      assert.ok(Number.isInteger(v) && v >= -3 && v <= 4);
      seen.add(v);
    }
    assert.equal(seen.size, 8);
    assert.notEqual(seededInts(1).uint32(), seededInts(2).uint32());
  });

  test('bell(27) has the variance 4·27·28/3 it is used for', () => {
    const r = seededInts(5);
    let sumSq = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) sumSq += r.bell(27) ** 2;
    const variance = sumSq / n;
    assert.ok(Math.abs(variance - (4 * 27 * 28) / 3) < 30, `variance ${variance}`);
  });
});

describe('fixed-point exp', () => {
  test('round(2^16·exp(-p/q)) matches the float value up to its last-bit uncertainty', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 100000 }), (p, q) => {
        const float = 2 ** 16 * Math.exp(-p / q);
        const got = expNegRounded(p, q, 16);
        // Equal unless the float value lies within 1e-6 of a rounding boundary.
        if (Math.abs((float % 1) - 0.5) > 1e-6) assert.equal(got, Math.round(float), `p=${p} q=${q}`);
        else assert.ok(Math.abs(got - float) <= 0.5 + 1e-6);
      }),
    );
    assert.equal(expNegRounded(0, 1, 16), 2 ** 16);
  });

  test('GELU in sigmoid form matches x·σ(1.702x) at every input code', () => {
    for (let a = -128; a < 128; a++) {
      const x = a / 32;
      const y = (64 * x) / (1 + Math.exp(-1.702 * x));
      const want = Math.sign(y) * Math.round(Math.abs(y));
      assert.equal(geluSigmoidRounded(a, 32, 1702, 1000, 64), want, `code ${a}`);
    }
  });
});
