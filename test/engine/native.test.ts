// The native GEMM kernels (src/engine/native; the whole-op kernels: native-ops.test.ts): every
// vector path this CPU has, forced one by one, must compute the WebAssembly engine's GEMM bit for bit (random shapes, full i16 range, so even
// 32-bit wrap-around agrees), and conv and matmul on them must match the reference interpreter and
// the WebAssembly engine, up to the largest accumulators the validator allows. Where the addon
// cannot be built these tests skip, except that a machine with g++ must have built it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import {
  choosePath,
  createNativeBackend,
  loadNative,
  NATIVE_PATHS,
  type NativeAddon,
  NativePathError,
} from '../../src/engine/native/index.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import {
  extremeAccumulatorModels,
  ModelBuilder,
  mulberry32,
  randomInput,
  singleOpModel,
} from '../support/randomModel.ts';

const status = await loadNative();
const skip = status.loaded ? false : `native addon unavailable: ${status.reason}`;
const paths = status.loaded ? status.paths : [];
const wasm = createWasmBackend();
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const bytes = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** C = A · B in the engine's layout, exactly, wrapped to 32 bits like every kernel. */
function gemmExact(A: Int16Array, B: Int16Array, M: number, Kp: number, Np: number): Int32Array {
  const C = new Int32Array(M * Np);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < Np; j++) {
      let s = 0; // |s| <= Kp * 2^30 < 2^53: exact in a double
      for (let k = 0; k < Kp; k++) s += A[i * Kp + k] * B[((k >> 1) * Np + j) * 2 + (k & 1)];
      C[i * Np + j] = s | 0;
    }
  }
  return C;
}

function assertSameTrace(model: Model, got: { trace: Tensor[] }, want: { trace: Tensor[] }, where: string) {
  assert.equal(got.trace.length, want.trace.length);
  want.trace.forEach((w, i) => {
    assert.ok(bytes(got.trace[i]).equals(bytes(w)), `${where}: op ${i} (${model.ops[i].type}) differs`);
  });
}

