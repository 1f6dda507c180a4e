// The WebAssembly engine's conv fast paths against the reference interpreter, byte for byte, on
// shapes built to reach them (each case checks in the compiled plan that it took the path): the
// depthwise pair-plane kernel (strides 1 to 3 down, 1 and 2 across, dilations, channel
// multipliers 1 to 3, odd widths, tiny planes), the 1x1 stride-1 conv that pairs its planes in
// place, and the general im2col conv, all with the requantization fused into the kernel. Zero
// points 0 and 255, weights at -128 and 127, biases at the validator's bound, and per-channel
// shifts below 16 (the i64 route), from 16 up (the split i32 route, with inputs near the zero
// point so that large multipliers stay in range) and multipliers small enough for the depthwise
// kernel's single-product route.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConvOp, Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import { layoutBatch, layoutConstants } from '../../src/engine/wasm/plan.ts';
import { ModelBuilder, mulberry32, type Rng } from '../support/randomModel.ts';
import { assertSameTrace } from '../support/traces.ts';

const wasm = createWasmBackend();
const CASES = 300;

function assertSame(model: Model, input: Tensor, context: string): void {
  assertSameTrace(model, runReference(model, input).trace, wasm.runSync(model, input).trace, context);
}

/** Word 34 (direct: the depthwise kernel) of the model's single conv record. */
function directWord(model: Model, batch: number): number {
  const consts = layoutConstants(model, 1024);
  const layout = layoutBatch(model, consts, batch);
  const plan = layout.blobs.find((b) => b.at === layout.plan)!;
  const words = new Int32Array(plan.bytes.buffer, plan.bytes.byteOffset, plan.bytes.byteLength / 4);
  assert.equal(words[1], 1, 'the first record is a conv');
  return words[3 + 34];
}

/**
 * Inputs with runs of 0 and 255 among random bytes, or within 2 of the zero point: small sums
 * that large multipliers still map into the byte range.
 */
function inputBytes(r: Rng, n: number, zx: number): Uint8Array {
  const data = new Uint8Array(n);
  const mode = r.pick(['random', 'ends', 'zeros', 'max', 'near']);
  for (let i = 0; i < n; i++) {
    if (mode === 'near') data[i] = Math.max(0, Math.min(255, zx + r.int(-2, 2)));
    else if (mode === 'zeros') data[i] = r.bool(0.9) ? 0 : r.int(0, 255);
    else if (mode === 'max') data[i] = r.bool(0.9) ? 255 : r.int(0, 255);
    else if (mode === 'ends' || r.bool(0.2)) data[i] = r.pick([0, 255]);
    else data[i] = r.int(0, 255);
  }
  return data;
}

function weights(r: Rng, n: number): Int8Array {
  const w = new Int8Array(n);
  const mode = r.pick(['random', 'min', 'max', 'ends', 'small']);
  for (let i = 0; i < n; i++) {
    if (mode === 'min') w[i] = -128;
    else if (mode === 'max') w[i] = 127;
    else if (mode === 'ends') w[i] = r.bool() ? 127 : -128;
    else if (mode === 'small') w[i] = r.int(-3, 3);
    else w[i] = r.int(-128, 127);
  }
  return w;
}

/**
 * Per-channel bias, multiplier and shift: fitted so that outputs spread over the byte range, or
 * at the extremes, or on each requantization route (shift < 16, >= 16, a small multiplier).
 */
function requant(r: Rng, M: number, taps: number): { bias: Int32Array; mult: Int32Array; shift: Int32Array } {
  const limit = 2 ** 31 - 1 - taps * 255 * 128;
  const bias = new Int32Array(M);
  const mult = new Int32Array(M);
  const shift = new Int32Array(M);
  const scale = Math.sqrt(taps) * 255 * 60;
  for (let m = 0; m < M; m++) {
    bias[m] = r.pick([0, limit, -limit, r.int(-1000, 1000), r.int(-(2 ** 20), 2 ** 20)]);
    const mode = r.pick(['fit', 'fit', 'low', 'small', 'split', 'extreme']);
    if (mode === 'split') {
      // Large multipliers at shifts 16 to 18: the split i32 route, with its rounding term.
      mult[m] = r.int(2 ** 14, 2 ** 15 - 1);
      shift[m] = r.int(16, 18);
      bias[m] = r.int(-300, 300);
    } else if (mode === 'fit') {
      mult[m] = r.int(2 ** 13, 2 ** 15 - 1);
      shift[m] = Math.max(16, Math.min(40, Math.round(Math.log2((mult[m] * scale) / 60))));
    } else if (mode === 'low') {
      shift[m] = r.int(0, 15);
      mult[m] = r.int(0, Math.max(1, 2 ** shift[m] / Math.max(1, scale / 100)));
    } else if (mode === 'small') {
      mult[m] = r.int(1, 40);
      shift[m] = r.int(1, 20);
    } else {
      mult[m] = r.pick([0, 1, 2 ** 15 - 1]);
      shift[m] = r.pick([0, 1, 15, 16, 17, 31, 32, 33, 40]);
    }
  }
  return { bias, mult, shift };
}

