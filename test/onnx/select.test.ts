// Slice, Split, Pad, Expand and Tile on activations lower to exact selections (a matmul by a 0/1
// matrix with identity requantization): on the dequantized input codes the integer model must give
// onnxruntime's float result up to float32 rounding, and every backend the same bytes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exact, int64 } from './exact.ts';

describe('selections (Slice, Split, Pad, Expand, Tile)', () => {
  test('Slice over two axes with a negative step', async () => {
    await exact(
      {
        input: { name: 'x', dims: [1, 5, 7] },
        output: 'y',
        nodes: [{ op: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'sp'], outputs: ['y'] }],
        initializers: [int64('st', [1, -1]), int64('en', [4, 0]), int64('ax', [1, 2]), int64('sp', [1, -2])],
      },
      [1, 5, 7],
    );
  });

  test('Split into three parts, recombined in another order', async () => {
    const { model: m } = await exact(
      {
        input: { name: 'x', dims: [1, 4, 9] },
        output: 'y',
        nodes: [
          { op: 'Split', inputs: ['x', 'sizes'], outputs: ['a', 'b', 'c'], attrs: { axis: 2 } },
          { op: 'Concat', inputs: ['c', 'a', 'b'], outputs: ['y'], attrs: { axis: 1 } },
        ],
        initializers: [int64('sizes', [3, 3, 3])],
      },
      [1, 4, 9],
    );
    assert.ok(m.ops.some((o) => o.type === 'concat'));
  });

  test('Pad with a non-zero constant on a middle axis and the last axis', async () => {
    const { warnings } = await exact(
      {
        input: { name: 'x', dims: [1, 3, 4] },
        output: 'y',
        nodes: [{ op: 'Pad', inputs: ['x', 'pads', 'v'], outputs: ['y'] }],
        initializers: [int64('pads', [0, 1, 2, 0, 2, 1]), { name: 'v', dims: [], values: [0.75] }],
      },
      [1, 3, 4],
      0.5,
    );
    // 0.75 is not a multiple of the input scale: it becomes the nearest code, and the report says so.
    assert.ok(warnings.some((w) => /pad value 0\.75/.test(w)));
  });

  test('Expand to a higher rank and Tile', async () => {
    await exact(
      {
        input: { name: 'x', dims: [1, 1, 4] },
        output: 'y',
        nodes: [
          { op: 'Expand', inputs: ['x', 'shape'], outputs: ['e'] },
          { op: 'Tile', inputs: ['e', 'reps'], outputs: ['y'] },
        ],
        initializers: [int64('shape', [1, 1, 3, 4]), int64('reps', [1, 2, 1, 2])],
      },
      [1, 1, 4],
    );
  });

  test('Slice along axis 0 of a sequence-first tensor', async () => {
    const { model: m } = await exact(
      {
        input: { name: 'x', dims: [1, 6, 4] },
        output: 'y',
        nodes: [
          { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [1, 0, 2] } },
          { op: 'Slice', inputs: ['t', 'st', 'en', 'ax'], outputs: ['y'] },
        ],
        initializers: [int64('st', [2]), int64('en', [5]), int64('ax', [0])],
      },
      [1, 6, 4],
    );
    assert.deepEqual(m.tensors[m.output].shape, [1, 3, 1, 4]);
  });
});
