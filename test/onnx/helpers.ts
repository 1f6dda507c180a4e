// Shared helpers of the ONNX importer tests: fixture paths, seeded random inputs, float references.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import type { FloatTensor } from '../../src/onnx/index.ts';

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/onnx/${name}`, import.meta.url))));
}

/** Mulberry32: a small seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function uniformSamples(seed: number, n: number, shape: number[]): FloatTensor[] {
  const r = rng(seed);
  const size = shape.reduce((p, d) => p * d, 1);
  return Array.from({ length: n }, () => ({ shape, data: Array.from({ length: size }, () => r()) }));
}

export function normalSamples(seed: number, n: number, shape: number[]): FloatTensor[] {
  const r = rng(seed);
  const size = shape.reduce((p, d) => p * d, 1);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  return Array.from({ length: n }, () => ({ shape, data: Array.from({ length: size }, gauss) }));
}

export function tokenSamples(seed: number, n: number, length: number, vocab: number): FloatTensor[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => ({
    shape: [1, length],
    data: Array.from({ length }, () => Math.floor(r() * vocab)),
  }));
}

/** Float outputs of the ONNX model from onnxruntime. */
export async function ortOutputs(
  bytes: Uint8Array,
  samples: FloatTensor[],
  int64 = false,
): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(bytes);
  const out: Float32Array[] = [];
  for (const s of samples) {
    const data = int64 ? BigInt64Array.from(s.data, (v) => BigInt(v)) : Float32Array.from(s.data);
    const res = await session.run({ [session.inputNames[0]]: new ort.Tensor(data, s.shape) });
    out.push(res[session.outputNames[0]].data as Float32Array);
  }
  await session.release();
  return out;
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}