describe('native addon', () => {
  test('is built and loads wherever g++ exists, with every vector path this CPU has', () => {
    const gxx = spawnSync(process.env.CXX || 'g++', ['--version']);
    if (gxx.error || gxx.status !== 0) return; // no compiler: the fallback tests below cover this
    assert.ok(status.loaded, `g++ exists but the addon did not load: ${status.loaded ? '' : status.reason}`);
    const flags =
      readFileSync('/proc/cpuinfo', 'utf8')
        .match(/^flags\s*:(.*)$/m)?.[1]
        .split(/\s+/) ?? [];
    const want = ['scalar'];
    if (flags.includes('avx2')) want.push('avx2');
    if (flags.includes('avx2') && flags.includes('avx_vnni')) want.push('avxvnni');
    if (['avx512f', 'avx512bw', 'avx512_vnni'].every((f) => flags.includes(f))) want.push('vnni512');
    assert.deepEqual([...paths].sort(), want.sort());
    assert.deepEqual(
      paths,
      NATIVE_PATHS.filter((p) => paths.includes(p)),
      'fastest first',
    );
  });

  test('an unknown or unsupported path is a NativePathError', { skip }, () => {
    if (!status.loaded) return;
    assert.throws(() => choosePath(status, 'avx9000'), NativePathError);
    assert.equal(choosePath(status, undefined).path, paths[0]);
  });

  test('hostile arguments throw instead of touching memory outside the buffer', { skip }, () => {
    const addon = (status as { addon: NativeAddon }).addon;
    const buf = new ArrayBuffer(4096);
    const bad: [string, unknown[]][] = [
      ['C past the end', [buf, 0, 512, 4096 - 16, 2, 2, 8, 0]],
      ['A past the end', [buf, 4000, 0, 0, 100, 2, 8, 0]],
      ['odd Kp', [buf, 0, 512, 1024, 1, 3, 8, 0]],
      ['Np not a multiple of 8', [buf, 0, 512, 1024, 1, 2, 12, 0]],
      ['misaligned C', [buf, 0, 512, 1026, 1, 2, 8, 0]],
      ['negative offset', [buf, -2, 512, 1024, 1, 2, 8, 0]],
      ['fractional size', [buf, 0, 512, 1024, 1.5, 2, 8, 0]],
      ['unknown path', [buf, 0, 512, 1024, 1, 2, 8, 4]],
      ['not an ArrayBuffer', [new Uint8Array(4096), 0, 512, 1024, 1, 2, 8, 0]],
      ['too few arguments', [buf, 0, 512, 1024, 1, 2, 8]],
    ];
    for (const [what, args] of bad) {
      assert.throws(
        () => (addon.gemm as (...a: unknown[]) => void)(...args),
        (e: Error & { code?: string }) => e.code === 'VERINFER_NATIVE_ARGUMENT',
        what,
      );
    }
  });

  for (const path of NATIVE_PATHS) {
    const pathSkip = skip || (paths.includes(path) ? false : `this CPU lacks ${path}`);

    test(`${path}: random GEMMs equal the exact product, also at the i16 and i32 extremes`, {
      skip: pathSkip,
    }, () => {
      const addon = (status as { addon: NativeAddon }).addon;
      const number = choosePath(status as Extract<typeof status, { loaded: true }>, path).number;
      const rng = mulberry32(0x9e77 + number);
      for (let round = 0; round < 120; round++) {
        const M = rng.int(1, 19);
        const Kp = 2 * rng.int(1, 40);
        const Np = 8 * rng.int(1, 9);
        const mode = round % 4;
        // 0: engine range; 1: ±255 corners; 2: full i16 (wraps); 3: -32768 everywhere (wraps)
        const value = () =>
          mode === 0
            ? rng.int(-255, 255)
            : mode === 1
              ? rng.pick([-255, 255, -128, 127, 0])
              : mode === 2
                ? rng.int(-32768, 32767)
                : -32768;
        const a = 16 * rng.int(0, 3);
        const b = 4096;
        const c = 4096 + 65536;
        const buf = new ArrayBuffer(4096 + 65536 + M * Np * 4 + 64);
        const A = new Int16Array(buf, a, M * Kp);
        const B = new Int16Array(buf, b, Kp * Np);
        for (let i = 0; i < A.length; i++) A[i] = value();
        for (let i = 0; i < B.length; i++) B[i] = value();
        const guard = new Int32Array(buf, c + M * Np * 4, 16).fill(0x5a5a5a5a);
        addon.gemm(buf, a, b, c, M, Kp, Np, number);
        assert.deepEqual(
          new Int32Array(buf, c, M * Np),
          gemmExact(A, B, M, Kp, Np),
          `round ${round}: ${M}x${Kp}x${Np}`,
        );
        assert.ok(
          guard.every((v) => v === 0x5a5a5a5a),
          `round ${round}: wrote past C`,
        );
      }
    });

    test(`${path}: conv and matmul equal the reference and the wasm engine`, { skip: pathSkip }, async () => {
      const native = await createNativeBackend({ path, minMacs: 0 });
      // The same kernels behind a counting hook, to show that the GEMMs did run natively.
      const { addon } = status as { addon: NativeAddon };
      const number = choosePath(status as Extract<typeof status, { loaded: true }>, path).number;
      let calls = 0;
      const counted = createWasmBackend({
        gemm: (memory, a, b, c, M, Kp, Np) => {
          calls++;
          addon.gemm(memory, a, b, c, M, Kp, Np, number);
          return 1;
        },
      });
      for (let seed = 0; seed < 60; seed++) {
        const rng = mulberry32(31 * seed + 5);
        const type = seed % 2 ? 'conv' : 'matmul';
        const model = singleOpModel({ rng, extreme: seed % 3 === 0 }, type);
        const batch = rng.int(1, 3);
        const input = randomInput(model, batch, rng, seed % 5 === 0 ? 'extreme' : 'random');
        const want = runReference(model, input);
        assertSameTrace(model, native.runSync(model, input), want, `${type} ${seed} vs reference`);
        assertSameTrace(
          model,
          native.runSync(model, input),
          wasm.runSync(model, input),
          `${type} ${seed} vs wasm`,
        );
        assertSameTrace(model, counted.runSync(model, input), want, `${type} ${seed} counted`);
      }
      assert.ok(calls >= 40, `${calls} GEMMs ran natively`);
    });

    test(`${path}: the largest accumulators the validator allows (max K, u8 0/255, i8 -128/127)`, {
      skip: pathSkip,
    }, async () => {
      const native = await createNativeBackend({ path, minMacs: 0 });
      const rng = mulberry32(7);
      for (const { name, model } of extremeAccumulatorModels()) {
        for (const mode of ['zeros', 'max', 'extreme'] as const) {
          const input = randomInput(model, 2, rng, mode);
          assertSameTrace(
            model,
            native.runSync(model, input),
            runReference(model, input),
            `${name}, ${mode}`,
          );
        }
      }
    });
  }
});

