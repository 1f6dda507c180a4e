// Small seeded versions of standard architectures (test/fixtures/onnx/make_architectures.py) and
// of TensorFlow and Paddle converter output (make_converters.py): each imports, runs bit-exactly
// on the reference, WebAssembly, ort and native backends (also as a batch, which checks that
// tensors whose first axis is not the batch were put behind a batch axis), and agrees with
// onnxruntime's float model. Architectures that stay unsupported fail with the named
// UnsupportedOpError.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { createNativeBackend, loadNative } from '../../src/engine/native/index.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import { dequantize, type FloatTensor, importOnnx, quantizeInput } from '../../src/onnx/index.ts';
import { argmax, fixture, normalSamples, ortOutputs, rng, uniformSamples } from './helpers.ts';

/**
 * Float agreement: on held-out samples, every output within TOLERANCE * (1 + max |float output|)
 * of onnxruntime, and the same top-1 class on at least 90% of them.
 */
const TOLERANCE = 0.05;

// Attention needs more calibration samples than the CNNs: min/max ranges of 24 samples miss the
// tails of the held-out scores.
interface Case {
  calibration: FloatTensor[];
  test: FloatTensor[];
  /** Op types the integer model must contain (what the architecture is about). */
  ops: string[];
  /** The input is int64 token ids. */
  tokens?: boolean;
}

/** Token ids of random length 3..12 in [1, 50), padded with id 0 (what the BERT mask looks at). */
function paddedTokens(seed: number, n: number): FloatTensor[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const len = 3 + Math.floor(r() * 10);
    return {
      shape: [1, 12],
      data: Array.from({ length: 12 }, (_, i) => (i < len ? 1 + Math.floor(r() * 49) : 0)),
    };
  });
}

const image = (seed: number, n: number) => uniformSamples(seed, n, [1, 3, 16, 16]);
const CASES: Record<string, Case> = {
  torch_encoder: {
    calibration: normalSamples(1, 96, [1, 8, 32]),
    test: normalSamples(2, 40, [1, 8, 32]),
    ops: ['transpose', 'softmax', 'layernorm', 'matmul'],
  },
  torch_mha: {
    calibration: normalSamples(1, 96, [1, 8, 32]),
    test: normalSamples(2, 40, [1, 8, 32]),
    ops: ['transpose', 'softmax', 'matmul'],
  },
  resnet: { calibration: image(1, 24), test: image(2, 40), ops: ['conv', 'maxpool', 'add'] },
  mobilenetv2: { calibration: image(1, 24), test: image(2, 40), ops: ['conv', 'add'] },
  mobilenetv3: { calibration: image(1, 24), test: image(2, 40), ops: ['conv', 'lut', 'matmul'] },
  squeezenet: { calibration: image(1, 24), test: image(2, 40), ops: ['conv', 'concat', 'maxpool'] },
  shufflenet: { calibration: image(1, 24), test: image(2, 40), ops: ['conv', 'transpose'] },
  densenet: { calibration: image(1, 24), test: image(2, 40), ops: ['conv', 'concat', 'avgpool'] },
  efficientnet: { calibration: image(1, 24), test: image(2, 40), ops: ['conv', 'lut', 'matmul'] },
  keras_nhwc: {
    calibration: uniformSamples(1, 24, [1, 16, 16, 3]),
    test: uniformSamples(2, 40, [1, 16, 16, 3]),
    ops: ['conv', 'transpose'],
  },
  // test/fixtures/onnx/make_converters.py: tf2onnx without its optimiser (an NHWC input, a
  // Transpose before and after every Conv, BatchNorm folded to Mul + Add on the channel axis,
  // ReLU6 as Clip with input bounds, Reshape to [-1, N], Dense as MatMul + Add) ...
  tf2onnx_cnn: {
    calibration: uniformSamples(1, 24, [1, 16, 16, 3]),
    test: uniformSamples(2, 40, [1, 16, 16, 3]),
    ops: ['transpose', 'conv', 'maxpool', 'matmul', 'softmax'],
  },
  // ... Keras Conv1D as Unsqueeze and Squeeze with their axes as inputs around a 1xK Conv ...
  tf2onnx_conv1d: {
    calibration: normalSamples(1, 24, [1, 16, 4]),
    test: normalSamples(2, 40, [1, 16, 4]),
    ops: ['conv', 'transpose', 'reducemean', 'matmul'],
  },
  // ... and paddle2onnx: scale as Mul + Add by scalars, BatchNorm folded to a per-channel Mul +
  // Add, Identity nodes, Reshape to [0, -1], Unsqueeze + Flatten, Linear as MatMul + Add.
  paddle_cnn: {
    calibration: uniformSamples(1, 24, [1, 3, 16, 16]),
    test: uniformSamples(2, 40, [1, 3, 16, 16]),
    ops: ['lut', 'conv', 'avgpool', 'matmul', 'softmax'],
  },
  // Token and position embeddings, a padding mask from Equal/Cast/Where/Expand added to the
  // scores, masked Softmax, Erf GELU, LayerNormalization (opset 17), the [CLS] row.
  bert: {
    calibration: paddedTokens(1, 400),
    test: paddedTokens(2, 40),
    ops: ['gather', 'softmax', 'layernorm', 'lut'],
    tokens: true,
  },
  // nn.Upsample and F.interpolate (nearest): Resize as selections, which are matmuls.
  upsample: {
    calibration: normalSamples(1, 24, [1, 3, 8, 8]),
    test: normalSamples(2, 40, [1, 3, 8, 8]),
    ops: ['conv', 'matmul'],
  },
  // torch.amax over space and over channels, and a global max pool: all maxpools.
  reducemax: {
    calibration: normalSamples(1, 96, [1, 3, 8, 8]),
    test: normalSamples(2, 40, [1, 3, 8, 8]),
    ops: ['conv', 'maxpool', 'concat'],
  },
};

