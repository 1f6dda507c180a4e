// Imports the torch-exported fixtures (test/fixtures/onnx/make_fixtures.py), validates them and
// checks top-1 agreement of the integer model with onnxruntime's float output on random inputs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { dequantize, type FloatTensor, importOnnx, quantizeInput } from '../../src/onnx/index.ts';
import { argmax, fixture, normalSamples, ortOutputs, tokenSamples, uniformSamples } from './helpers.ts';

interface Case {
  file: string;
  calibration: FloatTensor[];
  test: FloatTensor[];
  tokens: boolean;
  check: (model: Model) => void;
}

const count = (m: Model, type: string) => m.ops.filter((o) => o.type === type).length;

const transformerCheck = (m: Model) => {
  assert.equal(count(m, 'gather'), 1);
  assert.equal(count(m, 'layernorm'), 5);
  assert.equal(count(m, 'softmax'), 2);
  assert.equal(count(m, 'reducemean'), 1, 'mean pooling');
  // Two GELU tables; the 1/sqrt(d) scaling folds into the q@k^T requantization.
  assert.equal(count(m, 'lut'), 2);
  const actMatmuls = m.ops.filter((o) => o.type === 'matmul' && m.tensors[o.inputs[1]].kind !== 'const');
  assert.equal(actMatmuls.length, 4, 'q@k^T and attn@v in two blocks');
  assert.equal(m.tensors[m.input].dtype, 'i32');
};

const CASES: Record<string, Case> = {
  cnn: {
    file: 'cnn.onnx',
    calibration: uniformSamples(1, 32, [1, 3, 16, 16]),
    test: uniformSamples(2, 100, [1, 3, 16, 16]),
    tokens: false,
    check: (m) => {
      const convs = m.ops.filter((o) => o.type === 'conv');
      assert.equal(convs.length, 5, 'batch norms fold into their convs');
      assert.ok(
        convs.some((o) => o.type === 'conv' && o.group === 8),
        'depthwise conv',
      );
      const first = convs[0];
      assert.ok(
        first.type === 'conv' && first.qmin === m.tensors[first.output].zeroPoint,
        'relu fused via qmin',
      );
      for (const t of ['maxpool', 'avgpool', 'concat', 'add', 'lut', 'matmul']) assert.ok(count(m, t) > 0, t);
      assert.deepEqual(m.tensors[m.input].shape, [1, 3, 16, 16]);
    },
  },
  transformer13: {
    file: 'transformer13.onnx',
    calibration: tokenSamples(1, 32, 16, 40),
    test: tokenSamples(2, 100, 16, 40),
    tokens: true,
    check: transformerCheck,
  },
  transformer17: {
    file: 'transformer17.onnx',
    calibration: tokenSamples(1, 32, 16, 40),
    test: tokenSamples(2, 100, 16, 40),
    tokens: true,
    check: transformerCheck,
  },
  misc: {
    file: 'misc.onnx',
    calibration: normalSamples(1, 32, [1, 6, 10]),
    test: normalSamples(2, 100, [1, 6, 10]),
    tokens: false,
    check: (m) => {
      for (const t of ['softmax', 'reducemean', 'add', 'transpose', 'lut']) assert.ok(count(m, t) > 0, t);
    },
  },
};

describe('ONNX fixtures', () => {
  for (const [name, c] of Object.entries(CASES)) {
    test(`${name}: imports, validates and agrees with onnxruntime`, async () => {
      const bytes = fixture(c.file);
      const { model, report } = await importOnnx(bytes, c.calibration, { name });
      validateModel(model);
      c.check(model);
      assert.equal(report.opCount, model.ops.length);
      assert.equal(report.agreement.samples, c.calibration.length);
      assert.equal(report.floatReference, 'onnxruntime');
      assert.ok(
        report.agreement.top1Agreement >= 0.95,
        `calibration agreement ${report.agreement.top1Agreement}`,
      );
      assert.deepEqual(report.warnings, []);
      const ref = await ortOutputs(bytes, c.test, c.tokens);
      let agree = 0;
      c.test.forEach((s, i) => {
        const q = dequantize(model, runReference(model, quantizeInput(model, s)).output);
        if (argmax(q) === argmax(ref[i])) agree += 1;
      });
      assert.ok(agree / c.test.length >= 0.95, `${name}: top-1 agreement ${agree}/${c.test.length}`);
    });
  }

  test('opset 13 (decomposed LayerNorm) and opset 17 (LayerNormalization) give the same op sequence', async () => {
    const a = await importOnnx(fixture('transformer13.onnx'), CASES.transformer13.calibration, { name: 'a' });
    const b = await importOnnx(fixture('transformer17.onnx'), CASES.transformer17.calibration, { name: 'b' });
    assert.deepEqual(
      a.model.ops.map((o) => o.type),
      b.model.ops.map((o) => o.type),
    );
  });

  test('import is deterministic', async () => {
    const run = () => importOnnx(fixture('cnn.onnx'), CASES.cnn.calibration, { name: 'cnn' });
    const [a, b] = [await run(), await run()];
    assert.deepEqual(a.model.tensors, b.model.tensors);
    assert.deepEqual(a.model.ops, b.model.ops);
    assert.deepEqual([...a.model.consts], [...b.model.consts]);
  });

  test('evaluation samples get their own agreement report', async () => {
    const { report } = await importOnnx(fixture('misc.onnx'), CASES.misc.calibration, {
      name: 'misc',
      evaluation: CASES.misc.test.slice(0, 20),
    });
    assert.equal(report.evaluation?.samples, 20);
    assert.ok((report.evaluation?.top1Agreement ?? 0) >= 0.95);
  });

  test('weight bit width is an option (7-bit weights stay within [-63, 63])', async () => {
    const { model } = await importOnnx(fixture('cnn.onnx'), CASES.cnn.calibration, {
      name: 'cnn',
      weightBits: 7,
    });
    validateModel(model);
    let max = 0;
    for (const [id, data] of model.consts)
      if (model.tensors[id].dtype === 'i8') for (const v of data) max = Math.max(max, Math.abs(v));
    assert.equal(max, 63);
  });

  test('progress is reported for every stage', async () => {
    const stages = new Set<string>();
    await importOnnx(fixture('misc.onnx'), CASES.misc.calibration.slice(0, 4), {
      name: 'misc',
      onProgress: (stage, done, total) => {
        assert.ok(done <= total);
        stages.add(stage);
      },
    });
    assert.deepEqual([...stages], ['parse', 'fold', 'calibrate', 'quantize', 'evaluate']);
  });
});

test('percentile calibration clips ranges and still agrees', async () => {
  const cal = uniformSamples(1, 32, [1, 3, 16, 16]);
  const minmax = await importOnnx(fixture('cnn.onnx'), cal, { name: 'cnn' });
  const pct = await importOnnx(fixture('cnn.onnx'), cal, {
    name: 'cnn',
    calibrationMethod: 'percentile',
    percentile: 99.9,
  });
  validateModel(pct.model);
  const scale = (m: Model) => m.tensors[m.ops[0].output].scale;
  assert.ok(scale(pct.model) < scale(minmax.model), 'the first conv output range is clipped');
  assert.ok(pct.report.agreement.top1Agreement >= 0.95);
});
