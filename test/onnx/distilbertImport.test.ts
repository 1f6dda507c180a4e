// Exports that apply the attention mask other than by BERT's additive `(1 - mask) * min`
// (test/fixtures/onnx/make_distilbert.py): DistilBERT's masked_fill of the expanded mask with
// float32's lowest or -inf, Where(keep, scores, min), a 0/1 mask multiplied into the scores, and
// the mask expanded to [B, 1, S, S] before its arithmetic. Each imports with --mask-from-pad, runs
// bit-exactly on every backend, agrees with onnxruntime's float model on padded held-out inputs
// and gives padding keys probability exactly 0. A Where that is not such a mask stays refused.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { runReference } from '../../src/engine/interpreter.ts';
import { createNativeBackend, loadNative } from '../../src/engine/native/index.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import { UnsupportedOpError } from '../../src/errors/base.ts';
import { dequantize, importOnnx, quantizeInput } from '../../src/onnx/index.ts';
import { argmax, fixture, rng } from './helpers.ts';
import { hfFloat, PAD, S, sentences } from './hfSamples.ts';
import { buildOnnx, type NodeSpec } from './onnxBuilder.ts';

/** The tolerance of test/onnx/architectures.test.ts: |q - f| <= TOLERANCE * (1 + max |f|). */
const TOLERANCE = 0.05;
const derivedInputs = { maskFromPad: { padId: PAD } };

const wasm = createWasmBackend();
const nativeStatus = await loadNative();
const native = nativeStatus.loaded ? await createNativeBackend({ minMacs: 0 }) : null;

const bytesOf = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

const FIXTURES = ['distilbert_min', 'distilbert_inf', 'distilbert_where', 'distilbert_mul', 'distilbert_4d'];

describe('attention masks applied with Where, Expand and Mul', () => {
  for (const name of FIXTURES) {
    test(`${name}: imports with --mask-from-pad, runs bit-exactly everywhere, agrees with float, masks exactly`, async () => {
      const bytes = fixture(`arch/${name}.onnx`);
      await assert.rejects(importOnnx(bytes, sentences(1, 2), { name }), /--mask-from-pad/);
      const { model, report } = await importOnnx(bytes, sentences(1, 128), { name, derivedInputs });
      validateModel(model);
      assert.equal(report.floatReference, 'onnxruntime', 'the report fed onnxruntime both inputs');
      assert.deepEqual(model.tensors[model.input].shape, [1, S]);
      const softmaxes = model.ops.flatMap((o, k) => (o.type === 'softmax' ? [k] : []));
      assert.equal(softmaxes.length, 2, 'one softmax per layer');

      const samples = sentences(2, 40);
      assert.ok(samples.filter((s) => s.data.includes(PAD)).length >= 30, 'most inputs contain padding');
      const inputs = samples.map((s) => quantizeInput(model, s));
      const singles = inputs.map((x) => runReference(model, x));
      const backends = [['wasm', wasm], ...(native ? [['native', native] as const] : [])] as const;
      for (const [i, x] of inputs.slice(0, 3).entries())
        for (const [what, backend] of backends) {
          const got = await backend.run(model, x);
          assert.equal(got.trace.length, singles[i].trace.length);
          got.trace.forEach((t, k) => {
            assert.ok(
              bytesOf(t).equals(bytesOf(singles[i].trace[k])),
              `${what}, sample ${i}: op ${k} differs`,
            );
          });
        }
      const n = inputs[0].data.length;
      const data = new Int32Array(3 * n);
      for (let i = 0; i < 3; i++) data.set(inputs[i].data as Int32Array, i * n);
      const batch = { ...inputs[0], shape: [3, S], data };
      const rows = bytesOf(runReference(model, batch).output);
      for (let i = 0; i < 3; i++)
        assert.ok(
          rows
            .subarray((i * rows.length) / 3, ((i + 1) * rows.length) / 3)
            .equals(bytesOf(singles[i].output)),
          `batch row ${i}`,
        );
      for (const [what, backend] of backends)
        assert.ok(bytesOf((await backend.run(model, batch)).output).equals(rows), `${what} batch`);

      // Padding keys get probability exactly 0 in every layer; real keys share the rest.
      for (const [i, s] of samples.entries())
        for (const k of softmaxes) {
          const p = singles[i].trace[k].data;
          assert.equal(p.length % S, 0);
          for (let j = 0; j < p.length; j++)
            if (s.data[j % S] === PAD)
              assert.equal(p[j], 0, `sample ${i}, op ${k}: a padding key has weight`);
          assert.ok(p.some((v) => v > 0));
        }

      const ref = await hfFloat(bytes, samples);
      let agree = 0;
      let worst = 0;
      singles.forEach((r, i) => {
        const q = dequantize(model, r.output);
        const mag = Math.max(...Array.from(ref[i], Math.abs));
        for (let k = 0; k < q.length; k++) worst = Math.max(worst, Math.abs(q[k] - ref[i][k]) / (1 + mag));
        if (argmax(q) === argmax(ref[i])) agree += 1;
      });
      assert.ok(worst <= TOLERANCE, `${name}: relative output error ${worst}`);
      assert.ok(agree / samples.length >= 0.9, `${name}: top-1 agreement ${agree}/${samples.length}`);
    });
  }
});

