// Differential tests: the fast backend must reproduce the reference interpreter's whole trace
// (every op output, byte for byte) on random valid models, at the accumulator extremes and on the
// int16-saturation patterns of onnxruntime's u8 x s8 kernels.
//
// VERINFER_FUZZ_RUNS=N   number of random cases (default 10000, about 10 s)
// VERINFER_FUZZ_SEED=S   first seed (default 1); a failure prints the seed that reproduces it
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { clamp, floorDiv, isqrt, MAX_SHIFT, MULT_LIMIT, rq } from '../../src/engine/arith.ts';
import { createFastBackend, type FastBackend } from '../../src/engine/fast/index.ts';
import { isqrtEst } from '../../src/engine/fast/normalize.ts';
import { requantRows, requantRun, requantTable } from '../../src/engine/fast/requant.ts';
import type { Model } from '../../src/engine/graph.ts';
import { type RunResult, runReference } from '../../src/engine/interpreter.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import {
  extremeAccumulatorModels,
  ModelBuilder,
  mulberry32,
  namedChainModel,
  randomCase,
  randomInput,
} from '../support/randomModel.ts';

const RUNS = Number(process.env.VERINFER_FUZZ_RUNS ?? 10000);
const SEED = Number(process.env.VERINFER_FUZZ_SEED ?? 1);

/** Backends under test: every eligible conv/matmul in onnxruntime, the defaults, all TypeScript, one call per op via the Promise API. */
const backends: Record<string, FastBackend> = {
  ort: createFastBackend({ minOrtMacs: 0 }),
  default: createFastBackend(),
  ts: createFastBackend({ minOrtMacs: Number.POSITIVE_INFINITY }),
  ungrouped: createFastBackend({ minOrtMacs: 0, groupCalls: false, nativeBinding: false }),
};

after(async () => {
  for (const b of Object.values(backends)) await b.dispose();
});

