// The WebAssembly engine's vector paths on shapes wider than the random models reach: pools over
// planes of up to 64 columns (16 outputs at a time), layernorm rows of up to 2048 and softmax rows
// of up to 1400, each against the reference interpreter byte for byte.
import { test } from 'node:test';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import {
  addLayerNorm,
  addSoftmax,
  type Gen,
  ModelBuilder,
  mulberry32,
  randomInput,
} from '../support/randomModel.ts';
import { assertSameTrace } from '../support/traces.ts';

const wasm = createWasmBackend();
const CASES = 150;

function assertSame(model: Model, seed: number): void {
  const rng = mulberry32(seed);
  const mode = rng.pick(['random', 'random', 'zeros', 'max'] as const);
  const input = randomInput(model, rng.int(1, 2), rng, mode);
  assertSameTrace(model, runReference(model, input).trace, wasm.runSync(model, input).trace, `seed ${seed}`);
}

function poolModel(seed: number): Model {
  const r = mulberry32(seed);
  const b = new ModelBuilder();
  const H = r.int(1, 40);
  const W = r.int(1, 64);
  const x = b.input('u8', [1, r.int(1, 3), H, W], r.pick([0, 128, 255, r.int(0, 255)]), 0.05);
  const kh = r.int(1, Math.min(5, H + 1));
  const kw = r.int(1, Math.min(6, W + 1));
  const pads: [number, number, number, number] = r.bool()
    ? [0, 0, 0, 0]
    : [r.int(0, kh - 1), r.int(0, kw - 1), r.int(0, kh - 1), r.int(0, kw - 1)];
  const window = {
    kernel: [kh, kw] as [number, number],
    strides: [r.int(1, 3), r.pick([1, 2, 2, 3])] as [number, number],
    pads,
  };
  if (H + pads[0] + pads[2] < kh || W + pads[1] + pads[3] < kw) return poolModel(seed + 100000);
  if (r.bool()) {
    b.op({ type: 'maxpool', inputs: [x], ...window }, b.zp(x));
  } else {
    const shift = r.pick([0, 1, 7, 14, 30, 31, 40, r.int(0, 40)]);
    const mult = r.pick([0, 1, 2 ** 15 - 1, Math.min(2 ** 15 - 1, 2 ** Math.min(shift, 14) + r.int(0, 99))]);
    const countIncludePad = r.bool();
    b.op({ type: 'avgpool', inputs: [x], ...window, countIncludePad, mult, shift }, r.int(0, 255));
  }
  return b.build('wide-pool');
}

function normModel(seed: number): Model {
  const r = mulberry32(seed);
  const g: Gen = { rng: r, extreme: r.bool() };
  const b = new ModelBuilder();
  if (r.bool()) {
    const D = r.pick([8, 64, 256, 257, 1000, 2048, r.int(1, 300)]);
    addLayerNorm(b, g, b.input('u8', [1, D > 300 ? 1 : r.int(1, 4), D], r.int(0, 255), 0.05));
  } else {
    const L = r.pick([16, 64, 128, 129, 1400, r.int(1, 300)]);
    addSoftmax(b, g, b.input('u8', [1, L > 300 ? 1 : r.int(1, 4), L], r.int(0, 255), 0.05));
  }
  return b.build('wide-norm');
}

test(`maxpool and avgpool on wide planes (${CASES} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES; seed++) assertSame(poolModel(seed), seed);
});

test(`layernorm and softmax on long rows (${CASES} seeded cases)`, () => {
  for (let seed = 1; seed <= CASES; seed++) assertSame(normModel(seed), seed);
});
