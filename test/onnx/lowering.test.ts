// Small synthetic graphs, one lowering path each, compared with onnxruntime's float output.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { dequantize, type FloatTensor, importOnnx, quantizeInput } from '../../src/onnx/index.ts';
import { quantizeMultiplier } from '../../src/onnx/quantize/params.ts';
import { normalSamples, ortOutputs } from './helpers.ts';
import { buildOnnx, type GraphSpec, weights } from './onnxBuilder.ts';

/** Imports the graph and returns the model and its worst error relative to the float output range. */
async function check(spec: GraphSpec, shape: number[], tolerance = 0.05): Promise<Model> {
  const bytes = buildOnnx(spec);
  // Probe on calibration samples: these tests check the lowering, not range estimation.
  const cal = normalSamples(11, 48, shape);
  const probe = cal.slice(0, 24);
  const { model } = await importOnnx(bytes, cal, { name: 'unit' });
  validateModel(model);
  const ref = await ortOutputs(bytes, probe);
  let err = 0;
  let range = 0;
  probe.forEach((s: FloatTensor, i) => {
    const q = dequantize(model, runReference(model, quantizeInput(model, s)).output);
    assert.equal(q.length, ref[i].length);
    for (let k = 0; k < q.length; k++) {
      err = Math.max(err, Math.abs(q[k] - ref[i][k]));
      range = Math.max(range, Math.abs(ref[i][k]));
    }
  });
  assert.ok(err <= tolerance * range, `max error ${err} vs output range ${range}`);
  return model;
}

const types = (m: Model) => m.ops.map((o) => o.type);
const f = (name: string, dims: number[], seed: number, scale = 0.5) => ({
  name,
  dims,
  values: weights(
    dims.reduce((p, d) => p * d, 1),
    seed,
    scale,
  ),
});