function convModel(
  r: Rng,
  shape: [number, number, number, number],
  M: number,
  group: number,
  kernel: [number, number],
  conv: Pick<ConvOp, 'strides' | 'pads' | 'dilations'>,
): Model {
  const b = new ModelBuilder();
  const C = shape[1];
  const x = b.input('u8', shape, r.pick([0, 255, r.int(0, 255)]), 0.05);
  const taps = (C / group) * kernel[0] * kernel[1];
  const q = requant(r, M, taps);
  const perTensor = r.bool(0.1);
  const lo = r.pick([0, 0, r.int(0, 255)]);
  b.op(
    {
      type: 'conv',
      inputs: [
        x,
        b.constant(weights(r, M * taps), [M, C / group, ...kernel]),
        b.constant(q.bias, [M]),
        b.constant(perTensor ? q.mult.slice(0, 1) : q.mult, [perTensor ? 1 : M]),
        b.constant(perTensor ? q.shift.slice(0, 1) : q.shift, [perTensor ? 1 : M]),
      ],
      ...conv,
      group,
      qmin: lo,
      qmax: r.pick([255, 255, r.int(lo, 255)]),
    },
    r.pick([0, 255, r.int(0, 255)]),
  );
  return b.build('conv-fast');
}

function input(model: Model, r: Rng, batch: number): Tensor {
  const info = model.tensors[model.input];
  const shape = [batch, ...info.shape.slice(1)];
  const data = inputBytes(
    r,
    shape.reduce((p, d) => p * d, 1),
    info.zeroPoint,
  );
  return { dtype: 'u8', shape, data, zeroPoint: info.zeroPoint };
}

test(`depthwise convs through the pair planes, every stride and dilation (${CASES} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES; seed++) {
    const r = mulberry32(7000 + seed);
    const C = r.int(1, 6);
    const H = r.pick([1, 2, 7, 14, 15, 33, r.int(1, 40)]);
    const W = r.pick([1, 3, 7, 14, 17, 31, 33, 57, r.int(1, 70)]);
    const KH = r.pick([3, 3, 5, 1, 2, r.int(1, 5)]);
    const KW = r.pick([3, 3, 5, 1, 2, r.int(1, 5)]);
    const dh = r.bool(0.75) ? 1 : r.int(2, 3);
    const dw = r.bool(0.75) ? 1 : r.int(2, 3);
    const sh = r.pick([1, 2, 1, 2, 3]);
    const sw = r.pick([1, 2]);
    const pads: [number, number, number, number] = [
      r.int(0, KH * dh - 1),
      r.int(0, KW * dw - 1),
      r.int(0, KH * dh),
      r.int(0, KW * dw),
    ];
    const OH = Math.floor((H + pads[0] + pads[2] - (KH - 1) * dh - 1) / sh) + 1;
    const OW = Math.floor((W + pads[1] + pads[3] - (KW - 1) * dw - 1) / sw) + 1;
    if (OH < 1 || OW < 1) continue;
    const model = convModel(r, [1, C, H, W], C * r.int(1, 3), C, [KH, KW], {
      strides: [sh, sw],
      pads,
      dilations: [dh, dw],
    });
    const batch = r.int(1, 2);
    assert.equal(directWord(model, batch), 1, `seed ${seed}: the depthwise kernel`);
    assertSame(
      model,
      input(model, r, batch),
      `seed ${seed} (${KH}x${KW} s${sh},${sw} d${dh},${dw} ${H}x${W})`,
    );
  }
});

test(`MobileNet-sized depthwise 3x3 convs, stride 1 and 2 (${CASES / 30} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES / 30; seed++) {
    const r = mulberry32(8000 + seed);
    const s = r.pick([1, 2]);
    const H = r.pick([7, 14, 28, 56, 112]);
    const C = r.int(1, 4);
    const model = convModel(r, [1, C, H, H], C, C, [3, 3], {
      strides: [s, s],
      pads: [1, 1, 1, 1],
      dilations: [1, 1],
    });
    assertSame(model, input(model, r, 1), `seed ${seed} (${H}x${H} s${s})`);
  }
});

