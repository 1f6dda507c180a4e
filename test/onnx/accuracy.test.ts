// Accuracy measured and reported at import: calibration methods, per-channel weight scales,
// per-layer error, and drift that never passes silently (warning, --strict, unbounded errors).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { countParameters } from '../../src/engine/parameters.ts';
import { AccuracyDriftError, InputError, UnboundedValueError } from '../../src/errors/base.ts';
import { calibrate } from '../../src/onnx/calibrate.ts';
import { mseRange, percentileRange } from '../../src/onnx/calibrationRange.ts';
import { foldGraph, graphInput, normalizeSamples } from '../../src/onnx/fold.ts';
import { type FloatTensor, importOnnx } from '../../src/onnx/index.ts';
import { lowerGraph } from '../../src/onnx/lower/index.ts';
import { parseOnnx } from '../../src/onnx/parse.ts';
import { buildModel } from '../../src/onnx/quantize/index.ts';
import { fixture, normalSamples, rng, tokenSamples, uniformSamples } from './helpers.ts';
import { buildOnnx, weights } from './onnxBuilder.ts';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'verinfer-accuracy-'));
}

/** Writes an ONNX file and its calibration JSON; returns their paths and a fresh --out path. */
function files(bytes: Uint8Array, calibration: FloatTensor[]): { onnx: string; cal: string; out: string } {
  const dir = tempDir();
  const onnx = join(dir, 'model.onnx');
  const cal = join(dir, 'calibration.json');
  writeFileSync(onnx, bytes);
  writeFileSync(cal, JSON.stringify(calibration.map((t) => ({ shape: t.shape, data: Array.from(t.data) }))));
  return { onnx, cal, out: join(dir, 'package') };
}

function calibrationRanges(bytes: Uint8Array, cal: FloatTensor[], method: 'minmax' | 'percentile' | 'mse') {
  const graph = parseOnnx(bytes);
  const samples = normalizeSamples(
    graphInput(graph).info,
    cal.map((t) => ({ shape: t.shape, data: Float64Array.from(t.data), dtype: 'float' as const })),
    'sample',
  );
  const dyn = foldGraph(graph, samples[0]);
  const lowered = lowerGraph(dyn);
  return calibrate(dyn, samples, lowered.probes, method, 99.9).ranges;
}

describe('calibration methods', () => {
  const cal = uniformSamples(1, 32, [1, 3, 16, 16]);

  for (const method of ['minmax', 'percentile', 'mse'] as const) {
    test(`${method} is deterministic and stays inside the min/max range`, () => {
      const a = calibrationRanges(fixture('cnn.onnx'), cal, method);
      const b = calibrationRanges(fixture('cnn.onnx'), cal, method);
      assert.deepEqual(a, b);
      const full = calibrationRanges(fixture('cnn.onnx'), cal, 'minmax');
      a.forEach(([lo, hi], i) => {
        assert.ok(lo >= full[i][0] && hi <= full[i][1], `probe ${i}: [${lo}, ${hi}] vs ${full[i]}`);
      });
    });
  }

  test('mse clips a long tail and keeps a uniform range whole', () => {
    const r = rng(4);
    // Laplace-distributed: a long thin tail on both sides. Eight-bit rounding noise is small, so
    // clipping pays only for the sparse tail, and a uniform range is kept whole.
    const tail = Float64Array.from({ length: 200_000 }, () => {
      const u = r() - 0.5;
      return -Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
    }).sort();
    const [min, max] = [tail[0], tail[tail.length - 1]];
    const [lo, hi] = mseRange(tail, min, max);
    assert.ok(
      hi < 0.95 * max && lo > 0.95 * min,
      `[${lo}, ${hi}] of [${min}, ${max}]: the tails should be clipped`,
    );
    assert.ok(hi > 0.5 * max && lo < 0.5 * min, `[${lo}, ${hi}] of [${min}, ${max}]: too much clipped`);
    const uniform = Float64Array.from({ length: 20_000 }, () => 2 * r() - 1).sort();
    const [ulo, uhi] = mseRange(uniform, uniform[0], uniform[uniform.length - 1]);
    assert.ok(ulo < -0.95 && uhi > 0.95, `[${ulo}, ${uhi}]`);
  });

  test('percentile keeps the given quantile on both sides', () => {
    const sorted = Float64Array.from({ length: 10_001 }, (_, i) => i - 5000);
    assert.deepEqual(percentileRange(sorted, -5000, 5000, 99), [-4900, 4900]);
  });

  test('every method imports the fixtures within the accuracy target', async () => {
    for (const method of ['percentile', 'mse'] as const) {
      const { report } = await importOnnx(fixture('misc.onnx'), normalSamples(1, 32, [1, 6, 10]), {
        name: 'misc',
        calibrationMethod: method,
      });
      assert.equal(report.calibrationMethod, method);
      assert.ok(
        report.agreement.maxProbabilityError <= 0.02,
        `${method}: ${report.agreement.maxProbabilityError}`,
      );
      assert.equal(report.drift.exceeded, false);
    }
  });

  test('bad method, percentile and threshold options are input errors', async () => {
    const cal = normalSamples(1, 2, [1, 6, 10]);
    for (const options of [
      { calibrationMethod: 'entropy' as never },
      { percentile: 40 },
      { percentile: Number.NaN },
      { maxProbabilityError: -1 },
      { worstLayerCount: 1.5 },
    ]) {
      await assert.rejects(importOnnx(fixture('misc.onnx'), cal, { name: 'm', ...options }), InputError);
    }
  });
});

