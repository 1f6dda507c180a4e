import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelBuilder } from '../../test/support/randomModel.ts';
import { constLayout, fromCommittedOrder, toCommittedOrder } from './layout.ts';
import { validateGraph } from './validate.ts';

test('column-major order swaps the last two axes of every matrix, and back', () => {
  // Two [2, 3] matrices.
  const data = Int8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const committed = toCommittedOrder(data, [2, 2, 3], 'columnMajor');
  assert.deepEqual([...committed], [1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12]);
  assert.deepEqual([...fromCommittedOrder(committed, [2, 2, 3], 'columnMajor')], [...data]);
  assert.equal(toCommittedOrder(data, [12], 'rowMajor'), data);
});

/** x [1,1,4,4] -> conv and matmul that may share one i8 constant [1,1,4,4]. */
function sharedWeightModel(share: boolean) {
  const b = new ModelBuilder();
  const x = b.input('u8', [1, 1, 4, 4], 3);
  const weight = () => b.constant(new Int8Array(16).fill(1), [1, 1, 4, 4]);
  const w = weight();
  const i32 = (v: number) => b.constant(Int32Array.of(v), [1]);
  b.op(
    {
      type: 'conv',
      inputs: [x, w, i32(0), i32(300), i32(10)],
      strides: [1, 1],
      pads: [0, 0, 0, 0],
      dilations: [1, 1],
      group: 1,
      qmin: 0,
      qmax: 255,
    },
    0,
  );
  const bias = b.constant(new Int32Array(4), [4]);
  b.op({ type: 'matmul', inputs: [x, share ? w : weight(), bias, i32(300), i32(10)], qmin: 0, qmax: 255 }, 0);
  return { model: b.build('shared'), w };
}

test('only matmul weights are committed column-major', () => {
  const { model, w } = sharedWeightModel(false);
  validateGraph(model);
  const [, matmulWeight, bias] = model.ops[1].inputs as number[];
  assert.equal(constLayout(model, matmulWeight), 'columnMajor');
  assert.equal(constLayout(model, w), 'rowMajor');
  assert.equal(constLayout(model, bias), 'rowMajor');
});

test('a matmul weight used in another role is rejected, naming the op', () => {
  const { model } = sharedWeightModel(true);
  assert.throws(
    () => validateGraph(model),
    /^ModelFormatError: Op "conv0" \(conv\) is invalid: input 1 \("c1"\) is also the weight \(input b\) of a matmul/,
  );
});
