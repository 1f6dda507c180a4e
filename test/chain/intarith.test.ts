// IntArith.sol against src/engine/arith.ts: random and extreme values inside arith.ts's documented
// ranges, plus the exact mathematical definition (bigint) far beyond them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  clamp,
  divRound,
  floorDiv,
  isqrt,
  MAX_SHIFT,
  MULT_LIMIT,
  rq,
  rshift,
} from '../../src/engine/arith.ts';
import {
  batched,
  COMPARED,
  expectSame,
  floorDivBig,
  type Harness,
  RUNS,
  rng,
  SEED,
  startHarness,
} from './support.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

const N = 3000 * RUNS;
const BATCH = 1500;
const B = BigInt;

/** A value in (-limit, limit), often at or next to 0, ±1, the limits and powers of two. */
function edgy(r: ReturnType<typeof rng>, limit: number): number {
  const k = r.int(0, 9);
  if (k === 0) return r.pick([0, 1, -1, limit - 1, -(limit - 1)]);
  if (k <= 2) {
    const p = 2 ** r.int(0, Math.log2(limit) - 1);
    return r.pick([p, -p, p - 1, -p + 1, p + 1, -p - 1]);
  }
  if (k <= 5) return r.int(-1000, 1000);
  return Math.floor((r.int(0, 2 ** 30) * 2 ** 22 + r.int(0, 2 ** 22 - 1)) % limit) * (r.chance(0.5) ? 1 : -1);
}

test('rshift: floor((v + 2^(s-1)) / 2^s), ties and negative values', async () => {
  const r = rng(1);
  const cases = Array.from({ length: N }, () => {
    const s = r.chance(0.2) ? r.pick([0, MAX_SHIFT]) : r.int(0, MAX_SHIFT);
    // Exact ties at ±0.5 with probability 1/4.
    const v =
      r.chance(0.25) && s > 0
        ? r.int(-1000, 1000) * 2 ** s + r.pick([1, -1]) * 2 ** (s - 1)
        : edgy(r, 2 ** 52);
    return { v, s };
  });
  const got = await batched(cases, BATCH, (c) =>
    h.call<bigint[]>(
      'rshift',
      c.map((x) => B(x.v)),
      c.map((x) => B(x.s)),
    ),
  );
  expectSame(
    'rshift',
    cases,
    got,
    cases.map((c) => rshift(c.v, c.s)),
  );
});

test('rq: rshift(acc * mult, shift) over |acc| < 2^36, mult < 2^15', async () => {
  const r = rng(2);
  const cases = Array.from({ length: N }, () => ({
    acc: edgy(r, 2 ** 36),
    mult: r.chance(0.2) ? r.pick([0, 1, MULT_LIMIT - 1]) : r.int(0, MULT_LIMIT - 1),
    s: r.chance(0.2) ? r.pick([0, MAX_SHIFT]) : r.int(0, MAX_SHIFT),
  }));
  const got = await batched(cases, BATCH, (c) =>
    h.call<bigint[]>(
      'rq',
      c.map((x) => B(x.acc)),
      c.map((x) => B(x.mult)),
      c.map((x) => B(x.s)),
    ),
  );
  expectSame(
    'rq',
    cases,
    got,
    cases.map((c) => rq(c.acc, c.mult, c.s)),
  );
});

test('clamp, including lo > hi', async () => {
  const r = rng(3);
  const cases = Array.from({ length: N }, () => ({
    v: r.int(-300, 600),
    lo: r.int(-10, 260),
    hi: r.int(-10, 260),
  }));
  const got = await batched(cases, BATCH, (c) =>
    h.call<bigint[]>(
      'clamp',
      c.map((x) => B(x.v)),
      c.map((x) => B(x.lo)),
      c.map((x) => B(x.hi)),
    ),
  );
  expectSame(
    'clamp',
    cases,
    got,
    cases.map((c) => clamp(c.v, c.lo, c.hi)),
  );
});