describe('per-channel weight scales', () => {
  // Column 0 is one weight of 1; column 1 sums 512 inputs with weights up to 0.03. Both outputs
  // span about [-1, 1], but one weight scale for the whole matrix (1/127) leaves column 1's weights
  // with about four integer levels each.
  const K = 512;
  const small = weights(K, 3, 0.03);
  const w = Array.from({ length: 2 * K }, (_, i) => (i % 2 === 0 ? (i === 0 ? 1 : 0) : small[(i - 1) / 2]));
  const bytes = buildOnnx({
    input: { name: 'x', dims: [1, K] },
    output: 'y',
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    initializers: [{ name: 'w', dims: [K, 2], values: w }],
  });
  const cal = uniformSamples(8, 64, [1, K]).map((t) => ({
    shape: t.shape,
    data: t.data.map((v) => 2 * v - 1),
  }));

  test('are used for dense layers and cut the error of a matrix with unequal columns', async () => {
    const per = await importOnnx(bytes, cal, { name: 'p' });
    const whole = await importOnnx(bytes, cal, { name: 't', perTensorWeights: true });
    const mult = (m: typeof per.model) => m.consts.get(m.ops[0].inputs[3] as number) as Int32Array;
    assert.equal(mult(per.model).length, 2, 'one multiplier per output column');
    assert.notEqual(mult(per.model)[0], mult(per.model)[1]);
    const e = (x: typeof per) => x.report.agreement.maxAbsError;
    assert.ok(e(per) * 3 < e(whole), `per-channel ${e(per)} vs per-tensor ${e(whole)}`);
    assert.ok(per.report.layers[0].relRmsError < whole.report.layers[0].relRmsError);
  });

  test('are used for every conv, depthwise included', async () => {
    const { model } = await importOnnx(fixture('cnn.onnx'), uniformSamples(1, 8, [1, 3, 16, 16]), {
      name: 'cnn',
    });
    for (const op of model.ops) {
      if (op.type !== 'conv') continue;
      const channels = model.tensors[op.inputs[1]].shape[0];
      const mults = model.consts.get(op.inputs[3]) as Int32Array;
      assert.equal(mults.length, channels, op.name);
    }
  });
});

describe('the per-layer report', () => {
  test('measures every op that outputs an ONNX tensor and names the worst', async () => {
    const { model, report } = await importOnnx(fixture('transformer17.onnx'), tokenSamples(1, 16, 16, 40), {
      name: 't',
      worstLayerCount: 3,
    });
    assert.ok(report.layers.length >= model.ops.length / 2, `${report.layers.length} of ${model.ops.length}`);
    for (const l of report.layers) {
      assert.equal(model.ops[l.index].name, l.op);
      assert.ok(Number.isFinite(l.relRmsError) && l.relRmsError >= 0 && l.relRmsError <= l.relMaxError);
      assert.ok(l.floatRange > 0);
    }
    assert.equal(report.worstLayers.length, 3);
    const most = Math.max(...report.layers.map((l) => l.addedRmsError));
    assert.equal(report.worstLayers[0].addedRmsError, most);
    // Every layer stays within a few percent of its float range on this model.
    assert.ok(report.layers.every((l) => l.relRmsError < 0.05));
  });

  test('the import and inspect parameter counts agree', async () => {
    for (const [file, cal] of [
      ['cnn.onnx', uniformSamples(1, 4, [1, 3, 16, 16])],
      ['transformer13.onnx', tokenSamples(1, 4, 16, 40)],
      ['misc.onnx', normalSamples(1, 4, [1, 6, 10])],
    ] as const) {
      const bytes = fixture(file);
      const { model, report } = await importOnnx(bytes, cal, { name: 'x' });
      assert.equal(report.parameterCount, countParameters(model), file);
      // The quantizer's own count of learned constants says the same.
      const graph = parseOnnx(bytes);
      const lowered = lowerGraph(
        foldGraph(
          graph,
          normalizeSamples(
            graphInput(graph).info,
            [{ shape: cal[0].shape, data: Float64Array.from(cal[0].data), dtype: 'float' }],
            's',
          )[0],
        ),
      );
      const built = buildModel(
        lowered,
        lowered.probes.map(() => [-1, 1]),
        model.meta,
        {
          weightBits: 8,
          perTensorWeights: false,
          unitRangeInput: false,
        },
      );
      assert.equal(built.parameterCount, countParameters(built.model), file);
    }
  });
});

