// The native whole-op kernels (kernels.cc: conv and matmul from their plan records): on every
// vector path this CPU has, forced one by one, each conv shape class (1x1, 3x3 at stride 1, 2 and
// 3, depthwise with channel multipliers 1 and 2, grouped, dilated, asymmetric strides and
// padding) and each matmul class (constant and activation b, broadcast slices, odd K, ragged N)
// must run natively, as one call per op, and equal the reference and the WebAssembly engine, at
// extreme values and with per-channel multipliers and shifts (both requantization routes).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { choosePath, loadNative, NATIVE_PATHS, type NativeAddon } from '../../src/engine/native/index.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import { ModelBuilder, mulberry32, type Rng, randomInput } from '../support/randomModel.ts';

const status = await loadNative();
const skip = status.loaded ? false : `native addon unavailable: ${status.reason}`;
const wasm = createWasmBackend();
const bytes = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

interface ConvSpec {
  C: number;
  H: number;
  W: number;
  M: number;
  group: number;
  k: [number, number];
  s: [number, number];
  d?: [number, number];
  pads?: [number, number, number, number];
}

const CONVS: ConvSpec[] = [
  { C: 16, H: 9, W: 11, M: 24, group: 1, k: [1, 1], s: [1, 1] },
  { C: 5, H: 13, W: 10, M: 7, group: 1, k: [3, 3], s: [1, 1], pads: [1, 1, 1, 1] },
  { C: 4, H: 15, W: 16, M: 9, group: 1, k: [3, 3], s: [2, 2], pads: [1, 1, 0, 1] },
  { C: 3, H: 17, W: 17, M: 5, group: 1, k: [3, 3], s: [3, 3], pads: [2, 1, 2, 2] },
  { C: 8, H: 14, W: 14, M: 8, group: 8, k: [3, 3], s: [1, 1], pads: [1, 1, 1, 1] },
  { C: 8, H: 15, W: 15, M: 8, group: 8, k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1] },
  { C: 6, H: 12, W: 13, M: 12, group: 6, k: [3, 3], s: [2, 2], pads: [0, 1, 1, 0] },
  { C: 5, H: 11, W: 21, M: 5, group: 5, k: [5, 5], s: [1, 1], d: [2, 2], pads: [4, 4, 4, 4] },
  { C: 4, H: 9, W: 9, M: 4, group: 4, k: [3, 3], s: [3, 3], pads: [1, 1, 1, 1] },
  { C: 6, H: 13, W: 12, M: 4, group: 2, k: [3, 3], s: [2, 2], d: [2, 1], pads: [2, 1, 2, 1] },
  { C: 3, H: 10, W: 19, M: 6, group: 1, k: [2, 3], s: [2, 1], pads: [0, 2, 1, 0] },
  { C: 3, H: 19, W: 10, M: 6, group: 1, k: [3, 2], s: [1, 2], d: [1, 3], pads: [1, 0, 0, 3] },
  { C: 2, H: 7, W: 31, M: 3, group: 1, k: [1, 1], s: [2, 2] },
  { C: 1, H: 28, W: 28, M: 8, group: 1, k: [5, 5], s: [1, 1], pads: [2, 2, 2, 2] },
  // More than one block of GEMM columns (ops.h, NB), with 8-output chunks across a block's edge.
  { C: 6, H: 30, W: 30, M: 10, group: 1, k: [1, 1], s: [1, 1] },
  { C: 4, H: 61, W: 61, M: 12, group: 2, k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1] },
  // Depthwise rows of 16 outputs and then 8, at horizontal stride 2.
  { C: 4, H: 40, W: 41, M: 4, group: 4, k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1] },
  // The vnni512 depthwise kernel (ops8.h): two quads per kernel row (7 columns), rows of 32 and
  // then 16 outputs and a ragged tail, its widest window (dilation 14 at stride 2), a dilation
  // past that window (the 16-bit kernel runs), and a channel multiplier of 3.
  { C: 3, H: 20, W: 45, M: 3, group: 3, k: [3, 7], s: [1, 1], pads: [1, 3, 1, 3] },
  { C: 2, H: 31, W: 70, M: 2, group: 2, k: [3, 3], s: [2, 2], d: [1, 14], pads: [1, 14, 1, 14] },
  { C: 2, H: 12, W: 60, M: 2, group: 2, k: [3, 3], s: [1, 1], d: [1, 17], pads: [0, 17, 0, 17] },
  { C: 2, H: 9, W: 19, M: 6, group: 2, k: [3, 3], s: [1, 1], pads: [1, 1, 1, 1] },
  // The vnni512 u8 conv with K a multiple of 4 and not, at stride 2, 16-output chunks across a
  // block's edge.
  { C: 12, H: 47, W: 23, M: 9, group: 1, k: [1, 1], s: [1, 1] },
  { C: 7, H: 45, W: 45, M: 11, group: 1, k: [3, 3], s: [2, 2], pads: [1, 1, 1, 1] },
];

