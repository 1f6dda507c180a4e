// Wide single-op models for one-step bounds: the shapes that real models' largest steps have.
import type { Model } from '../../src/engine/graph.ts';
import { ModelBuilder, mulberry32, type Rng } from './randomModel.ts';

/** x [1, M, K] @ w [K, N] with small constant weights (a classifier head's shape). */
export function weightMatmul(M: number, K: number, N: number): Model {
  const r = mulberry32(K * N);
  const b = new ModelBuilder();
  const x = b.input('u8', [1, M, K], 3);
  const w = b.constant(
    Int8Array.from({ length: K * N }, () => r.int(-2, 2)),
    [K, N],
  );
  b.op(
    {
      type: 'matmul',
      inputs: [
        x,
        w,
        b.constant(new Int32Array(N), [N]),
        b.constant(Int32Array.of(300), [1]),
        b.constant(Int32Array.of(14), [1]),
      ],
      qmin: 0,
      qmax: 255,
    },
    100,
  );
  return b.build(`matmul ${K}x${N}`);
}

/**
 * x [1, C, H, W] -> conv to M channels (KxK kernel, stride 1, pads K/2): with planes of 1 KiB or
 * more one output element reads a chunk per input channel, so a large C splits the reduction into
 * committed partial sums (src/engine/convSegments.ts). Small weights keep the sums in range.
 */
export function wideConv(C: number, M: number, H: number, W: number, K = 1, seed = C * M + H): Model {
  const r = mulberry32(seed);
  const b = new ModelBuilder();
  const x = b.input('u8', [1, C, H, W], 5);
  const p = Math.floor(K / 2);
  const taps = C * K * K;
  const w = b.constant(
    Int8Array.from({ length: M * taps }, () => r.int(-3, 3)),
    [M, C, K, K],
  );
  const bias = Int32Array.from({ length: M }, () => r.int(-200, 200));
  b.op(
    {
      type: 'conv',
      inputs: [
        x,
        w,
        b.constant(bias, [M]),
        b.constant(
          Int32Array.from({ length: M }, () => r.int(1 << 14, 1 << 15)),
          [M],
        ),
        b.constant(
          Int32Array.from({ length: M }, () => 23 + Math.ceil(Math.log2(Math.sqrt(taps)))),
          [M],
        ),
      ],
      strides: [1, 1],
      pads: [p, p, p, p],
      dilations: [1, 1],
      group: 1,
      qmin: 0,
      qmax: 255,
    },
    80,
  );
  return b.build(`conv ${C}->${M} ${K}x${K} at ${H}x${W}`);
}

/**
 * A random model whose first op is a conv with a split reduction (32x32 planes, 24 to 64 input
 * channels, 1x1 or 3x3), sometimes followed by a small 1x1 conv: for the dispute fuzzers.
 */
export function splitConvModel(r: Rng): Model {
  const C = r.pick([24, 40, 64]);
  const K = r.pick([1, 3]);
  const M = r.pick([2, 4]);
  const H = r.pick([32, 33]);
  const b = new ModelBuilder();
  const x = b.input('u8', [1, C, H, 32], r.int(0, 9));
  const conv = (input: number, cin: number, cout: number, k: number) => {
    const p = Math.floor(k / 2);
    const taps = cin * k * k;
    return b.op(
      {
        type: 'conv',
        inputs: [
          input,
          b.constant(
            Int8Array.from({ length: cout * taps }, () => r.int(-4, 4)),
            [cout, cin, k, k],
          ),
          b.constant(
            Int32Array.from({ length: cout }, () => r.int(-500, 500)),
            [cout],
          ),
          b.constant(
            Int32Array.from({ length: cout }, () => r.int(1 << 14, 1 << 15)),
            [cout],
          ),
          b.constant(
            Int32Array.from({ length: cout }, () => 24 + Math.ceil(Math.log2(Math.sqrt(taps)))),
            [cout],
          ),
        ],
        strides: [1, 1],
        pads: [p, p, p, p],
        dilations: [1, 1],
        group: 1,
        qmin: 0,
        qmax: 255,
      },
      r.int(60, 120),
    );
  };
  const y = conv(x, C, M, K);
  if (r.bool()) conv(y, M, 2, 1);
  return b.build(`split conv ${C}->${M} ${K}x${K} at ${H}x32`);
}

