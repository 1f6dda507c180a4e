// The WebAssembly engine's shape-specific fast paths against the reference interpreter, byte for
// byte, on inputs built to reach them: softmax rows of narrow range (the swizzle lookups, with
// tables that end in zeros or hold 2^16 more than once), layernorm at its extremes (constant rows,
// shifts 0 and 40, gamma ±2^15; four rows at a time), softmax four rows at a time, 2x2 stride-2
// and global pools, the 16-lane add, a K = N = 1 matmul by one gate value per run, and transposes
// in 16 x 16 byte blocks.
import { test } from 'node:test';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import { ModelBuilder, mulberry32, type Rng } from '../support/randomModel.ts';
import { assertSameTrace } from '../support/traces.ts';

const wasm = createWasmBackend();
const CASES = 300;

function assertSame(model: Model, input: Tensor, context: string): void {
  assertSameTrace(model, runReference(model, input).trace, wasm.runSync(model, input).trace, context);
}

/** Bytes whose rows of `len` each lie in a window of width `range`, with 0 and 255 among the picks. */
function narrowRows(r: Rng, n: number, len: number, range: number): Uint8Array {
  const data = new Uint8Array(n);
  for (let row = 0; row < n / len; row++) {
    const lo = r.pick([0, 255 - range, r.int(0, 255 - range)]);
    for (let i = 0; i < len; i++) {
      data[row * len + i] = r.bool(0.1) ? r.pick([lo, lo + range]) : lo + r.int(0, range);
    }
  }
  return data;
}

function u8Input(model: Model, data: Uint8Array, batch: number): Tensor {
  const info = model.tensors[model.input];
  return { dtype: 'u8', shape: [batch, ...info.shape.slice(1)], data, zeroPoint: info.zeroPoint };
}

function softmaxTable(r: Rng): Int32Array {
  const t = new Int32Array(256);
  const mode = r.pick(['exp', 'exp', 'zeros-after', 'ones', 'random', 'max-lanes']);
  const scale = 0.02 + r.next() * 0.6;
  const nz = r.int(1, 256);
  for (let d = 0; d < 256; d++) {
    if (mode === 'ones') t[d] = 2 ** 16;
    else if (mode === 'random') t[d] = r.int(0, 2 ** 16);
    // Every byte plane at 255 somewhere: 0xffff, and 2^16 past d = 0.
    else if (mode === 'max-lanes') t[d] = r.pick([0xffff, 2 ** 16, 0, 0xff00, 0xff]);
    else t[d] = d < nz || mode === 'exp' ? Math.round(2 ** 16 * Math.exp(-d * scale)) : 0;
  }
  t[0] = 2 ** 16;
  return t;
}

