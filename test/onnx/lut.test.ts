// Elementwise functions of one activation become 256-entry lookup tables. On the dequantized input
// codes the only error left is the rounding of the table's outputs, so each must agree with
// onnxruntime within half an output step (plus float32 noise), and every backend give the same bytes.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { runReference } from '../../src/engine/interpreter.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import { dequantize, importOnnx, quantizeInput } from '../../src/onnx/index.ts';
import { getBackend } from '../../src/sdk/backends.ts';
import { normalSamples, ortOutputs } from './helpers.ts';
import { buildOnnx, type NodeSpec, type TensorSpec } from './onnxBuilder.ts';

const wasm = createWasmBackend();
const fast = await getBackend('fast');

const SHAPE = [1, 4, 16];
const scalar = (name: string, v: number): TensorSpec => ({ name, dims: [], values: [v] });

const CASES: Record<string, { nodes: NodeSpec[]; initializers?: TensorSpec[]; opset?: number }> = {
  Sigmoid: { nodes: [{ op: 'Sigmoid', inputs: ['x'], outputs: ['y'] }] },
  Tanh: { nodes: [{ op: 'Tanh', inputs: ['x'], outputs: ['y'] }] },
  HardSwish: { nodes: [{ op: 'HardSwish', inputs: ['x'], outputs: ['y'] }], opset: 14 },
  HardSigmoid: {
    nodes: [{ op: 'HardSigmoid', inputs: ['x'], outputs: ['y'], attrs: { alpha: 0.25, beta: 0.4 } }],
  },
  SiLU: {
    nodes: [
      { op: 'Sigmoid', inputs: ['x'], outputs: ['s'] },
      { op: 'Mul', inputs: ['x', 's'], outputs: ['y'] },
    ],
  },
  'Where on constants (a step function)': {
    nodes: [
      { op: 'Greater', inputs: ['x', 'half'], outputs: ['c'] },
      { op: 'Where', inputs: ['c', 'one', 'minus2'], outputs: ['y'] },
    ],
    initializers: [scalar('half', 0.5), scalar('one', 1), scalar('minus2', -2)],
  },
  'Where choosing between x and a scaled x (leaky relu)': {
    nodes: [
      { op: 'Less', inputs: ['x', 'zero'], outputs: ['c'] },
      { op: 'Mul', inputs: ['x', 'slope'], outputs: ['sx'] },
      { op: 'Where', inputs: ['c', 'sx', 'x'], outputs: ['y'] },
    ],
    initializers: [scalar('zero', 0), scalar('slope', 0.1)],
  },
};

describe('lookup tables', () => {
  for (const [name, c] of Object.entries(CASES)) {
    test(`${name}: one lut op, within half an output step of float, bit-exact on every backend`, async () => {
      const bytes = buildOnnx({
        input: { name: 'x', dims: SHAPE },
        output: 'y',
        nodes: c.nodes,
        initializers: c.initializers,
        opset: c.opset,
      });
      const { model } = await importOnnx(bytes, normalSamples(1, 16, SHAPE), { name: 'lut' });
      validateModel(model);
      assert.deepEqual(
        model.ops.map((o) => o.type),
        ['lut'],
      );
      const info = model.tensors[model.input];
      const out = model.tensors[model.output];
      const samples = normalSamples(2, 6, SHAPE).map((s) => {
        const q = quantizeInput(model, s);
        return { shape: SHAPE, data: Array.from(q.data, (v) => info.scale * (v - info.zeroPoint)) };
      });
      const ref = await ortOutputs(bytes, samples);
      for (const [i, s] of samples.entries()) {
        const x = quantizeInput(model, s);
        const r = runReference(model, x);
        assert.deepEqual((await wasm.run(model, x)).output.data, r.output.data);
        assert.deepEqual((await fast.run(model, x)).output.data, r.output.data);
        const q = dequantize(model, r.output);
        for (let k = 0; k < q.length; k++) {
          // Inside the output range the error is the rounding; outside it, the clamp to the range.
          const lo = out.scale * (0 - out.zeroPoint);
          const hi = out.scale * (255 - out.zeroPoint);
          const want = Math.min(hi, Math.max(lo, ref[i][k]));
          assert.ok(
            Math.abs(q[k] - want) <= out.scale * 0.501 + 1e-5,
            `sample ${i} element ${k}: ${q[k]} vs ${ref[i][k]} (step ${out.scale})`,
          );
        }
      }
    });
  }
});
