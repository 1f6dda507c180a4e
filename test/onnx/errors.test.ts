// Bad ONNX files, unsupported ops and wrong inputs must fail with the right error class and a
// message that says what is wrong.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InputError, OnnxFormatError, UnsupportedOpError, VerinferError } from '../../src/errors/base.ts';
import { importOnnx, quantizeInput } from '../../src/onnx/index.ts';
import { parseOnnx } from '../../src/onnx/parse.ts';
import { fixture, normalSamples, rng, tokenSamples } from './helpers.ts';
import { buildOnnx, weights } from './onnxBuilder.ts';

const misc = () => fixture('misc.onnx');
const miscCal = normalSamples(3, 4, [1, 6, 10]);

describe('malformed ONNX files', () => {
  test('an empty file', async () => {
    await assert.rejects(importOnnx(new Uint8Array(0), miscCal, { name: 'x' }), OnnxFormatError);
  });

  test('a truncated file', async () => {
    const bytes = fixture('cnn.onnx');
    for (const cut of [10, 100, Math.floor(bytes.length / 2), bytes.length - 7]) {
      await assert.rejects(
        importOnnx(bytes.subarray(0, cut), miscCal, { name: 'x' }),
        (err: unknown) => err instanceof OnnxFormatError && !/at .*protobuf/.test(err.message),
        `cut at ${cut}`,
      );
    }
  });

  test('random bytes', async () => {
    const r = rng(99);
    for (let k = 0; k < 20; k++) {
      const bytes = Uint8Array.from({ length: 64 + k * 50 }, () => Math.floor(r() * 256));
      await assert.rejects(importOnnx(bytes, miscCal, { name: 'x' }), OnnxFormatError);
    }
  });

  test('corrupted bytes never escape as anything but a Verinfer error', async () => {
    const good = misc();
    const r = rng(5);
    for (let k = 0; k < 60; k++) {
      const bytes = Uint8Array.from(good);
      for (let j = 0; j < 3; j++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
      try {
        await importOnnx(bytes, miscCal, { name: 'x' });
      } catch (err) {
        assert.ok(err instanceof VerinferError, `trial ${k}: ${(err as Error)?.stack}`);
      }
    }
  });

  test('a node reading a tensor that nothing produces', async () => {
    const bytes = buildOnnx({
      input: { name: 'x', dims: [1, 4] },
      output: 'y',
      nodes: [{ op: 'Add', inputs: ['x', 'missing'], outputs: ['y'] }],
    });
    await assert.rejects(
      importOnnx(bytes, [{ shape: [1, 4], data: [1, 2, 3, 4] }], { name: 'x' }),
      OnnxFormatError,
    );
  });
});

describe('unsupported graphs', () => {
  test('LSTM is rejected with the node name and the list of supported ops', async () => {
    const bytes = fixture('lstm.onnx');
    const node = parseOnnx(bytes).nodes.find((n) => n.opType === 'LSTM');
    assert.ok(node);
    await assert.rejects(
      importOnnx(bytes, normalSamples(1, 2, [1, 5, 4]), { name: 'lstm' }),
      (err: unknown) => {
        assert.ok(err instanceof UnsupportedOpError);
        assert.match(err.message, /LSTM/);
        assert.ok(err.message.includes(`"${node.name}"`), err.message);
        assert.match(err.message, /Supported ops: .*Conv.*MatMul.*Softmax/);
        return true;
      },
    );
  });

  test('Where on a run-time condition is rejected, naming the node', async () => {
    const bytes = fixture('where.onnx');
    const node = parseOnnx(bytes).nodes.find((n) => n.opType === 'Where');
    assert.ok(node);
    await assert.rejects(
      importOnnx(bytes, normalSamples(1, 2, [1, 8]), { name: 'where' }),
      (err: unknown) => {
        assert.ok(err instanceof UnsupportedOpError);
        assert.ok(err.message.includes(`Where at node "${node.name}"`), err.message);
        assert.match(err.message, /Supported ops:/);
        return true;
      },
    );
  });

  test('ops from a custom domain are rejected', async () => {
    const bytes = buildOnnx({
      input: { name: 'x', dims: [1, 4] },
      output: 'y',
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'], name: 'custom' }],
    });
    // Re-encode with a custom domain on the node.
    const graph = parseOnnx(bytes);
    assert.equal(graph.nodes[0].domain, '');
    const { default: onnxProto } = await import('onnx-proto');
    const m = onnxProto.onnx.ModelProto.decode(bytes);
    m.graph!.node![0].domain = 'com.example';
    const custom = onnxProto.onnx.ModelProto.encode(m).finish();
    await assert.rejects(
      importOnnx(custom, [{ shape: [1, 4], data: [1, 2, 3, 4] }], { name: 'x' }),
      /domain "com.example"/,
    );
  });

  test('a second model input is rejected', async () => {
    const bytes = buildOnnx({
      input: { name: 'x', dims: [1, 4] },
      output: 'y',
      nodes: [{ op: 'Add', inputs: ['x', 'x2'], outputs: ['y'] }],
    });
    const m = (await import('onnx-proto')).default.onnx.ModelProto.decode(bytes);
    m.graph!.input!.push({ name: 'x2', type: m.graph!.input![0].type });
    const two = (await import('onnx-proto')).default.onnx.ModelProto.encode(m).finish();
    await assert.rejects(
      importOnnx(two, [{ shape: [1, 4], data: [1, 2, 3, 4] }], { name: 'x' }),
      UnsupportedOpError,
    );
  });

  test('a model whose output does not depend on the input', async () => {
    const bytes = buildOnnx({
      input: { name: 'x', dims: [1, 4] },
      output: 'y',
      nodes: [
        { op: 'Relu', inputs: ['x'], outputs: ['unused'] },
        { op: 'Relu', inputs: ['c'], outputs: ['y'] },
      ],
      initializers: [{ name: 'c', dims: [1, 4], values: [1, 2, 3, 4] }],
    });
    await assert.rejects(
      importOnnx(bytes, [{ shape: [1, 4], data: [1, 2, 3, 4] }], { name: 'x' }),
      UnsupportedOpError,
    );
  });

  test('non-finite weights are rejected', async () => {
    const w = weights(16, 1);
    w[3] = Number.NaN;
    const bytes = buildOnnx({
      input: { name: 'x', dims: [1, 4] },
      output: 'y',
      nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
      initializers: [{ name: 'w', dims: [4, 4], values: w }],
    });
    await assert.rejects(
      importOnnx(bytes, [{ shape: [1, 4], data: [1, 2, 3, 4] }], { name: 'x' }),
      /non-finite/,
    );
  });
});

describe('wrong calibration samples and inputs', () => {
  test('no calibration samples', async () => {
    await assert.rejects(importOnnx(misc(), [], { name: 'x' }), InputError);
  });

  test('calibration samples of the wrong shape', async () => {
    await assert.rejects(
      importOnnx(misc(), normalSamples(1, 2, [1, 5, 10]), { name: 'x' }),
      (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.match(err.message, /\[1,5,10\]/);
        return true;
      },
    );
  });

  test('calibration samples without the batch dimension are accepted', async () => {
    const { model } = await importOnnx(misc(), normalSamples(1, 2, [6, 10]), { name: 'x' });
    assert.deepEqual(model.tensors[model.input].shape, [1, 6, 10]);
  });

  test('fractional token ids in calibration', async () => {
    const cal = tokenSamples(1, 2, 16, 40);
    cal[1].data[3] = 2.5;
    await assert.rejects(importOnnx(fixture('transformer17.onnx'), cal, { name: 't' }), InputError);
  });

  test('labels that do not match the output', async () => {
    await assert.rejects(importOnnx(misc(), miscCal, { name: 'x', labels: ['a', 'b'] }), InputError);
    const { model } = await importOnnx(misc(), miscCal, { name: 'x', labels: ['a', 'b', 'c', 'd'] });
    assert.deepEqual(model.meta.labels, ['a', 'b', 'c', 'd']);
  });

  test('quantizeInput rejects wrong shapes and values', async () => {
    const { model } = await importOnnx(misc(), miscCal, { name: 'x' });
    assert.throws(() => quantizeInput(model, { shape: [1, 6, 9], data: new Array(54).fill(0) }), InputError);
    assert.throws(() => quantizeInput(model, { shape: [1, 6, 10], data: new Array(59).fill(0) }), InputError);
    assert.throws(
      () => quantizeInput(model, { shape: [1, 6, 10], data: [Number.NaN, ...new Array(59).fill(0)] }),
      InputError,
    );
    assert.equal(quantizeInput(model, { shape: [3, 6, 10], data: new Array(180).fill(0) }).shape[0], 3);
    assert.deepEqual(quantizeInput(model, { shape: [6, 10], data: new Array(60).fill(0) }).shape, [1, 6, 10]);
  });

  test('quantizeInput passes token ids through and rejects non-integers', async () => {
    const { model } = await importOnnx(fixture('transformer17.onnx'), tokenSamples(1, 4, 16, 40), {
      name: 't',
    });
    const ids = Array.from({ length: 16 }, (_, i) => i);
    const t = quantizeInput(model, { shape: [1, 16], data: ids });
    assert.equal(t.dtype, 'i32');
    assert.deepEqual(Array.from(t.data), ids);
    assert.throws(() => quantizeInput(model, { shape: [1, 16], data: [0.5, ...ids.slice(1)] }), InputError);
    assert.throws(() => quantizeInput(model, { shape: [1, 15], data: ids.slice(1) }), InputError);
  });
});