test(`softmax rows of narrow range through the swizzle lookups (${CASES} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES; seed++) {
    const r = mulberry32(seed);
    const L = r.pick([16, 32, 64, 64, 80, 257, 1024, 1400, r.int(16, 300)]);
    const rows = L > 300 ? 1 : r.int(1, 6);
    const b = new ModelBuilder();
    const x = b.input('u8', [1, rows, L], r.int(0, 255), 0.05);
    b.op({ type: 'softmax', inputs: [x, b.constant(softmaxTable(r), [256])] }, 0, 1 / 255);
    const model = b.build('softmax-narrow');
    const batch = r.int(1, 2);
    const range = r.pick([0, 1, 15, 16, 17, 31, 47, 63, 64, 100, 255]);
    assertSame(model, u8Input(model, narrowRows(r, batch * rows * L, L, range), batch), `seed ${seed}`);
  }
});

test(`layernorm at the extremes: constant rows, shifts 0 and 40, gamma ±2^15 (${CASES} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES; seed++) {
    const r = mulberry32(1000 + seed);
    const D = r.pick([1, 7, 8, 16, 64, 65, 2048, r.int(1, 300)]);
    const rows = D > 300 ? 1 : r.int(1, 4);
    const gamma = new Int32Array(D);
    const beta = new Int32Array(D);
    for (let i = 0; i < D; i++) {
      gamma[i] = r.pick([2 ** 15, -(2 ** 15), 0, 1, r.int(-(2 ** 15), 2 ** 15)]);
      beta[i] = r.pick([2 ** 31 - 1, -(2 ** 31 - 1), 0, r.int(-(2 ** 31 - 1), 2 ** 31 - 1)]);
    }
    const b = new ModelBuilder();
    const x = b.input('u8', [1, rows, D], r.pick([0, 255, r.int(0, 255)]), 0.05);
    const qmin = r.pick([0, 0, r.int(0, 255)]);
    b.op(
      {
        type: 'layernorm',
        inputs: [x, b.constant(gamma, [D]), b.constant(beta, [D])],
        eps: r.pick([0, 1, 2 ** 40 - 1, r.int(0, 4096)]),
        mult: r.pick([0, 1, 2 ** 15 - 1, r.int(0, 2 ** 15 - 1)]),
        shift: r.pick([0, 1, 16, 34, 40, r.int(0, 40)]),
        qmin,
        qmax: r.pick([255, qmin, r.int(qmin, 255)]),
      },
      r.pick([0, 255, r.int(0, 255)]),
    );
    const model = b.build('layernorm-extreme');
    const range = r.pick([0, 0, 1, 255, r.int(0, 255)]);
    assertSame(model, u8Input(model, narrowRows(r, rows * D, D, range), 1), `seed ${seed}`);
  }
});

test(`2x2 stride-2 and global pools (${CASES} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES; seed++) {
    const r = mulberry32(2000 + seed);
    const global = r.bool(0.4);
    const H = global ? r.pick([1, 7, 14, 50, r.int(1, 40)]) : r.int(2, 40);
    const W = global
      ? r.pick([1, 7, 14, 50, r.int(1, 40)])
      : r.pick([2, 3, 7, 14, 28, 31, 32, 33, 64, r.int(2, 70)]);
    const b = new ModelBuilder();
    const x = b.input('u8', [1, r.int(1, 5), H, W], r.pick([0, 255, r.int(0, 255)]), 0.05);
    const window = {
      kernel: (global ? [H, W] : [2, 2]) as [number, number],
      strides: (global ? [1, 1] : [2, 2]) as [number, number],
      pads: [0, 0, global ? 0 : r.pick([0, 1]), global ? 0 : r.pick([0, 1])] as [
        number,
        number,
        number,
        number,
      ],
    };
    if (!global && r.bool(0.3)) b.op({ type: 'maxpool', inputs: [x], ...window }, b.zp(x));
    else {
      const shift = r.pick([0, 1, 12, 14, 28, 29, 40, r.int(0, 40)]);
      const mult = r.pick([0, 1, 2 ** 15 - 1, r.int(0, 2 ** 15 - 1)]);
      b.op(
        { type: 'avgpool', inputs: [x], ...window, countIncludePad: r.bool(), mult, shift },
        r.pick([0, 255, r.int(0, 255)]),
      );
    }
    const model = b.build('pool-fast');
    const batch = r.int(1, 3);
    const n = batch * model.tensors[model.input].shape.slice(1).reduce((p, d) => p * d, 1);
    const data = narrowRows(r, n, 1, 255).map((v) => (r.bool(0.2) ? r.pick([0, 255]) : v));
    assertSame(model, u8Input(model, data, batch), `seed ${seed}`);
  }
});

test(`add over 16 lanes, with b broadcast or not (${CASES} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES; seed++) {
    const r = mulberry32(3000 + seed);
    const n = r.pick([16, 17, 31, 49, 64, 196, r.int(16, 300)]);
    const rows = r.int(1, 4);
    const b = new ModelBuilder();
    const x = b.input('u8', [1, rows, n], r.pick([0, 255, r.int(0, 255)]), 0.05);
    // b: a lut of x (an activation of any zero point) or one broadcast constant.
    const other = r.bool()
      ? b.op(
          {
            type: 'lut',
            inputs: [
              x,
              b.constant(
                Uint8Array.from({ length: 256 }, () => r.int(0, 255)),
                [256],
              ),
            ],
          },
          r.pick([0, 255, r.int(0, 255)]),
        )
      : b.constant(Uint8Array.of(r.pick([0, 255, r.int(0, 255)])), [1, 1, 1]);
    const qmin = r.pick([0, 0, r.int(0, 255)]);
    b.op(
      {
        type: 'add',
        inputs: r.bool() ? [x, other] : [other, x],
        multA: r.pick([0, 1, 2 ** 15 - 1, r.int(0, 2 ** 15 - 1)]),
        multB: r.pick([0, 1, 2 ** 15 - 1, r.int(0, 2 ** 15 - 1)]),
        shift: r.pick([0, 1, 14, 30, 31, 40, r.int(0, 40)]),
        qmin,
        qmax: r.pick([255, qmin, r.int(qmin, 255)]),
      },
      r.pick([0, 255, r.int(0, 255)]),
    );
    const model = b.build('add-fast');
    const batch = r.int(1, 2);
    const data = narrowRows(r, batch * rows * n, 1, 255);
    assertSame(model, u8Input(model, data, batch), `seed ${seed}`);
  }
});

