// ReduceMax on activations lowers to maxpools over [len, 1] windows: the max of u8 codes is exact
// in the input's own quantization, so the integer model must match onnxruntime on the dequantized
// input codes up to float32 rounding, with keepdims either way, any axes, and axes as an input.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exact, int64 } from './exact.ts';

describe('ReduceMax', () => {
  for (const keepdims of [0, 1]) {
    test(`non-adjacent axes 1 and 3, keepdims ${keepdims}`, async () => {
      const { model } = await exact(
        {
          input: { name: 'x', dims: [1, 3, 4, 5] },
          output: 'y',
          nodes: [{ op: 'ReduceMax', inputs: ['x'], outputs: ['y'], attrs: { axes: [1, 3], keepdims } }],
        },
        [1, 3, 4, 5],
      );
      assert.ok(model.ops.every((o) => ['maxpool', 'reshape'].includes(o.type)));
      assert.deepEqual(model.tensors[model.output].shape, keepdims ? [1, 1, 4, 1] : [1, 4]);
      // The output keeps the input's quantization.
      const [i, o] = [model.tensors[model.input], model.tensors[model.output]];
      assert.deepEqual([o.scale, o.zeroPoint], [i.scale, i.zeroPoint]);
    });
  }

  test('all axes (no axes attribute) of a rank-3 tensor', async () => {
    await exact(
      {
        input: { name: 'x', dims: [1, 6, 7] },
        output: 'y',
        nodes: [{ op: 'ReduceMax', inputs: ['x'], outputs: ['y'], attrs: { keepdims: 0 } }],
      },
      [1, 6, 7],
    );
  });

  test('axes as an input (opset 18), the last axis', async () => {
    await exact(
      {
        input: { name: 'x', dims: [1, 4, 9] },
        output: 'y',
        opset: 18,
        nodes: [{ op: 'ReduceMax', inputs: ['x', 'axes'], outputs: ['y'], attrs: { keepdims: 1 } }],
        initializers: [int64('axes', [-1])],
      },
      [1, 4, 9],
    );
  });

  test('axis 0 of a sequence-first tensor', async () => {
    const { model } = await exact(
      {
        input: { name: 'x', dims: [1, 6, 4] },
        output: 'y',
        nodes: [
          { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [1, 0, 2] } },
          { op: 'ReduceMax', inputs: ['t'], outputs: ['y'], attrs: { axes: [0], keepdims: 0 } },
        ],
      },
      [1, 6, 4],
    );
    assert.deepEqual(model.tensors[model.output].shape, [1, 4]);
  });
});
