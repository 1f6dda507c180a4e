// Inputs shaped as a Hugging Face tokenizer gives them, and the float model run on them, for the
// tests of exports with an attention_mask input (hfImport.test.ts, distilbertImport.test.ts).
import * as ortNode from 'onnxruntime-node';
import type { FloatTensor } from '../../src/onnx/index.ts';
import { rng } from './helpers.ts';

/** Sequence length of every sample. */
export const S = 12;
export const PAD = 0;

/** [CLS]=1 w... [SEP]=2 then [PAD]=0 up to S; lengths 3..S, so some rows have no padding. */
export function sentences(seed: number, n: number): FloatTensor[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, k) => {
    const len = k === 0 ? S : 3 + Math.floor(r() * (S - 2));
    const data = Array.from({ length: S }, (_, i) =>
      i === 0 ? 1 : i === len - 1 ? 2 : i < len ? 3 + Math.floor(r() * 57) : PAD,
    );
    return { shape: [1, S], data };
  });
}

/** The float model in onnxruntime, fed what a Hugging Face tokenizer gives it. */
export async function hfFloat(bytes: Uint8Array, samples: FloatTensor[]): Promise<Float32Array[]> {
  const session = await ortNode.InferenceSession.create(bytes);
  const long = (v: ArrayLike<number>) =>
    new ortNode.Tensor(
      BigInt64Array.from(v, (x) => BigInt(x)),
      [1, S],
    );
  const out: Float32Array[] = [];
  for (const s of samples) {
    const feeds: Record<string, ortNode.Tensor> = {
      input_ids: long(s.data),
      attention_mask: long(Array.from(s.data, (v) => (v === PAD ? 0 : 1))),
    };
    if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = long(new Array(S).fill(0));
    out.push((await session.run(feeds)).logits.data as Float32Array);
  }
  await session.release();
  return out;
}