describe('lowering', () => {
  test('Gemm with alpha, beta, transB=0 and a fused Relu', async () => {
    const m = await check(
      {
        input: { name: 'x', dims: ['batch', 8] },
        output: 'y',
        nodes: [
          { op: 'Gemm', inputs: ['x', 'w', 'c'], outputs: ['g'], attrs: { alpha: 0.5, beta: 2.5 } },
          { op: 'Relu', inputs: ['g'], outputs: ['y'] },
        ],
        initializers: [f('w', [8, 6], 1), f('c', [6], 2, 0.2)],
      },
      [1, 8],
    );
    assert.deepEqual(types(m), ['matmul']);
  });

  test('explicit Pad, strided conv, ceil-mode max pooling, SAME_UPPER conv, global max pooling', async () => {
    const m = await check(
      {
        input: { name: 'x', dims: [1, 2, 9, 9] },
        output: 'y',
        nodes: [
          { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
          {
            op: 'Conv',
            inputs: ['p', 'w1', 'b1'],
            outputs: ['c1'],
            attrs: { kernel_shape: [3, 3], strides: [2, 2] },
          },
          {
            op: 'MaxPool',
            inputs: ['c1'],
            outputs: ['m'],
            attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 },
          },
          {
            op: 'Conv',
            inputs: ['m', 'w2'],
            outputs: ['c2'],
            attrs: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' },
          },
          { op: 'GlobalMaxPool', inputs: ['c2'], outputs: ['gm'] },
          { op: 'Flatten', inputs: ['gm'], outputs: ['y'] },
        ],
        initializers: [
          { name: 'pads', dims: [8], values: [0, 0, 1, 1, 0, 0, 1, 1], int64: true, raw: true },
          f('w1', [4, 2, 3, 3], 3),
          f('b1', [4], 4),
          f('w2', [3, 4, 3, 3], 5),
        ],
      },
      [1, 2, 9, 9],
    );
    assert.deepEqual(types(m), ['conv', 'maxpool', 'conv', 'maxpool', 'reshape']);
  });

  test('Softmax at opset 11 over the trailing axes', async () => {
    const m = await check(
      {
        input: { name: 'x', dims: [1, 3, 4] },
        output: 'y',
        nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: 1 } }],
        opset: 11,
      },
      [1, 3, 4],
    );
    assert.deepEqual(types(m), ['reshape', 'softmax', 'reshape']);
  });

  test('ReduceMean over two axes and ReduceSum with an axes input', async () => {
    await check(
      {
        input: { name: 'x', dims: [1, 3, 4, 5] },
        output: 'y',
        nodes: [
          { op: 'ReduceMean', inputs: ['x'], outputs: ['r'], attrs: { axes: [2, 3], keepdims: 0 } },
          { op: 'Unsqueeze', inputs: ['r', 'ax'], outputs: ['u'] },
          { op: 'ReduceSum', inputs: ['u', 'ax'], outputs: ['y'], attrs: { keepdims: 1 } },
        ],
        initializers: [{ name: 'ax', dims: [1], values: [-1], int64: true }],
      },
      [1, 3, 4, 5],
    );
  });

  test('a shape subgraph (Shape, Gather, Unsqueeze, Concat, Constant) folds into a Reshape', async () => {
    const m = await check(
      {
        input: { name: 'x', dims: ['n', 4, 6] },
        output: 'y',
        nodes: [
          { op: 'Shape', inputs: ['x'], outputs: ['s'] },
          {
            op: 'Constant',
            inputs: [],
            outputs: ['zero'],
            attrs: { value: { name: 'z', dims: [], values: [0], int64: true } },
          },
          { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
          { op: 'Unsqueeze', inputs: ['n', 'ax0'], outputs: ['n1'] },
          { op: 'Concat', inputs: ['n1', 'minus1'], outputs: ['shape'], attrs: { axis: 0 } },
          { op: 'Reshape', inputs: ['x', 'shape'], outputs: ['flat'] },
          { op: 'MatMul', inputs: ['flat', 'w'], outputs: ['y'] },
        ],
        initializers: [
          { name: 'ax0', dims: [1], values: [0], int64: true },
          { name: 'minus1', dims: [1], values: [-1], int64: true, raw: true },
          { ...f('w', [24, 5], 6), raw: true },
        ],
      },
      [1, 4, 6],
    );
    assert.deepEqual(types(m), ['reshape', 'matmul']);
  });

  test('LayerNormalization (opset 17) over the last axis and over two axes', async () => {
    const ln = (axis: number, D: number) =>
      check(
        {
          input: { name: 'x', dims: [1, 5, 8] },
          output: 'y',
          nodes: [
            {
              op: 'LayerNormalization',
              inputs: ['x', 's', 'b'],
              outputs: ['l'],
              attrs: { axis, epsilon: 1e-3 },
            },
            { op: 'Relu', inputs: ['l'], outputs: ['y'] },
          ],
          initializers: [
            { name: 's', dims: axis === -1 ? [8] : [5, 8], values: weights(D, 7, 0.5).map((v) => 1 + v) },
            { name: 'b', dims: axis === -1 ? [8] : [5, 8], values: weights(D, 8, 0.3) },
          ],
          opset: 17,
        },
        [1, 5, 8],
      );
    assert.deepEqual(types(await ln(-1, 8)), ['layernorm']);
    assert.deepEqual(types(await ln(-2, 40)), ['reshape', 'layernorm', 'reshape']);
  });

  test('a standalone BatchNormalization becomes a depthwise 1x1 conv', async () => {
    const m = await check(
      {
        input: { name: 'x', dims: [1, 3, 6, 6] },
        output: 'y',
        nodes: [
          { op: 'MaxPool', inputs: ['x'], outputs: ['m'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
          { op: 'BatchNormalization', inputs: ['m', 'g', 'b', 'mu', 'var'], outputs: ['n'] },
          { op: 'Sigmoid', inputs: ['n'], outputs: ['y'] },
        ],
        initializers: [
          { name: 'g', dims: [3], values: [1.5, 0.5, -1] },
          { name: 'b', dims: [3], values: [0.1, -0.2, 0.3] },
          { name: 'mu', dims: [3], values: [0.2, 0, -0.1] },
          { name: 'var', dims: [3], values: [1, 2, 0.5] },
        ],
      },
      [1, 3, 6, 6],
    );
    assert.deepEqual(types(m), ['maxpool', 'conv', 'lut']);
  });

  test('an elementwise region with comparisons becomes one lookup table', async () => {
    const m = await check(
      {
        input: { name: 'x', dims: [1, 16] },
        output: 'y',
        nodes: [
          { op: 'Mul', inputs: ['x', 'two'], outputs: ['a'] },
          { op: 'Tanh', inputs: ['a'], outputs: ['t'] },
          { op: 'Mul', inputs: ['t', 'x'], outputs: ['tx'] },
          { op: 'Greater', inputs: ['x', 'zero'], outputs: ['pos'] },
          { op: 'Mul', inputs: ['x', 'tenth'], outputs: ['neg'] },
          { op: 'Where', inputs: ['pos', 'tx', 'neg'], outputs: ['w'] },
          { op: 'Exp', inputs: ['w'], outputs: ['y'] },
        ],
        initializers: [
          { name: 'two', dims: [], values: [2] },
          { name: 'zero', dims: [1], values: [0] },
          { name: 'tenth', dims: [], values: [0.1] },
        ],
      },
      [1, 16],
    );
    assert.deepEqual(types(m), ['lut']);
  });

  test('per-channel and per-feature constants: Mul, Add, Sub and Div', async () => {
    const conv = await check(
      {
        input: { name: 'x', dims: [1, 3, 4, 4] },
        output: 'y',
        nodes: [
          { op: 'Mul', inputs: ['x', 'c'], outputs: ['m'] },
          { op: 'Add', inputs: ['m', 'd'], outputs: ['y'] },
        ],
        initializers: [
          { name: 'c', dims: [1, 3, 1, 1], values: [0.5, -2, 1.5] },
          { name: 'd', dims: [3, 1, 1], values: [0.1, 0.2, -0.3] },
        ],
      },
      [1, 3, 4, 4],
    );
    assert.deepEqual(types(conv), ['conv']);
    const vec = await check(
      {
        input: { name: 'x', dims: [1, 3, 8] },
        output: 'y',
        nodes: [
          { op: 'Sub', inputs: ['c', 'x'], outputs: ['s'] },
          { op: 'Div', inputs: ['s', 'd'], outputs: ['y'] },
        ],
        initializers: [
          f('c', [8], 9),
          { name: 'd', dims: [1, 1, 8], values: [1, 2, 3, 4, -1, -2, 0.5, 0.25] },
        ],
      },
      [1, 3, 8],
    );
    assert.deepEqual(types(vec), ['lut', 'add', 'matmul']);
  });

  test('Transpose that only moves the batch axis among size-1 axes is a reshape', async () => {
    const m = await check(
      {
        input: { name: 'x', dims: [1, 1, 6] },
        output: 'y',
        nodes: [
          { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [1, 0, 2] } },
          { op: 'MatMul', inputs: ['t', 'w'], outputs: ['y'] },
        ],
        initializers: [f('w', [6, 3], 10)],
      },
      [1, 1, 6],
    );
    assert.deepEqual(types(m), ['reshape', 'matmul']);
  });

  test('an activation reshaped into the batch axis gets a new leading batch axis', async () => {
    const bytes = buildOnnx({
      input: { name: 'x', dims: [1, 4, 6] },
      output: 'y',
      nodes: [{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }],
      initializers: [{ name: 's', dims: [2], values: [4, 6], int64: true }],
    });
    const { model } = await importOnnx(bytes, normalSamples(1, 2, [1, 4, 6]), { name: 'x' });
    assert.deepEqual(model.tensors[model.output].shape, [1, 4, 6]);
  });
});

describe('requantization multipliers', () => {
  test('property: mult in [2^14, 2^15), shift in [0, 40], relative error below 2^-14', () => {
    fc.assert(
      fc.property(fc.double({ min: 2 ** -25, max: 2 ** 14, noNaN: true }), (m) => {
        const { mult, shift } = quantizeMultiplier(m, 'test');
        assert.ok(Number.isInteger(mult) && mult >= 2 ** 14 && mult < 2 ** 15, `mult ${mult}`);
        assert.ok(Number.isInteger(shift) && shift >= 0 && shift <= 40, `shift ${shift}`);
        assert.ok(Math.abs(mult / 2 ** shift - m) / m <= 2 ** -14);
      }),
    );
  });

  test('factors that are too large are an error, tiny ones keep shift 40', () => {
    assert.throws(() => quantizeMultiplier(2 ** 16, 'x'), /too large/);
    assert.deepEqual(quantizeMultiplier(2 ** -30, 'x'), { mult: 1024, shift: 40 });
    assert.deepEqual(quantizeMultiplier(0, 'x'), { mult: 0, shift: 0 });
  });
});
