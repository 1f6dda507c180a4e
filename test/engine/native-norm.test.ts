// The native softmax, layernorm and lookup-table kernels (norm8.h, vnni512 with VBMI): classes the
// random models rarely reach, each against the reference interpreter and the WebAssembly engine,
// with each op run natively exactly once. Softmax covers rows whose quotient is an exact integer
// (rows of equal values, whose 510 e + S can be a multiple of 2 S), two maxima, long rows and the
// table's corners; layernorm covers constant rows (sigma from eps alone), the bounds of gamma, beta, eps
// and the shift, and the longest axis; the table covers every index.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { choosePath, loadNative } from '../../src/engine/native/index.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import { ModelBuilder, mulberry32, type Rng } from '../support/randomModel.ts';

const status = await loadNative();
const skip = !status.loaded
  ? `native addon unavailable: ${status.reason}`
  : !status.paths.includes('vnni512') && 'these kernels run on vnni512 only';
const bytes = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

function u8Input(shape: number[], fill: (i: number) => number): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return { dtype: 'u8', shape, data: Uint8Array.from({ length: n }, (_, i) => fill(i)), zeroPoint: 0 };
}

function softmaxModel(L: number, rows: number, table: Int32Array): Model {
  const b = new ModelBuilder();
  const x = b.input('u8', [1, rows, L], 0, 0.05);
  b.op({ type: 'softmax', inputs: [x, b.constant(table, [256])] }, 0, 1 / 255);
  return b.build('softmax');
}

function layernormModel(
  rng: Rng,
  D: number,
  rows: number,
  o: { eps: number; shift: number; extreme: boolean },
): Model {
  const b = new ModelBuilder();
  const x = b.input('u8', [1, rows, D], rng.int(0, 255), 0.05);
  const gamma = Int32Array.from({ length: D }, () =>
    o.extreme ? rng.pick([-(2 ** 15), 2 ** 15]) : rng.int(-4096, 4096),
  );
  const beta = Int32Array.from({ length: D }, () =>
    o.extreme ? rng.pick([2 ** 31 - 1, -(2 ** 31 - 1), 0]) : rng.int(-(2 ** 20), 2 ** 20),
  );
  b.op(
    {
      type: 'layernorm',
      inputs: [x, b.constant(gamma, [D]), b.constant(beta, [D])],
      eps: o.eps,
      mult: rng.pick([1, 2 ** 15 - 1, rng.int(1, 2 ** 15 - 1)]),
      shift: o.shift,
      qmin: 0,
      qmax: 255,
    },
    rng.int(0, 255),
  );
  return b.build('layernorm');
}

function lutModel(n: number, table: Uint8Array): Model {
  const b = new ModelBuilder();
  const x = b.input('u8', [1, n], 0, 0.05);
  b.op({ type: 'lut', inputs: [x, b.constant(table, [256])] }, 0);
  return b.build('lut');
}

describe('native softmax, layernorm and lut', { skip }, () => {
  const run = () => {
    const { addon } = status as Extract<typeof status, { loaded: true }>;
    const number = choosePath(status as Extract<typeof status, { loaded: true }>, 'vnni512').number;
    let calls = 0;
    const native = createWasmBackend({
      op: (memory, code, record) => {
        if (code !== 4 && code !== 8 && code !== 9) return 0;
        assert.ok(addon.op(memory, code, record, number), `code ${code} runs natively`);
        calls += 1;
        return 1;
      },
    });
    const wasm = createWasmBackend();
    return (model: Model, raw: Tensor, where: string) => {
      validateModel(model);
      const input = { ...raw, zeroPoint: model.tensors[model.input].zeroPoint };
      const want = runReference(model, input);
      const before = calls;
      const got = native.runSync(model, input);
      assert.equal(calls - before, 1, `${where}: one native call`);
      const viaWasm = wasm.runSync(model, input);
      assert.ok(bytes(got.output).equals(bytes(want.output)), `${where}: native differs from the reference`);
      assert.ok(
        bytes(viaWasm.output).equals(bytes(want.output)),
        `${where}: wasm differs from the reference`,
      );
    };
  };

  test('softmax: rows of equal values (exact quotients), two maxima, long rows, table corners', () => {
    const check = run();
    const rng = mulberry32(41);
    const exp = Int32Array.from({ length: 256 }, (_, d) => Math.round(2 ** 16 * Math.exp(-d * 0.05)));
    const ones = new Int32Array(256).fill(2 ** 16);
    const steep = Int32Array.from({ length: 256 }, (_, d) => (d === 0 ? 2 ** 16 : 0));
    const random = Int32Array.from({ length: 256 }, (_, d) => (d === 0 ? 2 ** 16 : rng.int(0, 2 ** 16)));
    for (const [name, table] of [
      ['exp', exp],
      ['ones', ones],
      ['steep', steep],
      ['random', random],
    ] as const) {
      for (const L of [1, 2, 3, 6, 10, 16, 30, 34, 63, 64, 65, 70, 90, 127, 128, 129, 250, 510, 1000, 1400]) {
        check(
          softmaxModel(L, 2, table),
          u8Input([1, 2, L], () => 200),
          `${name} L ${L} equal`,
        );
        check(
          softmaxModel(L, 3, table),
          u8Input([1, 3, L], (i) => (i % L < 2 ? 255 : rng.int(0, 255))),
          `${name} L ${L} two maxima`,
        );
        check(
          softmaxModel(L, 4, table),
          u8Input([1, 4, L], () => rng.int(0, 255)),
          `${name} L ${L} random`,
        );
      }
    }
  });

  test('layernorm: constant rows, extreme gamma and beta, eps and shift bounds, D from 1 to 2048', () => {
    const check = run();
    const rng = mulberry32(43);
    for (const D of [1, 2, 7, 8, 15, 16, 17, 64, 100, 768, 2048]) {
      for (const eps of [0, 1, 2 ** 40 - 1, 4096]) {
        for (const shift of [0, 1, 16, 30, 40]) {
          const extreme = rng.bool(0.5);
          const model = layernormModel(rng, D, 3, { eps, shift, extreme });
          const where = `D ${D} eps ${eps} shift ${shift}${extreme ? ' extreme' : ''}`;
          check(
            model,
            u8Input([1, 3, D], (i) => (i < D ? 77 : rng.int(0, 255))),
            `${where}, a constant row`,
          );
          check(
            model,
            u8Input([1, 3, D], () => rng.pick([0, 255, rng.int(0, 255)])),
            `${where}, corners`,
          );
        }
      }
    }
  });

  test('lut: every index, lengths around the 64-byte vectors', () => {
    const check = run();
    const rng = mulberry32(47);
    const table = Uint8Array.from({ length: 256 }, () => rng.int(0, 255));
    for (const n of [1, 63, 64, 65, 127, 128, 256, 1000, 4097])
      check(
        lutModel(n, table),
        u8Input([1, n], (i) => (i * 37 + 11) % 256),
        `n ${n}`,
      );
  });
});