test(`layernorm four rows at a time, D a multiple of 16 (${CASES} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES; seed++) {
    const r = mulberry32(4000 + seed);
    const D = r.pick([16, 32, 48, 64, 64, 128, 2048, 16 * r.int(1, 20)]);
    const rows = D > 320 ? r.pick([4, 5]) : r.pick([4, 5, 7, 8, 12, r.int(4, 17)]);
    const gamma = new Int32Array(D);
    const beta = new Int32Array(D);
    for (let i = 0; i < D; i++) {
      gamma[i] = r.pick([2 ** 15, -(2 ** 15), 0, 1, r.int(-(2 ** 15), 2 ** 15)]);
      beta[i] = r.pick([
        2 ** 31 - 1,
        -(2 ** 31 - 1),
        0,
        r.int(-(2 ** 31 - 1), 2 ** 31 - 1),
        r.int(-(2 ** 22), 2 ** 22),
      ]);
    }
    const b = new ModelBuilder();
    const x = b.input('u8', [1, rows, D], r.pick([0, 255, r.int(0, 255)]), 0.05);
    const qmin = r.pick([0, 0, r.int(0, 255)]);
    b.op(
      {
        type: 'layernorm',
        inputs: [x, b.constant(gamma, [D]), b.constant(beta, [D])],
        eps: r.pick([0, 1, 2 ** 40 - 1, r.int(0, 4096)]),
        mult: r.pick([0, 1, 2 ** 15 - 1, r.int(0, 2 ** 15 - 1)]),
        // 19 and 20 sit either side of the byte-clamp bound.
        shift: r.pick([0, 1, 16, 19, 20, 34, 35, 40, r.int(0, 40)]),
        qmin,
        qmax: r.pick([255, qmin, r.int(qmin, 255)]),
      },
      r.pick([0, 255, r.int(0, 255)]),
    );
    const model = b.build('layernorm-four-rows');
    const range = r.pick([0, 0, 1, 255, r.int(0, 255)]);
    assertSame(model, u8Input(model, narrowRows(r, rows * D, D, range), 1), `seed ${seed}`);
  }
});

test(`softmax four rows at a time, rows of 16 to 128 (${CASES} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES; seed++) {
    const r = mulberry32(5000 + seed);
    const L = r.pick([16, 32, 48, 64, 64, 80, 112, 128]);
    const rows = r.pick([4, 5, 8, 11, 16, r.int(4, 20)]);
    const b = new ModelBuilder();
    const x = b.input('u8', [1, rows, L], r.int(0, 255), 0.05);
    b.op({ type: 'softmax', inputs: [x, b.constant(softmaxTable(r), [256])] }, 0, 1 / 255);
    const model = b.build('softmax-four-rows');
    const batch = r.int(1, 2);
    // Each row its own range, so that four rows reach different numbers of table blocks.
    const data = new Uint8Array(batch * rows * L);
    for (let row = 0; row < batch * rows; row++) {
      const range = r.pick([0, 1, 15, 16, 17, 31, 47, 63, 64, 79, 95, 100, 255]);
      data.set(narrowRows(r, L, L, range), row * L);
    }
    assertSame(model, u8Input(model, data, batch), `seed ${seed}`);
  }
});

