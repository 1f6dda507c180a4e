// Known answers worked out by hand from the one-line arithmetic comments of each op.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AddOp, ConvOp, LayerNormOp, MulOp } from '../graph.ts';
import type { Tensor } from '../tensor.ts';
import { conv } from './conv.ts';
import { add, mul } from './elementwise.ts';
import { layernorm, softmax } from './normalize.ts';
import { avgpool } from './pool.ts';
import { transpose } from './shape.ts';

const u8 = (shape: number[], data: number[], zeroPoint = 0): Tensor => ({
  dtype: 'u8',
  shape,
  data: Uint8Array.from(data),
  zeroPoint,
});
const i32 = (data: number[]): Tensor => ({
  dtype: 'i32',
  shape: [data.length],
  data: Int32Array.from(data),
  zeroPoint: 0,
});
const i8 = (shape: number[], data: number[]): Tensor => ({
  dtype: 'i8',
  shape,
  data: Int8Array.from(data),
  zeroPoint: 0,
});

test('conv 1x1: acc = 1 + (x - 10) * 3, times 0.5, rounding half up', () => {
  const op: ConvOp = {
    type: 'conv',
    name: 'c',
    inputs: [0, 1, 2, 3, 4],
    output: 5,
    strides: [1, 1],
    pads: [0, 0, 0, 0],
    dilations: [1, 1],
    group: 1,
    qmin: 0,
    qmax: 255,
  };
  const y = conv(
    op,
    [u8([1, 1, 1, 2], [10, 20], 10), i8([1, 1, 1, 1], [3]), i32([1]), i32([16384]), i32([15])],
    [1, 1, 1, 2],
    5,
  );
  // acc 1 -> floor((16384 + 16384) / 32768) = 1; acc 31 -> floor((31*16384 + 16384) / 32768) = 16.
  assert.deepEqual([...y], [6, 21]);
});

test('conv padding taps contribute zero, and the clamp bounds apply', () => {
  const op: ConvOp = {
    type: 'conv',
    name: 'c',
    inputs: [0, 1, 2, 3, 4],
    output: 5,
    strides: [1, 1],
    pads: [1, 1, 1, 1],
    dilations: [1, 1],
    group: 1,
    qmin: 3,
    qmax: 7,
  };
  // 1x1 input of value zx+1 and a 3x3 kernel of ones: only the centre tap is in bounds -> acc = 1.
  const y = conv(
    op,
    [u8([1, 1, 1, 1], [129], 128), i8([1, 1, 3, 3], Array(9).fill(1)), i32([0]), i32([1]), i32([0])],
    [1, 1, 1, 1],
    0,
  );
  assert.deepEqual([...y], [3]); // 0 + 1 = 1, clamped up to qmin 3.
});

test('add rescales both sides into the output scale', () => {
  const op: AddOp = {
    type: 'add',
    name: 'a',
    inputs: [0, 1],
    output: 2,
    multA: 3,
    multB: 5,
    shift: 2,
    qmin: 0,
    qmax: 255,
  };
  // ((4-2)*3 + (1-0)*5 + 2) / 4 = 13/4 -> floor 3; plus zy 100.
  assert.deepEqual([...add(op, [u8([1, 1], [4], 2), u8([1, 1], [1], 0)], [1, 1], 100)], [103]);
});

test('softmax of equal logits gives 128 each (127.5 rounds half up)', () => {
  const exp = Int32Array.from({ length: 256 }, (_, d) => (d === 0 ? 65536 : 0));
  const y = softmax([u8([1, 2], [9, 9]), { dtype: 'i32', shape: [256], data: exp, zeroPoint: 0 }]);
  assert.deepEqual([...y], [128, 128]);
});

test('layernorm of [0, 2] normalizes to -1 and +1', () => {
  const op: LayerNormOp = {
    type: 'layernorm',
    name: 'ln',
    inputs: [0, 1, 2],
    output: 3,
    eps: 0,
    mult: 16384,
    shift: 20,
    qmin: 0,
    qmax: 255,
  };
  // c = [-2, 2], sigma = isqrt(8 / 2) = 2, n = ±1024, rq(±1024, 16384, 20) = 16 and -16.
  const y = layernorm(op, [u8([1, 2], [0, 2]), i32([1, 1]), i32([0, 0])], 128);
  assert.deepEqual([...y], [112, 144]);
});

test('avgpool without counting padding divides by the in-bounds taps', () => {
  const y = avgpool(
    {
      type: 'avgpool',
      name: 'p',
      inputs: [0],
      output: 1,
      kernel: [2, 2],
      strides: [2, 2],
      pads: [0, 0, 1, 1],
      countIncludePad: false,
      mult: 1,
      shift: 0,
    },
    [u8([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9])],
    [1, 1, 2, 2],
    0,
  );
  // Windows: [1,2,4,5] -> 3; [3,6] -> 4.5 -> 5; [7,8] -> 7.5 -> 8; [9] -> 9.
  assert.deepEqual([...y], [3, 5, 8, 9]);
});

test('transpose swaps the last two axes', () => {
  const y = transpose(
    { type: 'transpose', name: 't', inputs: [0], output: 1, perm: [0, 2, 1] },
    [u8([1, 2, 3], [1, 2, 3, 4, 5, 6])],
    [1, 3, 2],
  );
  assert.deepEqual([...y], [1, 4, 2, 5, 3, 6]);
});

test('mul multiplies two activations and broadcasts the gate', () => {
  const op: MulOp = {
    type: 'mul',
    name: 'm',
    inputs: [0, 1],
    output: 2,
    mult: 1,
    shift: 1,
    qmin: 0,
    qmax: 255,
  };
  // a - za = [2, 4], gate - zg = 3 -> products 6 and 12 -> rshift by 1: (6+1)/2 = 3, (12+1)/2 = 6; plus zy 10.
  assert.deepEqual([...mul(op, [u8([1, 2], [2, 4]), u8([1, 1], [4], 1)], [1, 2], 10)], [13, 16]);
});
