// The float benchmark models (bench/models/mobilenet.ts, floatTransformer.ts): deterministic bytes,
// an import through the real ONNX importer, exact agreement of every backend, the honest path's
// roots, and float agreement with onnxruntime on seeded inputs.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import {
  type BenchOnnxSpec,
  benchBatch,
  importBenchOnnx,
  mobileNetSpec,
  transformerSpec,
} from '../../bench/models/benchOnnx.ts';
import { buildMobileNetOnnx } from '../../bench/models/mobilenet.ts';
import { keccak256, toHex } from '../../src/commit/keccak.ts';
import { modelRoot } from '../../src/commit/modelRoot.ts';
import { commitHonest, commitResult } from '../../src/commit/traceRoot.ts';
import { runHonest, runReference } from '../../src/engine/interpreter.ts';
import { STEP_BATCH_LIMIT, STEP_GAS_LIMIT, stepCostReport } from '../../src/engine/stepCost.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { wasmBackend } from '../../src/engine/wasm/index.ts';
import { dequantize } from '../../src/onnx/input.ts';
import { parseOnnx } from '../../src/onnx/parse.ts';
import { getBackend } from '../../src/sdk/backends.ts';

/**
 * Pinned: the ONNX bytes come from integers only, so their hash is the same on every machine; the
 * model root also depends on the importer's float calibration, so a change of it after an importer
 * change is expected, and one without any change means the import is not deterministic.
 */
const TINY: { spec: BenchOnnxSpec; onnxHash: string; root: string; minAgreement: number }[] = [
  {
    spec: mobileNetSpec('mobilenetv2-tiny', { width: 0.25, resolution: 32, classes: 10, lastChannels: 64 }),
    onnxHash: '0x942b51c757b5e45c7233bea0504b0a8b4f5969daeaa36a131f1c2f1827754848',
    root: '0xb85013bb906a7e18247f746f0d0b41a495117f7f10349bd62f4d14cce88b645a',
    // Measured 29/32; random weights leave small margins between the top classes.
    minAgreement: 0.85,
  },
  {
    spec: transformerSpec('transformer-tiny', {
      layers: 2,
      d: 32,
      tokens: 16,
      heads: 2,
      ffn: 64,
      vocab: 50,
      classes: 4,
    }),
    onnxHash: '0x7cfe112a241ab4ebc20d61bf37e5ee3644b267773993678e598d9c95ec32806e',
    root: '0xf9664f9be5036a896ea6df5732125ba64755c84adea4b478e9f35a595163876e',
    // Measured 30/32.
    minAgreement: 0.85,
  },
];

const fastBackend = await getBackend('fast');

const bytes = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

function argmaxRows(data: ArrayLike<number>, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < data.length / width; r++) {
    let best = 0;
    for (let i = 1; i < width; i++) if (data[r * width + i] > data[r * width + best]) best = i;
    out.push(best);
  }
  return out;
}

describe('the MobileNetV2 builder', () => {
  test('has the layout of MobileNetV2 at full size: 52 convolutions, 17 blocks, 10 residual adds', () => {
    const g = parseOnnx(buildMobileNetOnnx());
    const count = (op: string) => g.nodes.filter((n) => n.opType === op).length;
    assert.equal(count('Conv'), 52);
    assert.equal(count('Add'), 10);
    assert.equal(count('Clip'), 35);
    const depthwise = g.nodes.filter((n) => n.opType === 'Conv' && (n.attrs.get('group') as number) > 1);
    assert.equal(depthwise.length, 17);
    assert.deepEqual(g.inputs[0].dims, [null, 3, 224, 224]);
    let params = 0;
    for (const t of g.initializers.values()) params += t.data.length;
    // torchvision's mobilenet_v2 has 3,504,872 parameters; folding batch norm leaves 3,487,816 + 17,056 biases.
    assert.ok(params > 3_400_000 && params < 3_600_000, `${params} parameters`);
  });

  test('at 224x224 passes the validator: every conv too long for one step is split into partial sums', async (t) => {
    // The importer runs validateModel (the one-step gas bound at batch 256). In NCHW a plane of
    // 112x112 bytes is 12 chunks, so a 1x1 conv over 32 channels read 32 chunks in one step.
    const { model } = await importBenchOnnx(mobileNetSpec('mobilenetv2-224'));
    validateModel(model);
    const report = stepCostReport(model, STEP_BATCH_LIMIT);
    const split = report.filter((c) => c.segments);
    const worst = report.reduce((a, b) => (b.gas > a.gas ? b : a));
    assert.ok(worst.gas <= STEP_GAS_LIMIT);
    assert.ok(split.length >= 30, `${split.length} split convs`);
    assert.ok(split.every((c) => c.type === 'conv' && c.inputChunks[0] <= 8));
    t.diagnostic(
      `${split.length} of ${model.ops.length} ops split (up to ${Math.max(...split.map((c) => c.segments ?? 0))} segments); worst step ${worst.name} ${worst.gas} gas`,
    );
  });
});

for (const { spec, onnxHash, root, minAgreement } of TINY) {
  describe(`the tiny ${spec.name}`, async () => {
    const onnx = spec.build();
    const imported = await importBenchOnnx(spec, onnx);
    const { model } = imported;

    test('builds the same bytes every time, and they import to the same model', () => {
      assert.ok(Buffer.from(spec.build()).equals(Buffer.from(onnx)));
      assert.equal(toHex(keccak256(onnx)), onnxHash);
      assert.equal(toHex(modelRoot(model)), root);
    });

    test('runs bit-exactly on the reference, wasm and ort backends, and the honest path commits the same roots', async () => {
      const { quantized } = benchBatch(spec, model, 3, 7);
      const want = runReference(model, quantized);
      for (const backend of [wasmBackend, fastBackend]) {
        const got = await backend.run(model, quantized);
        assert.equal(got.trace.length, want.trace.length);
        want.trace.forEach((w, i) => {
          const what = `${backend.name}: op ${i} (${model.ops[i].name}) differs`;
          assert.ok(bytes(got.trace[i]).equals(bytes(w)), what);
        });
        const honest = await runHonest(backend, model, quantized);
        assert.deepEqual(
          commitHonest(quantized, honest, model.ops.length),
          commitResult(quantized, want.trace),
          backend.name,
        );
      }
    });

    test('agrees with onnxruntime float32 on the top class of seeded inputs', async () => {
      const n = 32;
      const b = benchBatch(spec, model, n, 9);
      const session = await ort.InferenceSession.create(onnx);
      try {
        const type = b.float instanceof BigInt64Array ? 'int64' : 'float32';
        const feeds = { [session.inputNames[0]]: new ort.Tensor(type, b.float, b.shape) };
        const out = (await session.run(feeds))[session.outputNames[0]];
        const width = out.dims[out.dims.length - 1];
        const float = argmaxRows(out.data as Float32Array, width);
        const quant = argmaxRows(
          dequantize(model, (await wasmBackend.run(model, b.quantized)).output),
          width,
        );
        const agree = float.filter((c, i) => c === quant[i]).length / n;
        assert.ok(agree >= minAgreement, `top-1 agreement ${agree}`);
      } finally {
        await session.release();
      }
    });
  });
}