/**
 * x [1, T, d] -> reducemean over the tokens (axis 1), the pooling of a sentence encoder: the T
 * values of one output are d bytes apart, so with T*d of 8 KiB or more one element reads more than
 * 8 chunks and the reduction is split into committed partial sums (src/engine/reduceSegments.ts).
 * mult / 2^shift about 1, so the mean lands in range.
 */
export function stridedMean(T: number, d: number, keepDims = false, zx = 7): Model {
  const b = new ModelBuilder();
  const x = b.input('u8', [1, T, d], zx);
  b.op({ type: 'reducemean', inputs: [x], axis: 1, keepDims, mult: 9 << 11, shift: 14 }, 3);
  return b.build(`mean [1,${T},${d}] over axis 1`);
}

/**
 * A random model whose first op is a reducemean over a strided axis with a split reduction
 * ([1, T, d] over T, or [1, C, H, W] over C), sometimes followed by a small reducemean over the
 * last axis: for the dispute fuzzers.
 */
export function splitMeanModel(r: Rng): Model {
  const b = new ModelBuilder();
  const zx = r.int(0, 9);
  const mult = r.int(1 << 12, 1 << 14);
  const x = r.bool()
    ? b.input('u8', [1, r.pick([128, 160, 200]), r.pick([64, 96, 256])], zx)
    : b.input('u8', [1, r.pick([20, 24]), r.pick([16, 24]), 32], zx);
  const y = b.op(
    { type: 'reducemean', inputs: [x], axis: 1, keepDims: r.bool(), mult, shift: 13 },
    r.int(0, 9),
  );
  if (r.bool()) {
    const rank = b.shape(y).length;
    b.op({ type: 'reducemean', inputs: [y], axis: rank - 1, keepDims: false, mult: 1 << 14, shift: 14 }, 0);
  }
  return b.build(`split mean of [${b.shape(x).join(',')}] over axis 1`);
}

/**
 * x [1, C, H, W] -> avgpool with a kH x kW window (a global average pool by default, as in
 * squeeze-excitation): with more than 1024 taps one element is summed in segments of kernel rows
 * (src/engine/poolSegments.ts). mult / 2^shift about 1, so the mean lands in range.
 */
export function widePool(
  C: number,
  H: number,
  W: number,
  opts: {
    kernel?: [number, number];
    strides?: [number, number];
    pad?: number;
    countIncludePad?: boolean;
  } = {},
): Model {
  const b = new ModelBuilder();
  const x = b.input('u8', [1, C, H, W], 5);
  const kernel = opts.kernel ?? [H, W];
  const p = opts.pad ?? 0;
  b.op(
    {
      type: 'avgpool',
      inputs: [x],
      kernel,
      strides: opts.strides ?? [1, 1],
      pads: [p, p, p, p],
      countIncludePad: opts.countIncludePad ?? false,
      mult: 9 << 11,
      shift: 14,
    },
    3,
  );
  return b.build(`avgpool ${kernel.join('x')} over [1,${C},${H},${W}]`);
}

/**
 * A random model whose first op is an avgpool with a split window sum (a global pool over 40..64
 * square planes, or a padded strided window of more than 1024 taps), sometimes followed by a
 * small avgpool: for the dispute fuzzers.
 */
export function splitPoolModel(r: Rng): Model {
  const b = new ModelBuilder();
  const H = r.pick([40, 48, 56]);
  const x = b.input('u8', [1, r.int(1, 3), H, r.pick([40, 56, 64])], r.int(0, 9));
  const [, , , W] = b.shape(x);
  const global = r.bool();
  const k: [number, number] = global ? [H, W] : [H - 4, W - 4];
  const p = global ? 0 : r.int(0, 3);
  const y = b.op(
    {
      type: 'avgpool',
      inputs: [x],
      kernel: k,
      strides: global ? [1, 1] : [r.int(1, 4), r.int(1, 4)],
      pads: [p, p, p, p],
      countIncludePad: r.bool(),
      mult: r.int(1 << 12, 1 << 14),
      shift: 13,
    },
    r.int(0, 9),
  );
  if (r.bool()) {
    const [, , OH, OW] = b.shape(y);
    b.op(
      {
        type: 'avgpool',
        inputs: [y],
        kernel: [OH, OW],
        strides: [1, 1],
        pads: [0, 0, 0, 0],
        countIncludePad: false,
        mult: 1 << 14,
        shift: 14,
      },
      0,
    );
  }
  return b.build(`split avgpool ${k.join('x')} over [${b.shape(x).join(',')}]`);
}