const wasm = createWasmBackend();
const nativeStatus = await loadNative();
/** The native kernels where the addon builds (test/engine/native.test.ts says when it must). */
const native = nativeStatus.loaded ? await createNativeBackend({ minMacs: 0 }) : null;

function bytes(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Stacks batch-1 inputs into one batch. */
function stack(model: Model, inputs: Tensor[]): Tensor {
  const n = inputs[0].data.length;
  const data = new (inputs[0].data.constructor as Uint8ArrayConstructor)(n * inputs.length);
  for (const [i, t] of inputs.entries()) data.set(t.data as Uint8Array, i * n);
  return { ...inputs[0], shape: [inputs.length, ...model.tensors[model.input].shape.slice(1)], data };
}

describe('architectures', () => {
  for (const [name, c] of Object.entries(CASES)) {
    test(`${name}: imports, runs bit-exactly on every backend and agrees with float`, async () => {
      const bytesOnnx = fixture(`arch/${name}.onnx`);
      const { model } = await importOnnx(bytesOnnx, c.calibration, { name });
      validateModel(model);
      for (const t of c.ops)
        assert.ok(
          model.ops.some((o) => o.type === t),
          `${name} has a ${t} op`,
        );

      const inputs = c.test.map((s) => quantizeInput(model, s));
      const singles = inputs.map((x) => runReference(model, x));
      for (const [i, x] of inputs.slice(0, 3).entries()) {
        for (const [what, got] of [
          ['wasm', await wasm.run(model, x)],
          ...(native ? [['native', await native.run(model, x)] as const] : []),
        ] as const) {
          assert.equal(got.trace.length, singles[i].trace.length);
          got.trace.forEach((t, k) => {
            assert.ok(bytes(t).equals(bytes(singles[i].trace[k])), `${what} op ${k} (${model.ops[k].type})`);
          });
        }
      }
      // A batch of 3 computes each row exactly as a batch of 1 does.
      const batched = runReference(model, stack(model, inputs.slice(0, 3)));
      const rows = bytes(batched.output);
      const per = rows.length / 3;
      for (let i = 0; i < 3; i++)
        assert.ok(rows.subarray(i * per, (i + 1) * per).equals(bytes(singles[i].output)), `batch row ${i}`);
      assert.ok(bytes((await wasm.run(model, stack(model, inputs.slice(0, 3)))).output).equals(rows));

      const ref = await ortOutputs(bytesOnnx, c.test, c.tokens);
      let agree = 0;
      let worst = 0;
      singles.forEach((r, i) => {
        const q = dequantize(model, r.output);
        const mag = Math.max(...Array.from(ref[i], Math.abs));
        assert.equal(q.length, ref[i].length);
        for (let k = 0; k < q.length; k++) worst = Math.max(worst, Math.abs(q[k] - ref[i][k]) / (1 + mag));
        if (argmax(q) === argmax(ref[i])) agree += 1;
      });
      assert.ok(worst <= TOLERANCE, `${name}: relative output error ${worst}`);
      assert.ok(agree / c.test.length >= 0.9, `${name}: top-1 agreement ${agree}/${c.test.length}`);
    });
  }

  test('sequence-first attention keeps its [S, 1, E] tensors behind a leading batch axis', async () => {
    const { model } = await importOnnx(fixture('arch/torch_encoder.onnx'), CASES.torch_encoder.calibration, {
      name: 'enc',
    });
    assert.deepEqual(model.tensors[model.input].shape, [1, 8, 32]);
    assert.ok(
      model.tensors.some((t) => t.kind === 'activation' && t.shape.join() === '1,8,1,32'),
      'a lifted [1, S, 1, E] activation',
    );
    for (const op of model.ops) if (op.type === 'transpose') assert.equal(op.perm[0], 0);
  });
});