function bytes(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Asserts that two traces are identical; the message names the first differing op and byte. */
function assertSameTrace(model: Model, want: RunResult, got: RunResult, context: string): void {
  assert.equal(got.trace.length, want.trace.length, `${context}: trace length`);
  for (let i = 0; i < want.trace.length; i++) {
    const w = want.trace[i];
    const g = got.trace[i];
    const where = `${context}: op ${i} (${model.ops[i].type} "${model.ops[i].name}")`;
    assert.equal(g.dtype, w.dtype, `${where}: dtype`);
    assert.deepEqual(g.shape, w.shape, `${where}: shape`);
    assert.equal(
      Object.is(g.zeroPoint, w.zeroPoint),
      true,
      `${where}: zero point ${g.zeroPoint} vs ${w.zeroPoint}`,
    );
    const a = bytes(w);
    const b = bytes(g);
    if (!a.equals(b)) {
      let k = 0;
      while (k < a.length && a[k] === b[k]) k++;
      assert.fail(
        `${where}: byte ${k} is ${b[k]}, the reference says ${a[k]} (lengths ${b.length}/${a.length})`,
      );
    }
  }
  assert.equal(got.output, got.trace[got.trace.length - 1]);
}

async function check(
  backend: FastBackend,
  name: string,
  model: Model,
  input: Tensor,
  context: string,
): Promise<void> {
  const want = runReference(model, input);
  const got = await backend.run(model, input);
  assertSameTrace(model, want, got, `${context} [${name} backend]`);
}

describe('fast backend vs reference on random models', () => {
  test(`${RUNS} random cases (seeds ${SEED}..${SEED + RUNS - 1}), whole trace, two backends each`, async () => {
    const names = Object.keys(backends);
    const seen = new Map<string, number>();
    for (let seed = SEED; seed < SEED + RUNS; seed++) {
      const c = randomCase(seed);
      const want = runReference(c.model, c.input);
      // Every case on the all-onnxruntime backend, plus one of the others in rotation.
      for (const name of ['ort', names[1 + (seed % (names.length - 1))]]) {
        const context = `seed ${seed} (${c.kind}, batch ${c.batch}; rerun with VERINFER_FUZZ_SEED=${seed} VERINFER_FUZZ_RUNS=1)`;
        const got = await backends[name].run(c.model, c.input);
        assertSameTrace(c.model, want, got, `${context} [${name} backend]`);
        await backends[name].release(c.model);
      }
      for (const op of c.model.ops) seen.set(op.type, (seen.get(op.type) ?? 0) + 1);
    }
    if (RUNS >= 500) assert.ok(seen.size >= 14, `op types covered: ${[...seen.keys()].join(', ')}`);
  });

  test('named chains at batch 1..4: conv->maxpool->reshape->matmul and gather->layernorm->matmul->softmax', async () => {
    for (let seed = 0; seed < 200; seed++) {
      const rng = mulberry32(1e6 + seed);
      const model = namedChainModel({ rng, extreme: seed % 4 === 0 }, (seed % 2) as 0 | 1);
      const batch = 1 + (seed % 4);
      const input = randomInput(model, batch, rng, seed % 8 === 0 ? 'extreme' : 'random');
      await check(backends.ort, 'ort', model, input, `named chain ${seed}`);
      await check(backends.default, 'default', model, input, `named chain ${seed}`);
      await backends.ort.release(model);
      await backends.default.release(model);
    }
  });

  test('the same backend and model at changing batch sizes (plans and sessions are reused)', async () => {
    const c = randomCase(SEED + 7);
    const rng = mulberry32(99);
    for (const batch of [1, 4, 2, 1, 3, 4]) {
      const input = randomInput(c.model, batch, rng);
      await check(backends.ort, 'ort', c.model, input, `batch ${batch}`);
    }
    await backends.ort.release(c.model);
  });
});

describe('fast backend vs reference at the extremes', () => {
  const models = extremeAccumulatorModels();
  for (const { name, model } of models) {
    test(name, async () => {
      const rng = mulberry32(7);
      for (const mode of ['zeros', 'max', 'extreme', 'random'] as const) {
        for (const batch of [1, 3]) {
          const input = randomInput(model, batch, rng, mode);
          for (const b of ['ort', 'ts'] as const)
            await check(backends[b], b, model, input, `${name}, ${mode} input, batch ${batch}`);
        }
      }
      await backends.ort.release(model);
      await backends.ts.release(model);
    });
  }

  test('the max-accumulator models really reach |acc| = 2^31 - 1 and the validator bound', () => {
    const names = models.map((m) => m.name);
    assert.ok(names.some((n) => n.startsWith('matmul K=65793 w=-128 zx=255 bias=127')));
    assert.ok(names.some((n) => n.startsWith('act x act K=33025')));
    // (0 - 255) * -128 * 65793 + 127 = 2^31 - 1; (0 - 255) * (0 - 255) * 33025 + 33022 = 2^31 - 1.
    assert.equal(255 * 128 * 65793 + 127, 2 ** 31 - 1);
    assert.equal(255 * 255 * 33025 + 33022, 2 ** 31 - 1);
  });

  test("diagnostic: int8 weights fed as s8 hit onnxruntime's int16 saturation (not exact on AVX2)", async (t) => {
    // Documents why the backend feeds weights as u8 + 128: with s8 weights the u8 x s8 GEMM's
    // VPMADDUBSW saturates on AVX2 machines without VNNI. Not an assertion: other CPUs are exact.
    const s8 = createFastBackend({ minOrtMacs: 0, weightEncoding: 's8' });
    let differ = 0;
    let total = 0;
    for (const { model } of models.filter((m) => m.name.startsWith('saturation'))) {
      const input = randomInput(model, 1, mulberry32(3), 'max');
      const want = runReference(model, input);
      const got = await s8.run(model, input);
      total += 1;
      if (!bytes(want.output).equals(bytes(got.output))) differ += 1;
    }
    await s8.dispose();
    t.diagnostic(`s8 weights: ${differ} of ${total} saturation models differ from the reference`);
  });
});

describe('fast backend errors and inputs', () => {
  test('an out-of-range token id throws the same error as the reference', async () => {
    const b = new ModelBuilder();
    const ids = b.input('i32', [1, 3]);
    b.op({ type: 'gather', inputs: [b.constant(new Uint8Array(8), [4, 2]), ids] }, 0);
    const model = b.build('gather');
    for (const bad of [4, -1, 2 ** 31 - 1]) {
      const input: Tensor = { dtype: 'i32', shape: [1, 3], data: Int32Array.from([0, bad, 1]), zeroPoint: 0 };
      let want: unknown;
      try {
        runReference(model, input);
      } catch (e) {
        want = e;
      }
      assert.ok(want instanceof Error);
      await assert.rejects(
        backends.default.run(model, input),
        (e: Error) => e.name === want.name && e.message === want.message,
      );
    }
  });

  test('an input that does not fit the model is rejected like the reference does', async () => {
    const c = randomCase(3);
    const good = randomInput(c.model, 2, mulberry32(1));
    const bad: Tensor = { ...good, shape: [2, ...good.shape.slice(1).map((d) => d + 1)] };
    assert.throws(() => runReference(c.model, bad));
    await assert.rejects(backends.default.run(c.model, bad));
  });

  test('runs are independent: the input is not modified and earlier traces stay intact', async () => {
    const c = randomCase(SEED + 11);
    const copy = Uint8Array.from(c.input.data as Uint8Array);
    const first = await backends.default.run(c.model, c.input);
    const firstBytes = first.trace.map((t) => Buffer.from(bytes(t)));
    const other = randomInput(c.model, c.batch, mulberry32(5));
    await backends.default.run(c.model, other);
    assert.deepEqual(Uint8Array.from(c.input.data as Uint8Array), copy);
    for (const [i, t] of first.trace.entries())
      assert.ok(bytes(t).equals(firstBytes[i]), `trace ${i} changed`);
    await backends.default.release(c.model);
  });

  test('an input that is a view into a larger buffer (non-zero byteOffset) reaches onnxruntime correctly', async () => {
    for (let seed = 0; seed < 20; seed++) {
      const model = namedChainModel({ rng: mulberry32(seed), extreme: false }, 0);
      const input = randomInput(model, 2, mulberry32(seed));
      const big = new Uint8Array(input.data.length + 13);
      big.set(input.data as Uint8Array, 7);
      const view: Tensor = { ...input, data: big.subarray(7, 7 + input.data.length) };
      assertSameTrace(model, runReference(model, input), await backends.ort.run(model, view), `view ${seed}`);
      await backends.ort.release(model);
    }
  });

  test('concurrent runs give the same traces as sequential ones', async () => {
    const cases = [1, 2, 3, 4, 5, 6].map((s) => randomCase(SEED + 100 + s));
    const results = await Promise.all(cases.map((c) => backends.ungrouped.run(c.model, c.input)));
    for (const [i, c] of cases.entries()) {
      assertSameTrace(c.model, runReference(c.model, c.input), results[i], `concurrent ${i}`);
    }
    for (const c of cases) await backends.ungrouped.release(c.model);
  });
});

describe('ISQRT_EST (kernels.ts) = arith.isqrt', () => {
  test('random values below 2^52, perfect squares and their neighbours (20000 runs)', () => {
    const arb = fc.oneof(
      fc.integer({ min: 0, max: 2 ** 52 - 1 }),
      fc
        .integer({ min: 0, max: 2 ** 26 - 1 })
        .chain((r) => fc.constantFrom(r * r, Math.max(0, r * r - 1), r * r + 1)),
      fc.integer({ min: 0, max: 10000 }),
    );
    fc.assert(
      fc.property(arb, (v) => {
        assert.equal(isqrtEst(v), isqrt(v));
      }),
      { numRuns: 20000 },
    );
  });
});

describe('FLOOR_RECIP (kernels.ts): reciprocal estimate plus one correction = floorDiv', () => {
  const recipFloor = (a: number, b: number) => {
    let q = Math.floor(a * (1 / b));
    if (q * b > a) q -= 1;
    else if ((q + 1) * b <= a) q += 1;
    return q;
  };
  test('|a| < 2^40, 0 < b < 2^40, near-integer quotients included (20000 runs)', () => {
    const near = fc
      .tuple(
        fc.integer({ min: 1, max: 2 ** 40 - 1 }),
        fc.integer({ min: -(2 ** 30), max: 2 ** 30 }),
        fc.integer({ min: -2, max: 2 }),
      )
      .map(([b, k, d]) => [k * b + d, b] as const)
      .filter(([a]) => Math.abs(a) < 2 ** 40);
    const any = fc.tuple(
      fc.integer({ min: -(2 ** 40) + 1, max: 2 ** 40 - 1 }),
      fc.integer({ min: 1, max: 2 ** 40 - 1 }),
    );
    const small = fc.tuple(fc.integer({ min: 0, max: 2 ** 33 }), fc.integer({ min: 1, max: 2 ** 34 }));
    fc.assert(
      fc.property(fc.oneof(near, any, small), ([a, b]) => {
        assert.equal(recipFloor(a, b), floorDiv(a, b));
      }),
      { numRuns: 20000 },
    );
  });
});

describe('int32 requantization kernel (requant.ts) vs arith.ts', () => {
  const reference = (a: number, m: number, s: number, zy: number, qmin: number, qmax: number) =>
    clamp(zy + rq(a, m, s), qmin, qmax);
  const arbParams = fc.record({
    mult: fc.oneof(fc.integer({ min: 0, max: MULT_LIMIT - 1 }), fc.constantFrom(0, 1, MULT_LIMIT - 1)),
    shift: fc.oneof(fc.integer({ min: 0, max: MAX_SHIFT }), fc.constantFrom(0, 1, 15, 16, 17, 18, MAX_SHIFT)),
    zy: fc.integer({ min: 0, max: 255 }),
    q1: fc.integer({ min: 0, max: 255 }),
    q2: fc.integer({ min: 0, max: 255 }),
    bias: fc.integer({ min: -(2 ** 20), max: 2 ** 20 }),
  });
  const arbAcc = fc.oneof(
    fc.integer({ min: -(2 ** 31) + 2 ** 20 + 1, max: 2 ** 31 - 2 ** 20 - 1 }),
    fc.integer({ min: -5000, max: 5000 }),
    fc.constantFrom(0, 1, -1, 2 ** 31 - 2 ** 20 - 1, -(2 ** 31) + 2 ** 20 + 1),
  );

  test('requantRun equals clamp(zy + rq(acc + bias, mult, shift), qmin, qmax) (20000 runs)', () => {
    fc.assert(
      fc.property(arbParams, fc.array(arbAcc, { minLength: 1, maxLength: 64 }), (p, accs) => {
        const qmin = Math.min(p.q1, p.q2);
        const qmax = Math.max(p.q1, p.q2);
        const t = requantTable(
          Int32Array.of(p.bias),
          Int32Array.of(p.mult),
          Int32Array.of(p.shift),
          1,
          p.zy,
          qmin,
          qmax,
        );
        const acc = Int32Array.from(accs);
        const y = new Uint8Array(acc.length);
        requantRun(t, 0, acc, y, 0, acc.length);
        for (let i = 0; i < acc.length; i++) {
          assert.equal(y[i], reference(acc[i] + p.bias, p.mult, p.shift, p.zy, qmin, qmax));
        }
      }),
      { numRuns: 20000 },
    );
  });

  test('every A in a window around each saturation threshold and across int32 (DIRECT and SPLIT)', () => {
    const rng = mulberry32(42);
    for (let k = 0; k < 300; k++) {
      const mult = k % 10 === 0 ? MULT_LIMIT - 1 : rng.int(1, MULT_LIMIT - 1);
      const shift = k % 7 === 0 ? 0 : rng.int(0, MAX_SHIFT);
      const zy = rng.int(0, 255);
      const qmin = rng.int(0, 128);
      const qmax = rng.int(qmin, 255);
      const t = requantTable(Int32Array.of(0), Int32Array.of(mult), Int32Array.of(shift), 1, zy, qmin, qmax);
      const centers = [
        0,
        t.aMin[0],
        t.aMax[0],
        2 ** 31 - 300,
        -(2 ** 31) + 300,
        rng.int(-(2 ** 31) + 300, 2 ** 31 - 300),
      ];
      const acc = new Int32Array(centers.length * 512);
      centers.forEach((c, j) => {
        for (let d = -256; d < 256; d++)
          acc[j * 512 + d + 256] = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, c + d));
      });
      const y = new Uint8Array(acc.length);
      requantRun(t, 0, acc, y, 0, acc.length);
      for (let i = 0; i < acc.length; i++) {
        if (y[i] !== reference(acc[i], mult, shift, zy, qmin, qmax)) {
          assert.fail(`mult ${mult} shift ${shift} zy ${zy} [${qmin},${qmax}] acc ${acc[i]}: ${y[i]}`);
        }
      }
    }
  });

  test('requantRows with per-column parameters of mixed modes', () => {
    fc.assert(
      fc.property(
        fc.array(arbParams, { minLength: 1, maxLength: 6 }),
        fc.array(arbAcc, { minLength: 6, maxLength: 6 * 8 }),
        (cols, accs) => {
          const n = cols.length;
          const rows = Math.floor(accs.length / n);
          if (rows === 0) return;
          const zy = cols[0].zy;
          const qmin = Math.min(cols[0].q1, cols[0].q2);
          const qmax = Math.max(cols[0].q1, cols[0].q2);
          const bias = Int32Array.from(cols.map((c) => c.bias));
          const mult = Int32Array.from(cols.map((c) => c.mult));
          const shift = Int32Array.from(cols.map((c) => c.shift));
          const t = requantTable(bias, mult, shift, n, zy, qmin, qmax);
          const acc = Int32Array.from(accs.slice(0, rows * n));
          const y = new Uint8Array(acc.length);
          requantRows(t, rows, n, acc, y);
          for (let i = 0; i < acc.length; i++) {
            const j = i % n;
            assert.equal(y[i], reference(acc[i] + bias[j], mult[j], shift[j], zy, qmin, qmax));
          }
        },
      ),
      { numRuns: 5000 },
    );
  });
});