test(`1x1 stride-1 convs that pair their planes in place, M = 1..13 rows (${CASES} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES; seed++) {
    const r = mulberry32(9000 + seed);
    const group = r.pick([1, 1, 1, 2, 3]);
    const Cg = r.pick([1, 2, 3, 8, 15, 16, 24, r.int(1, 40)]);
    // At least 4 channels per group, or more than one input channel: not the depthwise kernel.
    const Mg = Cg === 1 ? r.int(4, 13) : r.int(1, 13);
    const H = r.pick([1, 7, 14, r.int(1, 20)]);
    const W = r.pick([1, 3, 7, 14, 33, r.int(1, 40)]);
    const model = convModel(r, [1, group * Cg, H, W], group * Mg, group, [1, 1], {
      strides: [1, 1],
      pads: [0, 0, 0, 0],
      dilations: [r.int(1, 2), r.int(1, 2)],
    });
    const batch = r.int(1, 3);
    assert.equal(directWord(model, batch), 0, `seed ${seed}: the GEMM path`);
    assertSame(model, input(model, r, batch), `seed ${seed} (Cg ${Cg} Mg ${Mg} ${H}x${W})`);
  }
});

test(`im2col convs with the fused requantization, strides 1 to 3 (${CASES} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES; seed++) {
    const r = mulberry32(10000 + seed);
    const group = r.pick([1, 1, 2]);
    const Cg = r.int(1, 6);
    const Mg = Cg === 1 ? r.int(4, 11) : r.int(1, 11);
    const K = r.pick([1, 3, 3, 5, r.int(1, 4)]);
    const s = r.pick([1, 2, 3]);
    const H = r.int(K, 24);
    const W = r.pick([K, 7, 17, r.int(K, 40)]);
    const p = r.int(0, K - 1);
    const model = convModel(r, [1, group * Cg, H, W], group * Mg, group, [K, K], {
      strides: [s, r.pick([1, 2, 3])],
      pads: [p, p, r.int(0, K - 1), r.int(0, K - 1)],
      dilations: [1, 1],
    });
    const batch = r.int(1, 2);
    assert.equal(directWord(model, batch), 0, `seed ${seed}: the GEMM path`);
    assertSame(model, input(model, r, batch), `seed ${seed} (${K}x${K} s${s} Cg ${Cg} Mg ${Mg})`);
  }
});

test('accumulators at exactly 2^31 - 1 and -(2^31 - 1) on every requantization route', () => {
  // Every tap contributes (x - zx) w = 255 * 128 with the same sign, and the bias fills the rest:
  // the sum, times a multiplier of 1, is the extreme the validator allows. At shift 1 the single
  // i32 route would overflow its rounding step, so it must not be taken there.
  for (const [kernel, C, group] of [
    [[3, 3], 1, 1],
    [[1, 1], 1, 1],
    [[3, 3], 4, 4],
    [[1, 1], 8, 1],
    [[3, 3], 3, 1],
  ] as [[number, number], number, number][]) {
    for (const sign of [1, -1]) {
      for (const shift of [0, 1, 2, 15, 16, 17, 31]) {
        const taps = (C / group) * kernel[0] * kernel[1];
        const M = group === 1 ? 2 : C;
        const b = new ModelBuilder();
        // zx = 255 and x = 0: x - zx = -255, so w = -128 * sign makes every product +32640 * sign.
        const x = b.input('u8', [1, C, 6, 7], 255, 0.05);
        const bias = sign * (2 ** 31 - 1 - taps * 255 * 128);
        b.op(
          {
            type: 'conv',
            inputs: [
              x,
              b.constant(new Int8Array(M * taps).fill(-128 * sign), [M, C / group, ...kernel]),
              b.constant(new Int32Array(M).fill(bias), [M]),
              b.constant(new Int32Array(M).fill(1), [M]),
              b.constant(new Int32Array(M).fill(shift), [M]),
            ],
            strides: [1, 1],
            pads: kernel[0] === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0],
            dilations: [1, 1],
            group,
            qmin: 0,
            qmax: 255,
          },
          r8(shift),
        );
        const model = b.build('conv-extreme');
        assertSame(
          model,
          { dtype: 'u8', shape: [1, C, 6, 7], data: new Uint8Array(C * 42), zeroPoint: 255 },
          `${kernel.join('x')} C ${C} group ${group} sign ${sign} shift ${shift}`,
        );
      }
    }
  }
});

/** An output zero point that keeps some outputs inside the byte range. */
function r8(shift: number): number {
  return shift >= 16 ? 128 : 0;
}
