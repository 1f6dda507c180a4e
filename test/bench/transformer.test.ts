// The benchmark transformer (bench/models/transformer.ts): its size, exact agreement of the two
// backends, activations that use their codes, and a build that depends on the seed alone.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { modelStats } from '../../bench/models/modelStats.ts';
import {
  BenchModelOptionError,
  benchTransformerInput,
  buildBenchTransformer,
  SAMPLE_INPUT_FILE,
  saveBenchTransformer,
} from '../../bench/models/transformer.ts';
import { toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import type { Model } from '../../src/engine/graph.ts';
import { type RunResult, runReference } from '../../src/engine/interpreter.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { getBackend } from '../../src/sdk/backends.ts';
import { loadInput } from '../../src/sdk/loadInput.ts';
import { loadModelDir } from '../../src/store/modelDir.ts';

/**
 * The root of the default model. It changes only when the builder changes on purpose; a change
 * from anything else (the machine, the Node version) means the build is not deterministic.
 */
const DEFAULT_ROOT = '0x73e6d9be3555b2afa3649c1f6461e47013cec10e2e78101567fdec88ffd51fff';

const fast = await getBackend('fast');

const full = buildBenchTransformer();
const fullInput = benchTransformerInput(full, 7);
let fullRun: RunResult | undefined;
/** One reference run of the full-size model (about a second), shared by the tests that read it. */
const fullTrace = () => {
  fullRun ??= runReference(full, fullInput);
  return fullRun;
};

function bytes(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

async function assertBackendsAgree(model: Model, input: Tensor, want: RunResult): Promise<void> {
  const got = await fast.run(model, input);
  assert.equal(got.trace.length, model.ops.length);
  want.trace.forEach((w, i) => {
    const op = model.ops[i];
    assert.deepEqual(got.trace[i].shape, w.shape, `op ${i} ${op.name}: shape`);
    assert.ok(bytes(got.trace[i]).equals(bytes(w)), `op ${i} (${op.type} "${op.name}") differs`);
  });
}

describe('the default benchmark transformer', () => {
  test('validates and has the size of a small real network', () => {
    validateModel(full);
    const s = modelStats(full);
    // Per layer: 2 layernorms, 6 matmuls with weights, 2 activation matmuls, softmax, GELU, 2 adds,
    // and 4 reshapes + 4 transposes to split and merge heads; then gather, add, layernorm, a
    // transpose that makes the pooled axis contiguous, mean, classifier.
    assert.equal(s.ops, 22 * 4 + 6);
    assert.deepEqual(s.opTypes, {
      gather: 1,
      add: 9,
      layernorm: 9,
      matmul: 33,
      reshape: 16,
      transpose: 17,
      softmax: 4,
      lut: 4,
      reducemean: 1,
    });
    // Per layer 18 [T,d] outputs, 2 [H,T,T] (scores, probabilities) and 2 [T,ffn] (FFN up, GELU).
    const T = 128;
    const perLayer = 18 * T * 256 + 2 * 4 * T * T + 2 * T * 1024;
    assert.equal(s.activationBytes, 4 * perLayer + 4 * T * 256 + 256 + 4);
    assert.ok(s.activationBytes > 3.5e6 && s.activationBytes < 4.5e6);
    assert.equal(s.largestActivation, T * 1024);
    assert.equal(s.maxDotLength, 1024);
    // 4·(4·d² + 2·d·ffn) weights, the embedding tables, and biases, gains and the classifier.
    assert.ok(s.params > 4 * (4 * 256 ** 2 + 2 * 256 * 1024) + 1128 * 256, `${s.params} params`);
    assert.ok(s.params < 3.5e6, `${s.params} params`);
  });

  test('the fast backend reproduces every op output of the reference, byte for byte', async () => {
    await assertBackendsAgree(full, fullInput, fullTrace());
  });

  test('activations spread over their codes: little saturation, many distinct values', () => {
    const { trace } = fullTrace();
    trace.forEach((t, i) => {
      const op = full.ops[i];
      const n = t.data.length;
      const where = `op ${i} (${op.type} "${op.name}")`;
      const hist = new Float64Array(256);
      let sumSq = 0;
      for (const v of t.data) {
        hist[v] += 1;
        sumSq += (v - t.zeroPoint) ** 2;
      }
      const distinct = hist.filter((c) => c > 0).length;
      const mode = Math.max(...hist) / n;
      if (n < 256) {
        // The classifier's 4 logits: inside the range, not all equal.
        assert.ok(hist[0] === 0 && hist[255] === 0, `${where}: saturated logits`);
        assert.ok(distinct > 1, `${where}: all logits equal`);
        return;
      }
      if (op.type === 'softmax') {
        // Over 128 keys most probabilities are a few 1/255: many round to 0, none reaches 1.
        assert.ok(hist[0] / n < 0.3, `${where}: ${hist[0] / n} of the probabilities are 0`);
        assert.ok(hist[255] / n < 0.001, `${where}: saturated probabilities`);
        assert.ok(distinct >= 16 && mode < 0.5, `${where}: ${distinct} codes, mode ${mode}`);
        return;
      }
      const saturated = (hist[0] + hist[255]) / n;
      assert.ok(saturated < 0.01, `${where}: ${saturated} of the codes at 0 or 255`);
      assert.ok(distinct >= 64 && mode < 0.2, `${where}: ${distinct} codes, mode ${mode}`);
      // Centered activations were quantized at 32 codes per predicted rms.
      const rms = Math.sqrt(sumSq / n);
      if (t.zeroPoint === 128) assert.ok(rms > 20 && rms < 48, `${where}: rms ${rms} codes`);
    });
  });

  test('the same seed builds the same model, a different seed another one', () => {
    assert.equal(toHex(modelRoot(full)), DEFAULT_ROOT);
    assert.equal(toHex(modelRoot(buildBenchTransformer({ seed: 1 }))), DEFAULT_ROOT);
    assert.notEqual(toHex(modelRoot(buildBenchTransformer({ seed: 2 }))), DEFAULT_ROOT);
  });
});

describe('other configurations', () => {
  const small = [
    { layers: 1, d: 32, tokens: 8, heads: 2, ffn: 64, vocab: 50 },
    { layers: 2, d: 48, tokens: 16, heads: 3, ffn: 96, vocab: 20, classes: 2, seed: 9 },
  ];

  test('validate, and the backends agree on a batch of three', async () => {
    for (const options of small) {
      const model = buildBenchTransformer(options);
      validateModel(model);
      assert.equal(model.ops.length, 22 * options.layers + 6);
      assert.equal(modelStats(model).maxDotLength, options.ffn);
      const input = benchTransformerInput(model, 3, 3);
      const want = runReference(model, input);
      assert.deepEqual(want.output.shape, [3, options.classes ?? 4]);
      await assertBackendsAgree(model, input, want);
    }
  });

  test('inconsistent options fail with a message that names them', () => {
    const cases: [object, RegExp][] = [
      [{ d: 100, heads: 3 }, /d = 100 must be a multiple of heads = 3/],
      [{ layers: 0 }, /layers = 0 must be a positive integer/],
      [{ tokens: 1.5 }, /tokens = 1.5 must be a positive integer/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => buildBenchTransformer(options),
        (e: unknown) => e instanceof BenchModelOptionError && message.test(e.message),
      );
    }
  });

  test('a saved package loads back with its root and its sample input', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'verinfer-bench-'));
    try {
      const model = buildBenchTransformer(small[0]);
      const input = benchTransformerInput(model);
      const out = join(dir, 'pkg');
      const manifest = await saveBenchTransformer(out, model, input, { build: small[0] });
      const pkg = await loadModelDir(out);
      assert.equal(manifest.modelRoot, toHex(modelRoot(model)));
      assert.equal(pkg.manifest.modelRoot, manifest.modelRoot);
      const loaded = await loadInput(pkg, join(out, SAMPLE_INPUT_FILE));
      assert.deepEqual(loaded.shape, [1, small[0].tokens]);
      assert.deepEqual(Array.from(loaded.data), Array.from(input.data));
      assert.ok(
        bytes(runReference(pkg.model, loaded).output).equals(bytes(runReference(model, input).output)),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
