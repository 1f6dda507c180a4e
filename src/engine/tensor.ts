// A runtime tensor: typed data with its shape and zero point.
import type { DType, TensorData } from './graph.ts';

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
  zeroPoint: number;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Numpy broadcasting of two shapes; throws if incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`Shapes [${a.join(',')}] and [${b.join(',')}] cannot be broadcast together.`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Walks every index of `dims` in row-major order and returns, for each, Σ idx[ax] * strides[ax]:
 * the offset into a tensor laid out with those strides (a stride of 0 repeats, i.e. broadcasts).
 */
export function odometerOffsets(dims: readonly number[], strides: readonly number[]): Int32Array {
  const n = dims.reduce((p, d) => p * d, 1);
  const offsets = new Int32Array(n);
  const rank = dims.length;
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let flat = 0; flat < n; flat++) {
    offsets[flat] = off;
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax] += 1;
      off += strides[ax];
      if (idx[ax] < dims[ax]) break;
      off -= strides[ax] * idx[ax];
      idx[ax] = 0;
    }
  }
  return offsets;
}

/**
 * For each flat index of `outShape`, the flat index into a tensor of shape `inShape` broadcast to it.
 */
export function broadcastIndexMap(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const rank = outShape.length;
  const inStrides = stridesOf(inShape);
  // Stride 0 on broadcast axes.
  const eff = new Array<number>(rank).fill(0);
  for (let i = 0; i < rank; i++) {
    const j = inShape.length - rank + i;
    if (j >= 0 && inShape[j] !== 1) eff[i] = inStrides[j];
  }
  return odometerOffsets(outShape, eff);
}

const centeredCache = new WeakMap<TensorData, { zeroPoint: number; values: Int32Array }>();

/**
 * The tensor's values minus its zero point, as one Int32Array (q - z for every element), so that
 * kernels read a single element type. Cached per data array: constants (weights) are converted
 * once per model, activations once per op that reads them.
 */
export function centered(t: Tensor): Int32Array {
  const hit = centeredCache.get(t.data);
  if (hit && hit.zeroPoint === t.zeroPoint) return hit.values;
  const values = new Int32Array(t.data.length);
  for (let i = 0; i < values.length; i++) values[i] = t.data[i] - t.zeroPoint;
  centeredCache.set(t.data, { zeroPoint: t.zeroPoint, values });
  return values;
}
