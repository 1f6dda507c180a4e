// Functions of the token ids become gathers of a [V, 1] table, and an additive attention mask
// built from them (-1e4, -inf or float32's lowest as the masked value) saturates into the scores'
// range: masked keys get probability exactly 0, as in float, on every backend. ArgMax stays
// unsupported with a message that says what to export instead.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runReference } from '../../src/engine/interpreter.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import { UnsupportedOpError } from '../../src/errors/base.ts';
import { dequantize, type FloatTensor, importOnnx, quantizeInput } from '../../src/onnx/index.ts';
import { fixture, normalSamples, ortOutputs, rng } from './helpers.ts';
import { buildOnnx } from './onnxBuilder.ts';

const wasm = createWasmBackend();
const T = 6;
const V = 9;

/** scores[1, T, T] = emb[ids], mask = Where(ids == 0, masked, 0) over the key axis, Softmax. */
function maskedSoftmax(masked: number): Uint8Array {
  const r = rng(7);
  return buildOnnx({
    input: { name: 'ids', dims: [1, T], int64: true },
    output: 'p',
    nodes: [
      { op: 'Gather', inputs: ['emb', 'ids'], outputs: ['s'] },
      { op: 'Equal', inputs: ['ids', 'zero'], outputs: ['pad'] },
      { op: 'Where', inputs: ['pad', 'neg', 'fzero'], outputs: ['m'] },
      { op: 'Unsqueeze', inputs: ['m', 'axis1'], outputs: ['m3'] },
      { op: 'Add', inputs: ['s', 'm3'], outputs: ['z'] },
      { op: 'Softmax', inputs: ['z'], outputs: ['p'], attrs: { axis: -1 } },
    ],
    initializers: [
      { name: 'emb', dims: [V, T], values: Array.from({ length: V * T }, () => 4 * r() - 2) },
      { name: 'zero', dims: [], values: [0], int64: true },
      { name: 'neg', dims: [], values: [masked] },
      { name: 'fzero', dims: [], values: [0] },
      { name: 'axis1', dims: [1], values: [1], int64: true },
    ],
    opset: 13,
  });
}

function padded(seed: number, n: number): FloatTensor[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const len = 1 + Math.floor(r() * T);
    return {
      shape: [1, T],
      data: Array.from({ length: T }, (_, i) => (i < len ? 1 + Math.floor(r() * (V - 1)) : 0)),
    };
  });
}

describe('functions of the token ids', () => {
  for (const [what, masked] of [
    ['-1e4', -1e4],
    ['-inf', Number.NEGATIVE_INFINITY],
    ["float32's lowest", -3.4028234663852886e38],
  ] as const) {
    test(`an additive mask of ${what} gives masked keys probability 0 and agrees with float`, async () => {
      const bytes = maskedSoftmax(masked);
      const { model } = await importOnnx(bytes, padded(1, 64), { name: 'mask' });
      validateModel(model);
      assert.ok(model.ops.filter((o) => o.type === 'gather').length === 2, 'the mask is a gather of a table');
      const samples = padded(2, 24);
      const ref = await ortOutputs(bytes, samples, true);
      for (const [i, s] of samples.entries()) {
        const x = quantizeInput(model, s);
        const r = runReference(model, x);
        assert.deepEqual((await wasm.run(model, x)).output.data, r.output.data);
        const q = dequantize(model, r.output);
        for (let k = 0; k < q.length; k++) {
          const key = k % T;
          if (s.data[key] === 0) assert.equal(r.output.data[k], 0, `masked key ${key} of sample ${i}`);
          assert.ok(Math.abs(q[k] - ref[i][k]) <= 0.02, `sample ${i} element ${k}: ${q[k]} vs ${ref[i][k]}`);
        }
      }
    });
  }

  test('without an embedding table there is no vocabulary size, and the error says so', async () => {
    const bytes = buildOnnx({
      input: { name: 'ids', dims: [1, T], int64: true },
      output: 'y',
      nodes: [
        { op: 'Equal', inputs: ['ids', 'zero'], outputs: ['pad'] },
        { op: 'Cast', inputs: ['pad'], outputs: ['y'], attrs: { to: 1 } },
      ],
      initializers: [{ name: 'zero', dims: [], values: [0], int64: true }],
    });
    await assert.rejects(
      importOnnx(bytes, padded(1, 4), { name: 'nov' }),
      (e: unknown) => e instanceof UnsupportedOpError && /vocabulary size/.test((e as Error).message),
    );
  });

  test('ArgMax is refused with a message that says to export the logits', async () => {
    await assert.rejects(
      importOnnx(fixture('arch/argmax.onnx'), normalSamples(1, 4, [1, 8]), { name: 'argmax' }),
      (e: unknown) =>
        e instanceof UnsupportedOpError &&
        /Unsupported ONNX op ArgMax/.test((e as Error).message) &&
        /outputs the logits/.test((e as Error).message),
    );
  });
});