/**
 * ids [1, 4] -> embedding e [1, 4, 4], scores = e e^T [1, 4, 4]; the mask ids == 0, unsqueezed to
 * [1, 1, 4] and expanded to [1, 4, 4], fills the scores with `fill` via Where; `after` reads it.
 */
function maskedFill(fill: number, after: NodeSpec[], output = 'y'): Uint8Array {
  const r = rng(9);
  return buildOnnx({
    input: { name: 'input_ids', dims: [1, 4], int64: true },
    output,
    nodes: [
      { op: 'Gather', inputs: ['emb', 'input_ids'], outputs: ['e'] },
      { op: 'Transpose', inputs: ['e'], outputs: ['et'], attrs: { perm: [0, 2, 1] } },
      { op: 'MatMul', inputs: ['e', 'et'], outputs: ['scores'] },
      { op: 'Equal', inputs: ['input_ids', 'pad'], outputs: ['is_pad'] },
      { op: 'Unsqueeze', inputs: ['is_pad', 'axis1'], outputs: ['is_pad3'] },
      { op: 'Expand', inputs: ['is_pad3', 'shape'], outputs: ['masked'] },
      { op: 'Where', inputs: ['masked', 'fill', 'scores'], outputs: ['filled'] },
      ...after,
    ],
    initializers: [
      { name: 'emb', dims: [6, 4], values: Array.from({ length: 24 }, () => 2 * r() - 1) },
      { name: 'pad', dims: [], values: [0], int64: true },
      { name: 'axis1', dims: [1], values: [1], int64: true },
      { name: 'shape', dims: [3], values: [1, 4, 4], int64: true },
      { name: 'fill', dims: [], values: [fill] },
    ],
  });
}

describe('a Where that is not an exact attention mask is refused', () => {
  const ids = (seed: number, n: number) => {
    const q = rng(seed);
    return Array.from({ length: n }, (_, k) => ({
      shape: [1, 4],
      data: [1 + Math.floor(q() * 5), 1 + Math.floor(q() * 5), ...(k % 2 ? [0, 0] : [3, 0])],
    }));
  };
  const softmax: NodeSpec[] = [{ op: 'Softmax', inputs: ['filled'], outputs: ['y'], attrs: { axis: -1 } }];

  test('the masked_fill form imports and masks the pad keys exactly', async () => {
    const { model } = await importOnnx(maskedFill(-1e9, softmax), ids(1, 16), { name: 'fill' });
    for (const s of ids(2, 6)) {
      const p = runReference(model, quantizeInput(model, s)).output.data;
      for (let j = 0; j < p.length; j++) if (s.data[j % 4] === 0) assert.equal(p[j], 0);
    }
  });

  const cases: [string, Uint8Array, RegExp][] = [
    ['a fill value that does not saturate', maskedFill(0, softmax), /constant branch is 0/],
    [
      'a result read by an op other than a softmax',
      maskedFill(-1e9, [{ op: 'Relu', inputs: ['filled'], outputs: ['y'] }]),
      /read only by softmaxes/,
    ],
    [
      'a softmax over another axis',
      maskedFill(-1e9, [{ op: 'Softmax', inputs: ['filled'], outputs: ['y'], attrs: { axis: 1 } }]),
      /read only by softmaxes/,
    ],
    ['the masked result as the model output', maskedFill(-1e9, [], 'filled'), /read only by softmaxes/],
  ];
  for (const [what, bytes, message] of cases)
    test(what, async () => {
      await assert.rejects(
        importOnnx(bytes, ids(1, 4), { name: 'fill' }),
        (e: unknown) => e instanceof UnsupportedOpError && message.test((e as Error).message),
      );
    });
});