/** i8 weights: random, or all at the corners -128 / 127 (the largest accumulators). */
const weights = (rng: Rng, n: number, extreme: boolean) =>
  Int8Array.from({ length: n }, () => (extreme ? rng.pick([-128, 127]) : rng.int(-128, 127)));

/** Per-channel multipliers and shifts spanning both requantization routes (shift < 16 and >= 16). */
function requant(b: ModelBuilder, rng: Rng, n: number): [number, number] {
  const mult = Int32Array.from({ length: n }, () =>
    rng.pick([1, 2 ** 15 - 1, rng.int(2 ** 13, 2 ** 15 - 1)]),
  );
  const shift = Int32Array.from({ length: n }, () => rng.pick([0, 9, 15, 16, 17, 22, 40, rng.int(10, 30)]));
  return [b.constant(mult, [n]), b.constant(shift, [n])];
}

function convModel(spec: ConvSpec, rng: Rng, extreme: boolean): Model {
  const b = new ModelBuilder();
  const x = b.input('u8', [1, spec.C, spec.H, spec.W], extreme ? rng.pick([0, 255]) : rng.int(0, 255));
  const Cg = spec.C / spec.group;
  const taps = Cg * spec.k[0] * spec.k[1];
  const w = b.constant(weights(rng, spec.M * taps, extreme), [spec.M, Cg, ...spec.k]);
  const limit = 2 ** 31 - 1 - taps * 255 * 128;
  const bias = b.constant(
    Int32Array.from({ length: spec.M }, () =>
      extreme ? rng.pick([limit, -limit, 0]) : rng.int(-9999, 9999),
    ),
    [spec.M],
  );
  const [m, s] = requant(b, rng, spec.M);
  b.op(
    {
      type: 'conv',
      inputs: [x, w, bias, m, s],
      strides: spec.s,
      pads: spec.pads ?? [0, 0, 0, 0],
      dilations: spec.d ?? [1, 1],
      group: spec.group,
      qmin: 0,
      qmax: 255,
    },
    extreme ? rng.pick([0, 255]) : rng.int(0, 255),
  );
  return b.build('conv');
}

/** a [.., M, K] @ b: b constant [K, N], or an activation [.., K, N] (attention's QK^T and PV). */
function matmulModel(rng: Rng, aShape: number[], bShape: number[], bConst: boolean, extreme: boolean): Model {
  const b = new ModelBuilder();
  const zp = () => (extreme ? rng.pick([0, 255]) : rng.int(0, 255));
  const a = b.input('u8', aShape, zp());
  const K = aShape[aShape.length - 1];
  const N = bShape[bShape.length - 1];
  let bm: number;
  if (bConst) {
    bm = b.constant(
      weights(
        rng,
        bShape.reduce((p, v) => p * v, 1),
        extreme,
      ),
      bShape,
    );
  } else {
    // The activation b: a matmul of a's own batch, so it is a tensor of the graph.
    const lead = aShape.slice(0, -2);
    const src = b.op(
      {
        type: 'transpose',
        inputs: [a],
        perm: [...lead.map((_, i) => i), aShape.length - 1, aShape.length - 2],
      },
      b.zp(a),
    );
    bm = src;
  }
  const product = bConst ? 255 * 128 : 255 * 255;
  const limit = 2 ** 31 - 1 - K * product;
  const bias = b.constant(
    Int32Array.from({ length: N }, () => (extreme ? rng.pick([limit, -limit, 0]) : rng.int(-9999, 9999))),
    [N],
  );
  const [m, s] = requant(b, rng, N);
  b.op({ type: 'matmul', inputs: [bConst ? a : a, bm, bias, m, s], qmin: 0, qmax: 255 }, zp());
  return b.build('matmul');
}