describe('drift never imports silently', () => {
  const misc = fixture('misc.onnx');
  const miscCal = normalSamples(1, 8, [1, 6, 10]);

  test('a warning with the numbers above the threshold, AccuracyDriftError under strict', async () => {
    const { report } = await importOnnx(misc, miscCal, { name: 'm', maxProbabilityError: 1e-6 });
    assert.equal(report.drift.exceeded, true);
    const w = report.warnings.find((m) => m.includes('drift'));
    assert.ok(w, report.warnings.join('\n'));
    assert.match(w, /off by up to 0\.\d{4}/);
    assert.match(w, /Worst layers: "/);
    await assert.rejects(
      importOnnx(misc, miscCal, { name: 'm', maxProbabilityError: 1e-6, strict: true }),
      (err: unknown) => err instanceof AccuracyDriftError && /above the allowed 0\.000001/.test(err.message),
    );
    const ok = await importOnnx(misc, miscCal, { name: 'm', strict: true });
    assert.equal(ok.report.drift.exceeded, false);
  });

  test('the CLI warns, and exits 1 under --strict without writing the package', () => {
    const f = files(misc, miscCal);
    const base = ['model', 'import', f.onnx, '--calibration', f.cal, '--max-drift', '0'];
    const warned = cli([...base, '--out', f.out]);
    assert.equal(warned.status, 0, warned.stderr);
    assert.match(warned.stdout, /warning {5}Quantized outputs drift from the float model/);
    assert.match(warned.stdout, /worst layers/);
    const json = cli([...base, '--out', `${f.out}-json`, '--json']);
    assert.equal(json.status, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.equal(report.drift.exceeded, true);
    assert.ok(Array.isArray(report.worstLayers) && report.worstLayers.length > 0);
    const inspect = cli(['model', 'inspect', `${f.out}-json`, '--json']);
    assert.equal(inspect.status, 0, inspect.stderr);
    assert.equal(JSON.parse(inspect.stdout).parameters, report.parameterCount, 'import and inspect agree');
    const strict = cli([...base, '--out', `${f.out}-strict`, '--strict']);
    assert.equal(strict.status, 1);
    assert.match(
      strict.stderr,
      /^error: Quantized outputs drift from the float model .*above the allowed 0\./m,
    );
    assert.doesNotMatch(strict.stderr, /This is a bug/);
    assert.equal(existsSync(`${f.out}-strict`), false);
    const bad = cli([...base, '--out', `${f.out}-bad`, '--calibration-method', 'entropy']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--calibration-method must be one of minmax, percentile, mse/);
  });

  const bigWeights = (scale: number) =>
    buildOnnx({
      input: { name: 'x', dims: [1, 4] },
      output: 'y',
      nodes: [
        { op: 'MatMul', inputs: ['x', 'w'], outputs: ['h'] },
        { op: 'Relu', inputs: ['h'], outputs: ['r'] },
        { op: 'MatMul', inputs: ['r', 'w2'], outputs: ['y'] },
      ],
      initializers: [
        { name: 'w', dims: [4, 4], values: weights(16, 1, scale) },
        { name: 'w2', dims: [4, 3], values: weights(12, 2) },
      ],
    });
  const smallCal = normalSamples(5, 8, [1, 4]);

  test('weights near 3e38 are an UnboundedValueError, also via the CLI (exit 1)', async () => {
    await assert.rejects(
      importOnnx(bigWeights(3e38), smallCal, { name: 'w' }),
      (err: unknown) => err instanceof UnboundedValueError && /overflow float32/.test(err.message),
    );
    const f = files(bigWeights(3e38), smallCal);
    const r = cli(['model', 'import', f.onnx, '--calibration', f.cal, '--out', f.out]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /^error: The float model's output is (Infinity|-Infinity|NaN) on calibration sample/m,
    );
    assert.equal(existsSync(f.out), false);
  });

  test('calibration data near 1e30 that overflows float32 is an UnboundedValueError (exit 1)', async () => {
    // x² of 1e30 is beyond float32.
    const square = buildOnnx({
      input: { name: 'x', dims: [1, 4] },
      output: 'y',
      nodes: [
        { op: 'Mul', inputs: ['x', 'x'], outputs: ['s'] },
        { op: 'MatMul', inputs: ['s', 'w2'], outputs: ['y'] },
      ],
      initializers: [{ name: 'w2', dims: [4, 3], values: weights(12, 2) }],
    });
    const huge = smallCal.map((t) => ({ shape: t.shape, data: t.data.map((v) => v * 1e30) }));
    await assert.rejects(importOnnx(square, huge, { name: 'm' }), UnboundedValueError);
    const f = files(square, huge);
    const r = cli(['model', 'import', f.onnx, '--calibration', f.cal, '--out', f.out]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: The float model's output is/m);
    assert.equal(existsSync(f.out), false);
  });

  test('inputs beyond float32 and non-finite inputs are InputErrors', async () => {
    const cal = [{ shape: [1, 4], data: [1, 2, 3e39, 4] }];
    await assert.rejects(importOnnx(bigWeights(1), cal, { name: 'x' }), (err: unknown) => {
      return err instanceof InputError && /float32 range/.test(err.message);
    });
    await assert.rejects(
      importOnnx(bigWeights(1), [{ shape: [1, 4], data: [1, Number.POSITIVE_INFINITY, 3, 4] }], {
        name: 'x',
      }),
      InputError,
    );
  });
});