test(`a K = N = 1 matmul by one gate value per run (the scaled i32 path, ${CASES} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES; seed++) {
    const r = mulberry32(6000 + seed);
    const n = r.pick([16, 17, 31, 32, 49, 196, r.int(16, 300)]);
    const rows = r.int(1, 5);
    const b = new ModelBuilder();
    const x = b.input('u8', [1, rows, n, 1], r.pick([0, 255, r.int(0, 255)]), 0.05);
    // The gate: a global average over each row, [1, rows, 1, 1], at any zero point.
    const gate = b.op(
      {
        type: 'avgpool',
        inputs: [x],
        kernel: [n, 1],
        strides: [1, 1],
        pads: [0, 0, 0, 0],
        countIncludePad: false,
        mult: r.pick([1, 2 ** 15 - 1, r.int(1, 2 ** 15 - 1)]),
        shift: r.pick([0, 8, 12, 14, r.int(0, 16)]),
      },
      r.pick([0, 255, r.int(0, 255)]),
    );
    const limit = 2 ** 31 - 1 - 255 * 255;
    const qmin = r.pick([0, 0, r.int(0, 255)]);
    b.op(
      {
        type: 'matmul',
        inputs: [
          x,
          gate,
          b.constant(
            Int32Array.of(r.pick([0, limit, -limit, r.int(-limit, limit), r.int(-4096, 4096)])),
            [1],
          ),
          b.constant(Int32Array.of(r.pick([0, 1, 2 ** 15 - 1, r.int(0, 2 ** 15 - 1)])), [1]),
          // 16 and 31 bound the scaled path.
          b.constant(Int32Array.of(r.pick([0, 15, 16, 22, 30, 31, 32, 40, r.int(0, 40)])), [1]),
        ],
        qmin,
        qmax: r.pick([255, qmin, r.int(qmin, 255)]),
      },
      r.pick([0, 255, r.int(0, 255)]),
    );
    const model = b.build('mul-gate');
    const batch = r.int(1, 2);
    const data = narrowRows(r, batch * rows * n, n, r.pick([0, 1, 255, r.int(0, 255)]));
    assertSame(model, u8Input(model, data, batch), `seed ${seed}`);
  }
});

test(`transposes that swap the last two axes, in 16 x 16 byte blocks (${CASES} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES; seed++) {
    const r = mulberry32(7000 + seed);
    const dim = () => r.pick([16, 17, 31, 32, 33, 64, r.int(16, 90)]);
    const four = r.bool();
    const shape = four ? [1, dim(), r.int(1, 5), r.pick([16, 17, 33, r.int(1, 40)])] : [1, dim(), dim()];
    const b = new ModelBuilder();
    const x = b.input('u8', shape, r.int(0, 255), 0.05);
    b.op({ type: 'transpose', inputs: [x], perm: four ? [0, 2, 3, 1] : [0, 2, 1] }, b.zp(x));
    const model = b.build('transpose-blocks');
    const batch = r.int(1, 2);
    const n = batch * shape.slice(1).reduce((p, d) => p * d, 1);
    assertSame(model, u8Input(model, narrowRows(r, n, 1, 255), batch), `seed ${seed}`);
  }
});
