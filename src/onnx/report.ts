// Agreement between the quantized model and the float model.
import type { Model } from '../engine/graph.ts';
import type { Feed } from './deriveInputs.ts';
import type { FTensor } from './float/tensor.ts';

export interface Agreement {
  samples: number;
  /** Fraction of output rows (last axis) whose arg-max matches the float model. */
  top1Agreement: number;
  maxAbsError: number;
  meanAbsError: number;
  /**
   * The same for output probabilities: the outputs themselves if the model ends in Softmax or
   * Sigmoid, else the softmax over the last axis of both outputs.
   */
  maxProbabilityError: number;
  meanProbabilityError: number;
}

/** Softmax of v[from, from + len) into out (stable: the row maximum is subtracted first). */
function softmaxRow(v: ArrayLike<number>, from: number, len: number, out: Float64Array): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < len; i++) max = Math.max(max, v[from + i]);
  let sum = 0;
  for (let i = 0; i < len; i++) {
    out[i] = Math.exp(v[from + i] - max);
    sum += out[i];
  }
  for (let i = 0; i < len; i++) out[i] /= sum;
}

function argmax(v: ArrayLike<number>, from: number, len: number): number {
  let best = from;
  for (let i = from + 1; i < from + len; i++) if (v[i] > v[best]) best = i;
  return best - from;
}

/** Compares the dequantized outputs of the integer model with the float outputs, sample by sample. */
export function agreement(
  model: Model,
  quantizedOutputs: ArrayLike<number>[],
  floatOutputs: ArrayLike<number>[],
  outputIsProbability: boolean,
): Agreement {
  let rows = 0;
  let agree = 0;
  let maxAbs = 0;
  let sumAbs = 0;
  let count = 0;
  let maxProb = 0;
  let sumProb = 0;
  const shape = model.tensors[model.output].shape;
  const last = shape[shape.length - 1];
  const pq = new Float64Array(last);
  const pf = new Float64Array(last);
  quantizedOutputs.forEach((q, k) => {
    const f = floatOutputs[k];
    for (let i = 0; i < q.length; i++) {
      const e = Math.abs(q[i] - f[i]);
      // NaN compares false with everything, so it is carried explicitly (an unbounded error).
      maxAbs = Number.isNaN(e) || e > maxAbs ? e : maxAbs;
      sumAbs += e;
      count += 1;
    }
    for (let r = 0; r < q.length; r += last) {
      rows += 1;
      if (argmax(q, r, last) === argmax(f, r, last)) agree += 1;
      if (outputIsProbability) {
        for (let i = 0; i < last; i++) [pq[i], pf[i]] = [q[r + i], f[r + i]];
      } else {
        softmaxRow(q, r, last, pq);
        softmaxRow(f, r, last, pf);
      }
      for (let i = 0; i < last; i++) {
        const e = Math.abs(pq[i] - pf[i]);
        maxProb = Number.isNaN(e) || e > maxProb ? e : maxProb;
        sumProb += e;
      }
    }
  });
  return {
    samples: quantizedOutputs.length,
    top1Agreement: rows ? agree / rows : 0,
    maxAbsError: maxAbs,
    meanAbsError: count ? sumAbs / count : 0,
    maxProbabilityError: maxProb,
    meanProbabilityError: count ? sumProb / count : 0,
  };
}

/** The typed array onnxruntime takes for an input of ONNX element type `elemType`. */
function typedFeed(elemType: number, data: ArrayLike<number>) {
  if (elemType === 7) return BigInt64Array.from(data, (v) => BigInt(v));
  if (elemType === 6) return Int32Array.from(data);
  if (elemType === 11) return Float64Array.from(data);
  return Float32Array.from(data);
}

/** Float outputs from onnxruntime; null if onnxruntime is unavailable or fails on this model. */
export async function onnxruntimeOutputs(
  bytes: Uint8Array,
  inputName: string,
  outputName: string,
  elemType: number,
  samples: FTensor[],
  extraFeeds: (sample: FTensor) => Record<string, Feed> = () => ({}),
): Promise<{ outputs: Float64Array[] } | { error: string }> {
  try {
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(bytes);
    const outputs: Float64Array[] = [];
    try {
      const tensor = (f: Feed) =>
        f.elemType === 9
          ? new ort.Tensor(
              'bool',
              Uint8Array.from(f.data, (v) => (v ? 1 : 0)),
              f.shape,
            )
          : new ort.Tensor(typedFeed(f.elemType, f.data), f.shape);
      for (const s of samples) {
        const feeds = { [inputName]: tensor({ elemType, shape: s.shape, data: s.data }) };
        for (const [name, f] of Object.entries(extraFeeds(s))) feeds[name] = tensor(f);
        const res = await session.run(feeds, [outputName]);
        outputs.push(Float64Array.from(res[outputName].data as ArrayLike<number>, Number));
      }
    } finally {
      await session.release();
    }
    return { outputs };
  } catch (err) {
    return { error: err instanceof Error ? err.message.split('\n')[0] : String(err) };
  }
}
