// Held-out evaluation of the example models: float accuracy (onnxruntime on the float ONNX file),
// quantized accuracy (our integer model), and top-1 agreement between the two.
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { Model } from '../engine/graph.ts';
import type { Backend } from '../engine/interpreter.ts';
import type { Tensor } from '../engine/tensor.ts';
import { quantizeInput } from '../onnx/index.ts';
import type { Example } from './examples.ts';

/**
 * The example ONNX files fix the batch dimension to 1 (their reshapes use -1). Relabel dimension 0
 * of the graph inputs and outputs as symbolic so that onnxruntime runs any batch natively.
 */
export function withDynamicBatch(path: string): Uint8Array {
  const { onnx } = onnxProto;
  const m = onnx.ModelProto.decode(readFileSync(path));
  for (const v of [...(m.graph?.input ?? []), ...(m.graph?.output ?? [])]) {
    const dims = v.type?.tensorType?.shape?.dim;
    if (dims?.length) dims[0] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'N' });
  }
  return onnx.ModelProto.encode(m).finish();
}

export function floatSession(example: Example): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(withDynamicBatch(example.onnx), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

export interface HeldOutBatch {
  float: ort.Tensor;
  quantized: Tensor;
  labels: number[];
}

/** The example's held-out set in batches: float tensors for onnxruntime, quantized ones for us. */
export function heldOutBatches(
  example: Example,
  model: Model,
  batchSize: number,
  limit = Infinity,
): HeldOutBatch[] {
  const set = JSON.parse(readFileSync(example.testSet, 'utf8'));
  const labels: number[] = set.labels;
  const n = Math.min(labels.length, limit);
  const batches: HeldOutBatch[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    if (example.name === 'digits') {
      const f = new Float32Array(count * 784);
      for (let b = 0; b < count; b++) {
        const px = Buffer.from(set.pixels[start + b], 'base64');
        for (let i = 0; i < 784; i++) f[b * 784 + i] = px[i] / 255;
      }
      batches.push({
        float: new ort.Tensor('float32', f, [count, 1, 28, 28]),
        quantized: quantizeInput(model, { shape: [count, 1, 28, 28], data: f }),
        labels: labels.slice(start, start + count),
      });
    } else {
      const rows: number[][] = set.tokens.slice(start, start + count);
      const T = rows[0].length;
      const ids = rows.flat();
      batches.push({
        float: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [count, T]),
        quantized: { dtype: 'i32', shape: [count, T], data: Int32Array.from(ids), zeroPoint: 0 },
        labels: labels.slice(start, start + count),
      });
    }
  }
  return batches;
}

function argmaxRows(data: ArrayLike<number>, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < data.length / width; r++) {
    let best = 0;
    for (let i = 1; i < width; i++) if (data[r * width + i] > data[r * width + best]) best = i;
    out.push(best);
  }
  return out;
}

export interface Evaluation {
  samples: number;
  floatAccuracy: number;
  quantizedAccuracy: number;
  agreement: number;
}

export async function evaluateExample(example: Example, model: Model, backend: Backend): Promise<Evaluation> {
  const session = await floatSession(example);
  let samples = 0;
  let floatCorrect = 0;
  let quantCorrect = 0;
  let agree = 0;
  try {
    for (const batch of heldOutBatches(example, model, 32)) {
      const out = (await session.run({ [session.inputNames[0]]: batch.float }))[session.outputNames[0]];
      const width = out.dims[out.dims.length - 1];
      const floatTop = argmaxRows(out.data as Float32Array, width);
      const run = await backend.run(model, batch.quantized);
      const quantTop = argmaxRows(run.output.data, width);
      for (let i = 0; i < batch.labels.length; i++) {
        samples += 1;
        if (floatTop[i] === batch.labels[i]) floatCorrect += 1;
        if (quantTop[i] === batch.labels[i]) quantCorrect += 1;
        if (quantTop[i] === floatTop[i]) agree += 1;
      }
    }
  } finally {
    await session.release();
  }
  return {
    samples,
    floatAccuracy: floatCorrect / samples,
    quantizedAccuracy: quantCorrect / samples,
    agreement: agree / samples,
  };
}
