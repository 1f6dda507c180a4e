// Float tensors of the calibration-side evaluator (float64; off the verified path).
import { OnnxFormatError } from '../../errors/base.ts';

export type FDType = 'float' | 'int' | 'bool';

export interface FTensor {
  shape: number[];
  data: Float64Array;
  dtype: FDType;
}

/** Largest tensor the float evaluator allocates (2^26 elements); larger ones signal a broken graph. */
export const MAX_ELEMENTS = 2 ** 26;

/** A zeroed tensor buffer; throws OnnxFormatError for absurd sizes instead of exhausting memory. */
export function alloc(n: number): Float64Array {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_ELEMENTS) {
    throw new OnnxFormatError(
      `The graph needs a tensor of ${n} elements, more than the supported ${MAX_ELEMENTS}.`,
    );
  }
  return new Float64Array(n);
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function ft(shape: number[], data: Float64Array | number[], dtype: FDType = 'float'): FTensor {
  const d = data instanceof Float64Array ? data : Float64Array.from(data);
  if (d.length !== sizeOf(shape)) {
    throw new OnnxFormatError(`A tensor of shape [${shape.join(',')}] has ${d.length} values.`);
  }
  return { shape: [...shape], data: d, dtype };
}

export function scalar(v: number, dtype: FDType = 'float'): FTensor {
  return { shape: [], data: Float64Array.of(v), dtype };
}

/** The integer values of a 1-D (or scalar) tensor, e.g. a shape or a list of axes. */
export function intsOf(t: FTensor): number[] {
  return Array.from(t.data, (v) => Math.trunc(v));
}

/** Numpy broadcasting of shapes. */
export function broadcast(...shapes: (readonly number[])[]): number[] {
  const n = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(n).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = n - s.length + i;
      const d = s[i];
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j]) {
        throw new OnnxFormatError(
          `Shapes ${shapes.map((x) => `[${x.join(',')}]`).join(' and ')} cannot be broadcast.`,
        );
      }
    }
  }
  return out;
}

/** For each flat index of `out`, the flat index into a tensor of shape `shape` broadcast to it. */
export { broadcastIndexMap as broadcastMap } from '../../engine/tensor.ts';

/** Normalizes a possibly negative axis for a tensor of rank `rank`. */
export function normAxis(axis: number, rank: number, what = 'axis'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new OnnxFormatError(`The ${what} ${axis} is out of range for a tensor of rank ${rank}.`);
  }
  return a;
}

/** Generic axis permutation. */
export function permute(x: FTensor, perm: readonly number[]): FTensor {
  const rank = x.shape.length;
  const outShape = perm.map((p) => x.shape[p]);
  const inStrides = stridesOf(x.shape);
  const s = perm.map((p) => inStrides[p]);
  const y = alloc(x.data.length);
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let flat = 0; flat < y.length; flat++) {
    y[flat] = x.data[off];
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax] += 1;
      off += s[ax];
      if (idx[ax] < outShape[ax]) break;
      off -= s[ax] * idx[ax];
      idx[ax] = 0;
    }
  }
  return { shape: outShape, data: y, dtype: x.dtype };
}

/** True if every element has the same value (a constant that acts as a scalar). */
export function isUniform(t: FTensor): boolean {
  for (let i = 1; i < t.data.length; i++) if (t.data[i] !== t.data[0]) return false;
  return t.data.length > 0;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
