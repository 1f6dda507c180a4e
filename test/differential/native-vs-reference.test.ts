// Differential tests: the native backend (the WebAssembly engine with its conv and matmul ops,
// and on vnni512 its softmax, layernorm and lookup tables, run whole by the native kernels) must
// reproduce the reference interpreter's whole trace on random valid models, on every vector path
// this CPU has. Every such op goes native here (minMacs 0), however small; a second pass runs only
// the GEMMs natively (wholeOps false).
// Skips where the addon could not be built (test/engine/native.test.ts fails if g++ exists).
//
// VERINFER_FUZZ_RUNS=N   random cases per path (default 300)
// VERINFER_FUZZ_SEED=S   first seed (default 1)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runReference } from '../../src/engine/interpreter.ts';
import { createNativeBackend, loadNative, NATIVE_PATHS } from '../../src/engine/native/index.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { mulberry32, namedChainModel, randomCase, randomInput } from '../support/randomModel.ts';

const RUNS = Number(process.env.VERINFER_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.VERINFER_FUZZ_SEED ?? 1);
const status = await loadNative();
const paths = status.loaded ? status.paths : [];

const bytes = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

describe('native backend vs reference on random models', () => {
  for (const path of NATIVE_PATHS) {
    const skip = !status.loaded
      ? `native addon unavailable: ${status.reason}`
      : !paths.includes(path) && `no ${path}`;
    test(`${path}: ${RUNS} random cases and 40 named chains, whole trace and honest path`, {
      skip,
    }, async () => {
      const native = await createNativeBackend({ path, minMacs: 0 });
      const gemmOnly = await createNativeBackend({ path, minMacs: 0, wholeOps: false });
      // Cases are made one at a time and each model's engine state is released after it, so that
      // long runs (VERINFER_FUZZ_RUNS=200000) never hold more than one WebAssembly memory per backend.
      function* cases() {
        for (let seed = SEED; seed < SEED + RUNS; seed++) {
          const c = randomCase(seed);
          yield { ...c, where: `seed ${seed} (${c.kind}; VERINFER_FUZZ_SEED=${seed} VERINFER_FUZZ_RUNS=1)` };
        }
        for (let k = 0; k < 40; k++) {
          const rng = mulberry32(2e6 + k);
          const model = namedChainModel({ rng, extreme: k % 4 === 0 }, (k % 2) as 0 | 1);
          yield { model, input: randomInput(model, 1 + (k % 4), rng), where: `named chain ${k}` };
        }
      }
      for (const { model, input, where } of cases()) {
        const want = runReference(model, input);
        const got = native.runSync(model, input);
        const viaGemm = gemmOnly.runSync(model, input);
        want.trace.forEach((w, i) => {
          assert.ok(
            bytes(got.trace[i]).equals(bytes(w)),
            `${path}, ${where}: op ${i} (${model.ops[i].type}) differs`,
          );
          assert.ok(
            bytes(viaGemm.trace[i]).equals(bytes(w)),
            `${path}, ${where}: op ${i} (${model.ops[i].type}) differs with native GEMMs only`,
          );
        });
        const honest = native.runHonestSync(model, input);
        assert.ok(bytes(honest.output).equals(bytes(want.output)), `${path}, ${where}: honest output`);
        assert.ok(
          bytes(honest.checkpoint).equals(bytes(want.trace[honest.checkpointIndex])),
          `${where}: checkpoint`,
        );
        await native.release(model);
        await gemmOnly.release(model);
      }
    });
  }
});
