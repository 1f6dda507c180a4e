// Empirical bias correction at import (ImportOptions.biasCorrection, --bias-correction): it removes
// the systematic part of the quantization error per output channel, changes only biases, is
// deterministic, and stays off unless asked for (so existing model IDs do not move).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runReference } from '../../src/engine/interpreter.ts';
import { dequantize, type FloatTensor, importOnnx, quantizeInput } from '../../src/onnx/index.ts';
import { getBackend } from '../../src/sdk/backends.ts';
import { fixture, ortOutputs, uniformSamples } from './helpers.ts';
import { buildOnnx, weights } from './onnxBuilder.ts';

// Column 0: one large weight and 63 small ones. With one scale per column (1/127), each 0.006
// rounds to 1/127 = 0.00787, so the column's output is too large by about 0.0019 * Σx ≈ 0.06 on
// inputs in [0, 1]: a bias far above one output step (about 0.005), the same on every sample.
const K = 64;
const w0 = [1, ...Array.from({ length: K - 1 }, () => 0.006)];
const w1 = weights(K, 3);
const bytes = buildOnnx({
  input: { name: 'x', dims: [1, K] },
  output: 'y',
  nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
  initializers: [{ name: 'w', dims: [K, 2], values: w0.flatMap((v, i) => [v, w1[i]]) }],
});
const cal = uniformSamples(11, 64, [1, K]);
const heldOut = uniformSamples(12, 64, [1, K]);

async function meanError(model: Awaited<ReturnType<typeof importOnnx>>['model'], xs: FloatTensor[]) {
  const floats = await ortOutputs(bytes, xs);
  const sum = [0, 0];
  xs.forEach((x, k) => {
    const q = dequantize(model, runReference(model, quantizeInput(model, x)).output);
    for (let c = 0; c < 2; c++) sum[c] += q[c] - floats[k][c];
  });
  return sum.map((s) => s / xs.length);
}

describe('bias correction', () => {
  test('removes a systematic per-channel error, on held-out samples too', async () => {
    const plain = await importOnnx(bytes, cal, { name: 'm' });
    const corrected = await importOnnx(bytes, cal, { name: 'm', biasCorrection: true });
    const before = await meanError(plain.model, heldOut);
    const after = await meanError(corrected.model, heldOut);
    assert.ok(before[0] > 0.03, `the uncorrected column is biased: ${before[0]}`);
    assert.ok(Math.abs(after[0]) < before[0] / 5, `corrected ${after[0]} vs ${before[0]}`);
    assert.ok(corrected.report.agreement.meanAbsError < plain.report.agreement.meanAbsError);
    assert.deepEqual(corrected.report.biasCorrection, { samples: 64, ops: 1 });
    assert.equal(plain.report.biasCorrection, undefined);
  });

  test('changes only bias values, and the same inputs give the same model', async () => {
    const plain = await importOnnx(bytes, cal, { name: 'm' });
    const a = await importOnnx(bytes, cal, { name: 'm', biasCorrection: true });
    const b = await importOnnx(bytes, cal, { name: 'm', biasCorrection: true });
    assert.deepEqual(a.model.consts, b.model.consts);
    assert.deepEqual(a.model.tensors, plain.model.tensors);
    const biasId = plain.model.ops[0].inputs[2];
    for (const [id, data] of plain.model.consts) {
      if (id === biasId) assert.notDeepEqual(a.model.consts.get(id), data);
      else assert.deepEqual(a.model.consts.get(id), data, plain.model.tensors[id].name);
    }
  });

  test('corrects the convs of a CNN and keeps it a valid model', async () => {
    const samples = uniformSamples(1, 8, [1, 3, 16, 16]);
    const plain = await importOnnx(fixture('cnn.onnx'), samples, { name: 'cnn' });
    const { model, report } = await importOnnx(fixture('cnn.onnx'), samples, {
      name: 'cnn',
      biasCorrection: true,
    });
    assert.equal(report.biasCorrection?.samples, 8);
    assert.ok((report.biasCorrection?.ops ?? 0) >= 1);
    assert.equal(model.ops.length, plain.model.ops.length);
    // Still one integer model for every backend: the fast backend agrees with the reference.
    const fast = await getBackend('fast');
    for (const s of samples) {
      const input = quantizeInput(model, s);
      const ref = runReference(model, input).output.data;
      assert.deepEqual((await fast.run(model, input)).output.data, ref);
    }
  });

  test('is a CLI flag, and its report says what it did', () => {
    const dir = mkdtempSync(join(tmpdir(), 'verinfer-bias-'));
    const onnx = join(dir, 'm.onnx');
    const calFile = join(dir, 'cal.json');
    writeFileSync(onnx, bytes);
    writeFileSync(calFile, JSON.stringify(cal.map((t) => ({ shape: t.shape, data: Array.from(t.data) }))));
    const cliPath = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const run = (out: string, extra: string[]) =>
      spawnSync(
        process.execPath,
        [
          cliPath,
          'model',
          'import',
          onnx,
          '--calibration',
          calFile,
          '--out',
          join(dir, out),
          '--json',
          ...extra,
        ],
        { encoding: 'utf8' },
      );
    const on = run('on', ['--bias-correction']);
    assert.equal(on.status, 0, on.stderr);
    const off = run('off', []);
    assert.equal(off.status, 0, off.stderr);
    const a = JSON.parse(on.stdout) as { modelRoot: string; biasCorrection?: unknown };
    const b = JSON.parse(off.stdout) as { modelRoot: string; biasCorrection?: unknown };
    assert.deepEqual(a.biasCorrection, { samples: 64, ops: 1 });
    assert.equal(b.biasCorrection, undefined);
    assert.notEqual(a.modelRoot, b.modelRoot, 'other biases, another model ID');
  });
});
