// A small hand-built model used by format, commitment and golden tests: conv -> maxpool -> reshape -> matmul -> softmax.
import type { Model, TensorData, TensorInfo } from '../../src/engine/graph.ts';

export function handModel(): Model {
  const tensors: TensorInfo[] = [];
  const consts = new Map<number, TensorData>();
  const t = (
    name: string,
    kind: TensorInfo['kind'],
    dtype: TensorInfo['dtype'],
    shape: number[],
    zeroPoint = 0,
    scale = 1,
  ) => {
    const id = tensors.length;
    tensors.push({ id, name, kind, dtype, shape, zeroPoint, scale });
    return id;
  };
  const c = (name: string, dtype: TensorInfo['dtype'], shape: number[], data: TensorData) => {
    const id = t(name, 'const', dtype, shape);
    consts.set(id, data);
    return id;
  };
  const x = t('x', 'input', 'u8', [1, 1, 4, 4], 10, 0.02);
  const w = c(
    'w',
    'i8',
    [2, 1, 3, 3],
    Int8Array.from([1, -2, 3, -4, 5, -6, 7, -8, 9, -128, 127, 0, 64, -64, 1, 2, 3, 4]),
  );
  const b = c('b', 'i32', [2], Int32Array.from([100, -300]));
  const cm = c('cm', 'i32', [2], Int32Array.from([20000, 31000]));
  const cs = c('cs', 'i32', [2], Int32Array.from([20, 22]));
  const h = t('conv_out', 'activation', 'u8', [1, 2, 4, 4], 5, 0.05);
  const p = t('pool_out', 'activation', 'u8', [1, 2, 2, 2], 5, 0.05);
  const f = t('flat', 'activation', 'u8', [1, 8], 5, 0.05);
  const fw = c(
    'fw',
    'i8',
    [8, 3],
    Int8Array.from({ length: 24 }, (_, i) => ((i * 37) % 255) - 127),
  );
  const fb = c('fb', 'i32', [3], Int32Array.from([7, 0, -7]));
  const fm = c('fm', 'i32', [1], Int32Array.from([16384]));
  const fs = c('fs', 'i32', [1], Int32Array.from([25]));
  const logits = t('logits', 'activation', 'u8', [1, 3], 128, 0.1);
  const exp = c(
    'exp',
    'i32',
    [256],
    Int32Array.from({ length: 256 }, (_, d) => Math.round(65536 * Math.exp(-d * 0.1))),
  );
  const probs = t('probs', 'activation', 'u8', [1, 3], 0, 1 / 255);
  return {
    meta: { name: 'hand', version: '1', inputKind: 'tensor', labels: ['a', 'b', 'c'] },
    tensors,
    consts,
    input: x,
    output: probs,
    ops: [
      {
        type: 'conv',
        name: 'conv',
        inputs: [x, w, b, cm, cs],
        output: h,
        strides: [1, 1],
        pads: [1, 1, 1, 1],
        dilations: [1, 1],
        group: 1,
        qmin: 5,
        qmax: 255,
      },
      {
        type: 'maxpool',
        name: 'pool',
        inputs: [h],
        output: p,
        kernel: [2, 2],
        strides: [2, 2],
        pads: [0, 0, 0, 0],
      },
      { type: 'reshape', name: 'flatten', inputs: [p], output: f, shape: [8] },
      { type: 'matmul', name: 'fc', inputs: [f, fw, fb, fm, fs], output: logits, qmin: 0, qmax: 255 },
      { type: 'softmax', name: 'softmax', inputs: [logits, exp], output: probs },
    ],
  };
}

export function handInput(batch = 1): { dtype: 'u8'; shape: number[]; data: Uint8Array; zeroPoint: number } {
  const data = Uint8Array.from({ length: 16 * batch }, (_, i) => (i * 53 + 7) % 256);
  return { dtype: 'u8', shape: [batch, 1, 4, 4], data, zeroPoint: 10 };
}