function assertSame(model: Model, got: { trace: Tensor[] }, want: { trace: Tensor[] }, where: string) {
  want.trace.forEach((w, i) => {
    assert.ok(bytes(got.trace[i]).equals(bytes(w)), `${where}: op ${i} (${model.ops[i].type}) differs`);
  });
}

describe('native whole-op conv and matmul', () => {
  for (const path of NATIVE_PATHS) {
    const pathSkip =
      skip || (status.loaded && status.paths.includes(path) ? false : `this CPU lacks ${path}`);
    test(`${path}: every conv and matmul class runs as one native call and equals reference and wasm`, {
      skip: pathSkip,
    }, () => {
      const { addon } = status as { addon: NativeAddon };
      const number = choosePath(status as Extract<typeof status, { loaded: true }>, path).number;
      const calls = { 1: 0, 2: 0 } as Record<number, number>;
      const native = createWasmBackend({
        op: (memory, code, record) => {
          if (!addon.op(memory, code, record, number)) return 0;
          calls[code] = (calls[code] ?? 0) + 1;
          return 1;
        },
      });
      const rng = mulberry32(0x5eed + number);
      const models: { model: Model; where: string }[] = [];
      CONVS.forEach((spec, k) => {
        for (const extreme of [false, true]) {
          models.push({
            model: convModel(spec, rng, extreme),
            where: `conv ${k}${extreme ? ' extreme' : ''}`,
          });
        }
      });
      const matmuls: [number[], number[], boolean][] = [
        [[1, 13, 37], [37, 19], true],
        [[1, 4, 64], [64, 256], true],
        [[1, 3, 5, 33], [1, 33, 9], true],
        [[1, 2, 12, 16], [1, 2, 16, 12], false],
        [[1, 4, 9, 7], [1, 4, 7, 9], false],
      ];
      matmuls.forEach(([aShape, bShape, bConst], k) => {
        for (const extreme of [false, true]) {
          models.push({
            model: matmulModel(rng, aShape, bShape, bConst, extreme),
            where: `matmul ${k}${extreme ? ' extreme' : ''}`,
          });
        }
      });
      let convs = 0;
      let mms = 0;
      for (const { model, where } of models) {
        validateModel(model);
        for (const mode of ['random', 'extreme', 'max'] as const) {
          const batch = mode === 'random' ? 2 : 1;
          const input = randomInput(model, batch, rng, mode);
          const before = calls[1] + calls[2];
          const got = native.runSync(model, input);
          assert.ok(calls[1] + calls[2] > before, `${where}: the op ran natively`);
          assertSame(model, got, runReference(model, input), `${path}, ${where}, ${mode} vs reference`);
          assertSame(model, got, wasm.runSync(model, input), `${path}, ${where}, ${mode} vs wasm`);
        }
        convs += model.ops.filter((o) => o.type === 'conv').length;
        mms += model.ops.filter((o) => o.type === 'matmul').length;
      }
      assert.equal(calls[1], 3 * convs, 'one native call per conv and run');
      assert.equal(calls[2], 3 * mms, 'one native call per matmul and run');
    });
  }

  test('a corrupt record throws instead of touching memory outside the buffer', { skip }, () => {
    const { addon } = status as { addon: NativeAddon };
    const buf = new ArrayBuffer(65536);
    const words = new Int32Array(buf, 0, 64);
    // A plausible conv record whose input lies past the end of the buffer.
    words.set([64000, 1024, 2048, 2096, 2144, 4096, 1, 1, 64, 64, 1, 64, 64, 1, 1, 1, 1, 1, 0, 0]);
    words.set([1, 1, 1, 0, 0, 0, 255, 8192, 16384, 2, 4096], 20);
    // The same record with its input inside the buffer runs: only the bad word is refused.
    words[0] = 32768;
    addon.op(buf, 1, 0, 0);
    assert.equal(
      new Uint8Array(buf, 4096, 4096).every((v) => v === 0),
      true,
      'zero input, zero bias: y = 0',
    );
    words[0] = 64000;
    const bad: [string, unknown[]][] = [
      ['conv input past the end', [buf, 1, 0, 0]],
      ['record past the end', [buf, 1, 65536 - 8, 0]],
      ['misaligned record', [buf, 1, 2, 0]],
      ['unknown op code', [buf, 3, 0, 0]],
      ['unknown path', [buf, 1, 0, 4]],
      ['not an ArrayBuffer', [new Uint8Array(16), 1, 0, 0]],
    ];
    for (const [what, args] of bad) {
      assert.throws(
        () => (addon.op as (...a: unknown[]) => void)(...args),
        (e: Error & { code?: string }) => e.code === 'VERINFER_NATIVE_ARGUMENT',
        what,
      );
    }
    // Sizes whose byte counts would overflow, or that contradict each other, are refused too.
    words[0] = 32768;
    words[6] = 2 ** 24;
    words[8] = 2 ** 24;
    words[9] = 2 ** 24;
    assert.throws(
      () => addon.op(buf, 1, 0, 0),
      (e: Error & { code?: string }) => e.code === 'VERINFER_NATIVE_ARGUMENT',
    );
  });

  test('random records of every op code and path either run or throw, and never crash', { skip }, () => {
    // A child process, so that a crash is a failed exit status instead of a dead test runner.
    const probe = `
      const { loadNative, choosePath } = await import(${JSON.stringify(new URL('../../src/engine/native/index.ts', import.meta.url).href)});
      const { mulberry32 } = await import(${JSON.stringify(new URL('../support/randomModel.ts', import.meta.url).href)});
      const status = await loadNative();
      const rng = mulberry32(77);
      const buf = new ArrayBuffer(1 << 16);
      const words = new Int32Array(buf, 0, 64);
      const bytes = new Uint8Array(buf);
      // Small sizes, addresses inside and just outside the buffer, and any int32 at times.
      const word = () => rng.pick([
        rng.int(0, 4), rng.int(0, 70), rng.int(1, 300), 256 * rng.int(1, 255), 65536 - rng.int(0, 64),
        65536 + rng.int(0, 4096), -rng.int(1, 5), rng.int(-(2 ** 31), 2 ** 31 - 1), 2 ** 24, 1 << 30,
      ]);
      let ran = 0, refused = 0;
      for (const path of status.paths) {
        const number = choosePath(status, path).number;
        for (let k = 0; k < 3000; k++) {
          for (let i = 256; i < bytes.length; i++) bytes[i] = (i * 131 + k) & 255;
          for (let i = 0; i < 64; i++) words[i] = word();
          const code = rng.pick([1, 2, 4, 8, 9]);
          // Half the lut, softmax and layernorm records are plausible: operands at addresses
          // inside the buffer (overlapping each other at times), small sizes near the buffer's
          // end, and for softmax a table the kernel accepts.
          const at = () => rng.int(256, (1 << 16) - 1);
          if (code === 4 && rng.bool(0.5)) words.set([at(), at(), at(), rng.int(0, 4096)]);
          if (code === 8 && rng.bool(0.5)) {
            const table = 4096 * rng.int(1, 15);
            const t = new Int32Array(buf, table, 256);
            for (let d = 0; d < 256; d++) t[d] = d === 0 ? 65536 : rng.int(0, 65536);
            words.set([at(), table, at(), rng.int(1, 8), rng.int(1, 700), at()]);
          }
          if (code === 9 && rng.bool(0.5)) {
            words.set([at(), 4 * rng.int(64, 16000), 4 * rng.int(64, 16000), at(), rng.int(1, 8), rng.int(1, 300)]);
            words.set([rng.int(0, 255), rng.int(0, 255), rng.int(0, 2 ** 20), 0, rng.int(0, 32767), rng.int(0, 40), 0, 255, at()], 6);
            // gamma within the kernel's bound, so that some of these run.
            new Int32Array(buf, words[1], 300).fill(rng.int(-32768, 32768));
          }
          try {
            if (status.addon.op(buf, code, 0, number)) ran += 1; else refused += 1;
          } catch (e) {
            if (e.code !== 'VERINFER_NATIVE_ARGUMENT') throw e;
            refused += 1;
          }
        }
      }
      console.log(JSON.stringify({ total: ran + refused, ran }));
    `;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
    assert.equal(out.status, 0, `the probe died: ${out.signal ?? ''} ${out.stderr}`);
    const result = JSON.parse(out.stdout.trim().split('\n').pop() as string);
    assert.equal(result.total, 3000 * (status.loaded ? status.paths.length : 0));
  });
});
