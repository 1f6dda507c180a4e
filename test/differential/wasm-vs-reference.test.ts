// Differential tests: the WebAssembly engine must reproduce the reference interpreter's whole
// trace (every op output, byte for byte) on random valid models, at the accumulator extremes, and
// its honest path must return the same output and checkpoint.
//
// VERINFER_FUZZ_RUNS=N   number of random cases (default 3000)
// VERINFER_FUZZ_SEED=S   first seed (default 1); a failure prints the seed that reproduces it
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Model } from '../../src/engine/graph.ts';
import { type RunResult, runReference } from '../../src/engine/interpreter.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import {
  extremeAccumulatorModels,
  ModelBuilder,
  mulberry32,
  namedChainModel,
  randomCase,
  randomInput,
} from '../support/randomModel.ts';

const RUNS = Number(process.env.VERINFER_FUZZ_RUNS ?? 3000);
const SEED = Number(process.env.VERINFER_FUZZ_SEED ?? 1);
const wasm = createWasmBackend();

function bytes(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function assertSameTrace(model: Model, want: RunResult, got: RunResult, context: string): void {
  assert.equal(got.trace.length, want.trace.length, `${context}: trace length`);
  for (let i = 0; i < want.trace.length; i++) {
    const w = want.trace[i];
    const g = got.trace[i];
    const where = `${context}: op ${i} (${model.ops[i].type} "${model.ops[i].name}")`;
    assert.equal(g.dtype, w.dtype, `${where}: dtype`);
    assert.deepEqual(g.shape, w.shape, `${where}: shape`);
    assert.ok(Object.is(g.zeroPoint, w.zeroPoint), `${where}: zero point ${g.zeroPoint} vs ${w.zeroPoint}`);
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

function check(model: Model, input: Tensor, context: string): void {
  const want = runReference(model, input);
  assertSameTrace(model, want, wasm.runSync(model, input), context);
  const honest = wasm.runHonestSync(model, input);
  assert.ok(bytes(honest.output).equals(bytes(want.output)), `${context}: honest output`);
  assert.ok(
    bytes(honest.checkpoint).equals(bytes(want.trace[honest.checkpointIndex])),
    `${context}: honest checkpoint`,
  );
  assert.equal(honest.checkpointIndex, Math.max(0, model.ops.length - 2));
}

describe('wasm engine vs reference on random models', () => {
  test(`${RUNS} random cases (seeds ${SEED}..${SEED + RUNS - 1}), whole trace and honest path`, () => {
    const seen = new Map<string, number>();
    for (let seed = SEED; seed < SEED + RUNS; seed++) {
      const c = randomCase(seed);
      check(
        c.model,
        c.input,
        `seed ${seed} (${c.kind}, batch ${c.batch}; rerun with VERINFER_FUZZ_SEED=${seed} VERINFER_FUZZ_RUNS=1)`,
      );
      for (const op of c.model.ops) seen.set(op.type, (seen.get(op.type) ?? 0) + 1);
      // Frees the model's engine memory now rather than at the next garbage collection.
      void wasm.release(c.model);
    }
    if (RUNS >= 500) assert.ok(seen.size >= 14, `op types covered: ${[...seen.keys()].join(', ')}`);
  });

  test('named chains at batch 1..4: conv->maxpool->reshape->matmul and gather->layernorm->matmul->softmax', () => {
    for (let seed = 0; seed < 200; seed++) {
      const rng = mulberry32(1e6 + seed);
      const model = namedChainModel({ rng, extreme: seed % 4 === 0 }, (seed % 2) as 0 | 1);
      const batch = 1 + (seed % 4);
      check(
        model,
        randomInput(model, batch, rng, seed % 8 === 0 ? 'extreme' : 'random'),
        `named chain ${seed}`,
      );
    }
  });

  test('the same model at changing batch sizes (the plan is laid out again, constants stay)', () => {
    const c = randomCase(SEED + 7);
    const rng = mulberry32(99);
    for (const batch of [1, 4, 2, 1, 3, 4])
      check(c.model, randomInput(c.model, batch, rng), `batch ${batch}`);
  });
});

describe('wasm engine vs reference at the extremes', () => {
  for (const { name, model } of extremeAccumulatorModels()) {
    test(name, () => {
      const rng = mulberry32(7);
      for (const mode of ['zeros', 'max', 'extreme', 'random'] as const) {
        for (const batch of [1, 3])
          check(model, randomInput(model, batch, rng, mode), `${name}, ${mode}, batch ${batch}`);
      }
    });
  }
});

describe('wasm engine errors and inputs', () => {
  test('an out-of-range token id throws the same error as the reference', async () => {
    const b = new ModelBuilder();
    const ids = b.input('i32', [1, 3]);
    b.op({ type: 'gather', inputs: [b.constant(new Uint8Array(8), [4, 2]), ids] }, 0);
    const model = b.build('gather');
    for (const bad of [4, -1, 2 ** 31 - 1]) {
      const input: Tensor = { dtype: 'i32', shape: [1, 3], data: Int32Array.from([0, bad, 1]), zeroPoint: 0 };
      const want = (() => {
        try {
          runReference(model, input);
        } catch (e) {
          return e as Error;
        }
      })();
      assert.ok(want instanceof Error);
      await assert.rejects(
        wasm.run(model, input),
        (e: Error) => e.name === want.name && e.message === want.message,
      );
    }
  });

  test('an input that does not fit the model is rejected like the reference does', async () => {
    const c = randomCase(3);
    const good = randomInput(c.model, 2, mulberry32(1));
    const bad: Tensor = { ...good, shape: [2, ...good.shape.slice(1).map((d) => d + 1)] };
    assert.throws(() => runReference(c.model, bad));
    await assert.rejects(wasm.run(c.model, bad));
  });

  test('runs are independent: the input is not modified and earlier traces stay intact', async () => {
    const c = randomCase(SEED + 11);
    const copy = Uint8Array.from(c.input.data as Uint8Array);
    const first = await wasm.run(c.model, c.input);
    const firstBytes = first.trace.map((t) => Buffer.from(bytes(t)));
    await wasm.run(c.model, randomInput(c.model, c.batch, mulberry32(5)));
    assert.deepEqual(Uint8Array.from(c.input.data as Uint8Array), copy);
    for (const [i, t] of first.trace.entries())
      assert.ok(bytes(t).equals(firstBytes[i]), `trace ${i} changed`);
  });

  test('an input that is a view into a larger buffer (non-zero byteOffset)', () => {
    for (let seed = 0; seed < 20; seed++) {
      const model = namedChainModel({ rng: mulberry32(seed), extreme: false }, 0);
      const input = randomInput(model, 2, mulberry32(seed));
      const big = new Uint8Array(input.data.length + 13);
      big.set(input.data as Uint8Array, 7);
      const view: Tensor = { ...input, data: big.subarray(7, 7 + input.data.length) };
      assertSameTrace(model, runReference(model, input), wasm.runSync(model, view), `view ${seed}`);
    }
  });
});