test('floorDiv and divRound: floor toward -infinity for negative numerators', async () => {
  const r = rng(4);
  const divisor = () => (r.chance(0.3) ? r.int(1, 9) : r.chance(0.5) ? r.int(1, 2 ** 20) : 2 ** r.int(0, 45));
  const cases = Array.from({ length: N }, () => {
    const b = divisor();
    // Exact multiples, multiples ± 1 and halves, with both signs.
    const a = r.chance(0.3)
      ? r.int(-5000, 5000) * b + r.pick([0, 1, -1, Math.floor(b / 2)])
      : edgy(r, 2 ** 50);
    return { a, b };
  });
  const fd = await batched(cases, BATCH, (c) =>
    h.call<bigint[]>(
      'floorDiv',
      c.map((x) => B(x.a)),
      c.map((x) => B(x.b)),
    ),
  );
  expectSame(
    'floorDiv',
    cases,
    fd,
    cases.map((c) => floorDiv(c.a, c.b)),
  );
  const dr = await batched(cases, BATCH, (c) =>
    h.call<bigint[]>(
      'divRound',
      c.map((x) => B(x.a)),
      c.map((x) => B(x.b)),
    ),
  );
  expectSame(
    'divRound',
    cases,
    dr,
    cases.map((c) => divRound(c.a, c.b)),
  );
});

test('isqrt: squares, squares ± 1 and random values below 2^52', async () => {
  const r = rng(5);
  const cases = Array.from({ length: N }, () => {
    if (r.chance(0.4)) {
      const s = r.int(0, 2 ** 26 - 1);
      return Math.max(0, s * s + r.pick([0, -1, 1]));
    }
    return Math.abs(edgy(r, 2 ** 52));
  });
  const got = await batched(cases, BATCH, (c) => h.call<bigint[]>('isqrt', c.map(B)));
  expectSame('isqrt', cases, got, cases.map(isqrt));
});

test('beyond arith.ts ranges the results are the exact mathematical values', async () => {
  const r = rng(6);
  const n = 1000 * RUNS;
  const v = Array.from({ length: n }, () => r.big(-(2n ** 250n), 2n ** 250n));
  const s = Array.from({ length: n }, () => B(r.int(0, 255)));
  const rs = await h.call<bigint[]>('rshift', v, s);
  expectSame(
    'rshift (wide)',
    v.map((x, i) => ({ v: x, s: s[i] })),
    rs,
    v.map((x, i) => (s[i] === 0n ? x : floorDivBig(x + 2n ** (s[i] - 1n), 2n ** s[i]))),
  );
  const b = Array.from({ length: n }, () => r.big(1n, 2n ** B(r.int(1, 200))));
  const fd = await h.call<bigint[]>('floorDiv', v, b);
  expectSame(
    'floorDiv (wide)',
    v.map((x, i) => ({ a: x, b: b[i] })),
    fd,
    v.map((x, i) => floorDivBig(x, b[i])),
  );
  const sq = Array.from({ length: n }, () => r.big(0n, 2n ** 256n - 1n));
  sq.push(0n, 1n, 2n, 3n, 4n, 2n ** 256n - 1n, 2n ** 255n, (2n ** 128n - 1n) ** 2n);
  const roots = await h.call<bigint[]>('isqrt', sq);
  roots.forEach((x, i) => {
    assert.ok(x * x <= sq[i] && (x + 1n) * (x + 1n) > sq[i], `isqrt(${sq[i]}) = ${x}`);
  });
});

test('non-positive divisors and oversized shifts revert', async () => {
  await assert.rejects(h.call('floorDiv', [1n], [0n]), /NonPositiveDivisor/);
  await assert.rejects(h.call('floorDiv', [1n], [-3n]), /NonPositiveDivisor/);
  await assert.rejects(h.call('divRound', [1n], [0n]), /NonPositiveDivisor/);
  await assert.rejects(h.call('rshift', [1n], [256n]), /ShiftTooLarge/);
});

test('summary: cases compared with the reference', (t) => {
  t.diagnostic(`seed ${SEED}, VERINFER_FUZZ_RUNS=${RUNS}`);
  for (const [what, n] of COMPARED) t.diagnostic(`${what}: ${n}`);
});
