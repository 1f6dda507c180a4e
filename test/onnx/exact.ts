// Exactness check shared by the tests of ops that only move or pick elements (selections, Resize,
// ReduceMax): on the dequantized input codes the integer model must give onnxruntime's float result
// up to float32 rounding, and the WebAssembly backend the same bytes as the reference.
import assert from 'node:assert/strict';
import type { Model } from '../../src/engine/graph.ts';
import { runReference } from '../../src/engine/interpreter.ts';
import { validateModel } from '../../src/engine/validate.ts';
import { createWasmBackend } from '../../src/engine/wasm/index.ts';
import { dequantize, importOnnx, quantizeInput } from '../../src/onnx/index.ts';
import { normalSamples, ortOutputs } from './helpers.ts';
import { buildOnnx, type GraphSpec } from './onnxBuilder.ts';

const wasm = createWasmBackend();

export const int64 = (name: string, values: number[]) => ({
  name,
  dims: [values.length],
  values,
  int64: true,
});
export const floats = (name: string, values: number[]) => ({ name, dims: [values.length], values });

/** `slack` (in output steps) is 0 except where a value is not a code of the input's quantization. */
export async function exact(
  spec: GraphSpec | Uint8Array,
  shape: number[],
  slack = 0,
): Promise<{ model: Model; warnings: string[] }> {
  const bytes = spec instanceof Uint8Array ? spec : buildOnnx(spec);
  const { model, report } = await importOnnx(bytes, normalSamples(3, 8, shape), { name: 'exact' });
  validateModel(model);
  const info = model.tensors[model.input];
  const samples = normalSamples(4, 4, shape).map((s) => {
    // The float input the integer model really sees: its quantized codes, dequantized.
    const q = quantizeInput(model, s);
    return { shape, data: Array.from(q.data, (v) => info.scale * (v - info.zeroPoint)) };
  });
  const ref = await ortOutputs(bytes, samples);
  for (const [i, s] of samples.entries()) {
    const x = quantizeInput(model, s);
    const r = runReference(model, x);
    const q = dequantize(model, r.output);
    assert.equal(q.length, ref[i].length);
    const out = model.tensors[model.output];
    for (let k = 0; k < q.length; k++)
      assert.ok(
        Math.abs(q[k] - ref[i][k]) <= 1e-5 + out.scale * (1e-3 + slack),
        `element ${k}: ${q[k]} vs ${ref[i][k]}`,
      );
    assert.deepEqual((await wasm.run(model, x)).output.data, r.output.data);
  }
  return { model, warnings: report.warnings };
}