describe('the engine hands its GEMMs to the host hook', () => {
  test('a hook that returns 1 supplies C; one that returns 0 leaves the GEMM to WebAssembly', () => {
    const rng = mulberry32(3);
    // matmul [B, 4, 16] @ [16, 8]: big enough for the GEMM (smaller ones run as plain loops).
    const b = new ModelBuilder();
    const x = b.input('u8', [1, 4, 16], 3);
    const w = b.constant(
      Int8Array.from({ length: 128 }, () => rng.int(-128, 127)),
      [16, 8],
    );
    const c = (v: number[], shape: number[]) => b.constant(Int32Array.from(v), shape);
    b.op(
      {
        type: 'matmul',
        inputs: [x, w, c(new Array(8).fill(5), [8]), c([9], [1]), c([6], [1])],
        qmin: 0,
        qmax: 255,
      },
      128,
    );
    const model = b.build('matmul');
    const input = randomInput(model, 2, rng);
    const want = runReference(model, input);
    let calls = 0;
    const declining = createWasmBackend({
      gemm: () => {
        calls++;
        return 0;
      },
    });
    assertSameTrace(model, declining.runSync(model, input), want, 'declining hook');
    assert.ok(calls > 0, 'the hook was called');
    // C filled with a constant: every output then equals one requantized value per column.
    const filling = createWasmBackend({
      gemm: (memory, _a, _b, c, M, _Kp, Np) => {
        new Int32Array(memory, c, M * Np).fill(2 ** 30);
        return 1;
      },
    });
    // 128 + rshift((2^30 + 5) * 9, 6) clamps to 255.
    assert.deepEqual([...filling.runSync(model, input).output.data], new Array(64).fill(255));
    assert.ok(!bytes(want.output).every((v) => v === 255), 'the real output differs from the filled one');
  });
});

describe('fallback when the addon is missing', () => {
  // A child process, so that its addon cache starts empty.
  const probe = `
    const { getBackend, backendLabel } = await import(${JSON.stringify(`${ROOT}src/sdk/backends.ts`)});
    const fast = await getBackend('fast');
    let error = '';
    try { await getBackend('native'); } catch (e) { error = e.name; }
    console.log(JSON.stringify({ fast: backendLabel(fast), error }));
  `;
  const runProbe = (env: Record<string, string>) => {
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    assert.equal(out.status, 0, out.stderr);
    return JSON.parse(out.stdout.trim().split('\n').pop() as string);
  };

  test('fast falls back to wasm silently; native throws NativeUnavailableError', () => {
    assert.deepEqual(runProbe({ VERINFER_NATIVE_ADDON: `${ROOT}build/native/missing.node` }), {
      fast: 'wasm',
      error: 'NativeUnavailableError',
    });
  });

  test('a forced path runs on fast and native alike', { skip }, () => {
    assert.deepEqual(runProbe({ VERINFER_NATIVE_PATH: 'scalar' }), { fast: 'native (scalar)', error: '' });
  });
});

describe('instructions of the built addon', () => {
  test('no saturating multiply-add: vpmaddubsw, vpdpbusds and vpdpwssds never appear', { skip }, () => {
    assert.ok(status.loaded);
    // objdump comes with the binutils that g++ needs to build the addon at all.
    const dump = spawnSync('objdump', ['-d', '--no-show-raw-insn', status.file], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    assert.equal(dump.status, 0, dump.stderr);
    const mnemonics = new Set(dump.stdout.match(/\b(v?p[a-z0-9]+)\b/g) ?? []);
    // The exact ones the kernels use are there, so the scan reads real code.
    for (const used of ['vpdpwssd', 'vpdpbusd', 'vpmaddwd', 'vpermb']) assert.ok(mnemonics.has(used), used);
    for (const banned of ['vpmaddubsw', 'pmaddubsw', 'vpdpbusds', 'vpdpwssds']) {
      assert.ok(!mnemonics.has(banned), `${banned} is in the addon`);
    }
  });
});

describe('vnni512 on a CPU without VBMI', () => {
  // A child process, since the addon reads VERINFER_NATIVE_NO_VBMI once: depthwise convs take the
  // 16-bit kernel and softmax, layernorm and lookup tables stay in WebAssembly.
  test('random models and named chains still equal the reference', {
    skip: skip || (!paths.includes('vnni512') && 'no vnni512'),
  }, () => {
    const probe = `
      const { runReference } = await import(${JSON.stringify(`${ROOT}src/engine/interpreter.ts`)});
      const { createNativeBackend } = await import(${JSON.stringify(`${ROOT}src/engine/native/index.ts`)});
      const m = await import(${JSON.stringify(`${ROOT}test/support/randomModel.ts`)});
      const native = await createNativeBackend({ path: 'vnni512', minMacs: 0 });
      const same = (a, b) => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)
        .equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));
      let checked = 0;
      const cases = [];
      for (let seed = 1; seed <= 150; seed++) cases.push(m.randomCase(seed));
      for (let k = 0; k < 12; k++) {
        const rng = m.mulberry32(3e6 + k);
        const model = m.namedChainModel({ rng, extreme: k % 3 === 0 }, k % 2);
        cases.push({ model, input: m.randomInput(model, 1 + (k % 3), rng) });
      }
      for (const { model, input } of cases) {
        const want = runReference(model, input).trace;
        const got = native.runSync(model, input).trace;
        want.forEach((w, i) => { if (!same(got[i], w)) throw new Error('op ' + i + ' of ' + model.name + ' differs'); });
        checked += 1;
      }
      console.log(JSON.stringify({ checked }));
    `;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
      env: { ...process.env, VERINFER_NATIVE_NO_VBMI: '1' },
      encoding: 'utf8',
    });
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout.trim().split('\n').pop() as string), { checked: 162 });
  });
});
