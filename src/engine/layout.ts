// The byte order in which each constant is committed (docs/commitments.md, "Tensor bytes").
//
// Every tensor is committed row-major, except a constant used as input b of matmul, i8 [...,K,N]:
// it is committed with its last two axes swapped ([...,N,K]), so that the K weights one output
// column reads are contiguous. A one-step proof of matmul then ships about K/1024 weight chunks
// instead of one chunk per tap (a row-major column has stride N and, for N >= 1024, puts every tap
// in its own chunk). The interpreter keeps working on the row-major data; only the committed bytes
// (the constRoot, the model file's blob and the one-step witness) use this order.
import type { Model, TensorData } from './graph.ts';

/** How a constant's elements are ordered in its committed bytes. */
export type ConstLayout = 'rowMajor' | 'columnMajor';

/** The constants used as input b of a matmul (committed column-major). */
export function matmulWeightIds(model: Pick<Model, 'ops' | 'tensors'>): Set<number> {
  const ids = new Set<number>();
  for (const op of model.ops) {
    if (op.type !== 'matmul') continue;
    const b = op.inputs[1];
    if (model.tensors[b]?.kind === 'const') ids.add(b);
  }
  return ids;
}

/** The committed layout of constant `id`. */
export function constLayout(model: Pick<Model, 'ops' | 'tensors'>, id: number): ConstLayout {
  return matmulWeightIds(model).has(id) ? 'columnMajor' : 'rowMajor';
}

/**
 * The elements of a [..., R, C] tensor with its last two axes swapped: out[..., c, r] = data[..., r, c].
 * `toCommittedOrder` and `fromCommittedOrder` are this map for (R, C) = (K, N) and (N, K).
 */
function swapLastAxes(data: TensorData, R: number, C: number): TensorData {
  const out = new (data.constructor as new (n: number) => TensorData)(data.length);
  const plane = R * C;
  for (let base = 0; base < data.length; base += plane) {
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) out[base + c * R + r] = data[base + r * C + c];
    }
  }
  return out;
}

/** The elements of constant `data` (shape `shape`, row-major) in the order `layout` commits them. */
export function toCommittedOrder(
  data: TensorData,
  shape: readonly number[],
  layout: ConstLayout,
): TensorData {
  if (layout === 'rowMajor') return data;
  return swapLastAxes(data, shape[shape.length - 2], shape[shape.length - 1]);
}

/** The row-major elements of a constant whose committed elements (in `layout` order) are `data`. */
export function fromCommittedOrder(
  data: TensorData,
  shape: readonly number[],
  layout: ConstLayout,
): TensorData {
  if (layout === 'rowMajor') return data;
  return swapLastAxes(data, shape[shape.length - 1], shape[shape.length - 2]);
}

/** Position in the committed element order of row-major element `flat` of a constant of `shape`. */
export function committedIndex(shape: readonly number[], layout: ConstLayout, flat: number): number {
  if (layout === 'rowMajor') return flat;
  const K = shape[shape.length - 2];
  const N = shape[shape.length - 1];
  const plane = K * N;
  const within = flat % plane;
  return flat - within + (within % N) * K + Math.floor(within / N);
}
