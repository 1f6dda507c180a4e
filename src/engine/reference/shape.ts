import { InputError } from '../../errors/base.ts';
import type { ConcatOp, TransposeOp } from '../graph.ts';
import { odometerOffsets, stridesOf, type Tensor } from '../tensor.ts';

/** An id outside the embedding table: the input is invalid, not the model. */
export class TokenOutOfRangeError extends InputError {
  override name = 'TokenOutOfRangeError' as const;
  constructor(id: number, vocab: number, position: number) {
    super(
      `Token id ${id} at position ${position} is outside the vocabulary [0, ${vocab}). Re-tokenize the input with the model's tokenizer.`,
    );
  }
}

/** gather: y[p, d] = table[ids[p], d]; table (V,D) u8, ids (...) i32 -> y (..., D) u8. */
export function gather([table, ids]: Tensor[]): Uint8Array {
  const [V, D] = table.shape;
  const y = new Uint8Array(ids.data.length * D);
  for (let p = 0; p < ids.data.length; p++) {
    const id = ids.data[p];
    if (id < 0 || id >= V) throw new TokenOutOfRangeError(id, V, p);
    y.set(table.data.subarray(id * D, (id + 1) * D) as Uint8Array, p * D);
  }
  return y;
}

/** transpose: y[i_perm[0], ..., i_perm[r-1]] = x[i_0, ..., i_{r-1}]. */
export function transpose(op: TransposeOp, [x]: Tensor[], outShape: number[]): Uint8Array {
  const inStrides = stridesOf(x.shape);
  // Offset in x of every output element: output axis k walks input axis perm[k].
  const from = odometerOffsets(
    outShape,
    op.perm.map((p) => inStrides[p]),
  );
  const y = new Uint8Array(x.data.length);
  for (let i = 0; i < y.length; i++) y[i] = x.data[from[i]];
  return y;
}

/** concat along axis: y = [x_0 | x_1 | ...]; all inputs share one quantization. */
export function concat(op: ConcatOp, xs: Tensor[], outShape: number[]): Uint8Array {
  const outer = outShape.slice(0, op.axis).reduce((p, d) => p * d, 1);
  const inner = outShape.slice(op.axis + 1).reduce((p, d) => p * d, 1);
  const y = new Uint8Array(outShape.reduce((p, d) => p * d, 1));
  const rowLen = outShape[op.axis] * inner;
  let offset = 0;
  for (const x of xs) {
    const len = x.shape[op.axis] * inner;
    for (let o = 0; o < outer; o++) {
      y.set((x.data as Uint8Array).subarray(o * len, (o + 1) * len), o * rowLen + offset);
    }
    offset += len;
  }
  return y;
}
