// Float reference of the ONNX shape and data-movement ops. Most of them only ever run on constants
// (shape subgraphs) and are folded away; the others become reshape/transpose/concat/gather.
import { OnnxFormatError, UnsupportedOpError } from '../../errors/base.ts';
import type { OnnxNode } from '../parse.ts';
import { attrFloat, attrInt, attrInts, attrTensor } from './attrs.ts';
import {
  alloc,
  broadcast,
  broadcastMap,
  type FTensor,
  intsOf,
  normAxis,
  permute,
  sizeOf,
  stridesOf,
} from './tensor.ts';

function bad(node: OnnxNode, why: string): never {
  throw new OnnxFormatError(`Node "${node.name}" (${node.opType}): ${why}`);
}

export function constantValue(node: OnnxNode): FTensor {
  const t = attrTensor(node, 'value');
  if (t) return t;
  const f = node.attrs.get('value_float');
  if (typeof f === 'number') return { shape: [], data: Float64Array.of(f), dtype: 'float' };
  const i = node.attrs.get('value_int');
  if (typeof i === 'number') return { shape: [], data: Float64Array.of(i), dtype: 'int' };
  const fs = attrInts(node, 'value_floats');
  if (fs) return { shape: [fs.length], data: Float64Array.from(fs), dtype: 'float' };
  const is = attrInts(node, 'value_ints');
  if (is) return { shape: [is.length], data: Float64Array.from(is), dtype: 'int' };
  throw new UnsupportedOpError(
    `Node "${node.name}" (Constant) has no supported value attribute (sparse and string constants are not supported).`,
  );
}

/** Target shape of a Reshape: 0 copies the input dimension (unless allowzero), -1 is inferred. */
export function reshapeTarget(node: OnnxNode, inShape: readonly number[], spec: number[]): number[] {
  const allowZero = attrInt(node, 'allowzero', 0) === 1;
  const out = spec.map((d, i) => (d === 0 && !allowZero ? inShape[i] : d));
  const known = out.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const unknown = out.filter((d) => d === -1).length;
  const total = sizeOf(inShape);
  if (unknown > 1) bad(node, 'more than one -1 in the target shape.');
  if (unknown === 1) {
    if (known === 0 || total % known !== 0) bad(node, `cannot reshape [${inShape}] to [${spec}].`);
    out[out.indexOf(-1)] = total / known;
  }
  if (sizeOf(out) !== total || out.some((d) => d < 0)) bad(node, `cannot reshape [${inShape}] to [${spec}].`);
  return out;
}

/** Output shape of Flatten/Squeeze/Unsqueeze/Reshape (the data never changes). */
export function reshapeLikeShape(
  node: OnnxNode,
  inShape: readonly number[],
  second: FTensor | undefined,
): number[] {
  const rank = inShape.length;
  switch (node.opType) {
    case 'Reshape':
      if (!second) bad(node, 'missing target shape.');
      return reshapeTarget(node, inShape, intsOf(second));
    case 'Flatten': {
      const axis = attrInt(node, 'axis', 1);
      const a = axis < 0 ? axis + rank : axis;
      return [sizeOf(inShape.slice(0, a)), sizeOf(inShape.slice(a))];
    }
    case 'Squeeze': {
      const raw = second ? intsOf(second) : attrInts(node, 'axes');
      const axes = raw
        ? raw.map((x) => normAxis(x, rank))
        : inShape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
      for (const a of axes)
        if (inShape[a] !== 1) bad(node, `cannot squeeze axis ${a} of size ${inShape[a]}.`);
      return inShape.filter((_, i) => !axes.includes(i));
    }
    case 'Unsqueeze': {
      const raw = second ? intsOf(second) : attrInts(node, 'axes');
      if (!raw) bad(node, 'missing axes.');
      const outRank = rank + raw.length;
      const axes = raw.map((x) => normAxis(x, outRank));
      const out: number[] = [];
      let k = 0;
      for (let i = 0; i < outRank; i++) out.push(axes.includes(i) ? 1 : inShape[k++]);
      return out;
    }
    default:
      return bad(node, 'not a reshape-like op.');
  }
}

export function concat(node: OnnxNode, xs: FTensor[]): FTensor {
  const rank = xs[0].shape.length;
  const axis = normAxis(attrInt(node, 'axis', 0), rank);
  const outer = sizeOf(xs[0].shape.slice(0, axis));
  const inner = sizeOf(xs[0].shape.slice(axis + 1));
  const total = xs.reduce((s, x) => s + x.shape[axis], 0);
  const y = alloc(outer * total * inner);
  let off = 0;
  for (const x of xs) {
    if (x.shape.length !== rank || x.shape.some((d, i) => i !== axis && d !== xs[0].shape[i])) {
      bad(node, `inputs [${xs.map((t) => t.shape.join('x')).join('; ')}] differ outside axis ${axis}.`);
    }
    const len = x.shape[axis] * inner;
    for (let o = 0; o < outer; o++) y.set(x.data.subarray(o * len, (o + 1) * len), o * total * inner + off);
    off += len;
  }
  const shape = xs[0].shape.map((d, i) => (i === axis ? total : d));
  return { shape, data: y, dtype: xs[0].dtype };
}

export function gather(node: OnnxNode, x: FTensor, idx: FTensor): FTensor {
  const axis = normAxis(attrInt(node, 'axis', 0), x.shape.length);
  const outer = sizeOf(x.shape.slice(0, axis));
  const len = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const ids = intsOf(idx).map((i) => (i < 0 ? i + len : i));
  const y = alloc(outer * ids.length * inner);
  for (let o = 0; o < outer; o++) {
    ids.forEach((id, k) => {
      if (id < 0 || id >= len) bad(node, `index ${id} is out of range [0, ${len}).`);
      y.set(
        x.data.subarray((o * len + id) * inner, (o * len + id + 1) * inner),
        (o * ids.length + k) * inner,
      );
    });
  }
  const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
  return { shape, data: y, dtype: x.dtype };
}

export function slice(node: OnnxNode, x: FTensor, ins: (FTensor | undefined)[], opset: number): FTensor {
  const rank = x.shape.length;
  let starts: number[];
  let ends: number[];
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (opset < 10) {
    starts = attrInts(node, 'starts') ?? [];
    ends = attrInts(node, 'ends') ?? [];
    axes = attrInts(node, 'axes');
  } else {
    if (!ins[1] || !ins[2]) bad(node, 'missing starts or ends.');
    starts = intsOf(ins[1]);
    ends = intsOf(ins[2]);
    axes = ins[3] ? intsOf(ins[3]) : undefined;
    steps = ins[4] ? intsOf(ins[4]) : undefined;
  }
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank));
  const begin = x.shape.map(() => 0);
  const step = x.shape.map(() => 1);
  const count = [...x.shape];
  ax.forEach((a, i) => {
    const d = x.shape[a];
    const s = steps ? steps[i] : 1;
    if (s === 0) bad(node, 'step 0.');
    const clampIdx = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + d : v, lo), hi);
    const b = s > 0 ? clampIdx(starts[i], 0, d) : clampIdx(starts[i], -1, d - 1);
    const e = s > 0 ? clampIdx(ends[i], 0, d) : clampIdx(ends[i], -1, d - 1);
    begin[a] = b;
    step[a] = s;
    count[a] = Math.max(0, Math.ceil((e - b) / s));
  });
  const xs = stridesOf(x.shape);
  const n = sizeOf(count);
  const y = alloc(n);
  const cs = stridesOf(count);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let d = 0; d < rank; d++) off += (begin[d] + (Math.floor(i / cs[d]) % count[d]) * step[d]) * xs[d];
    y[i] = x.data[off];
  }
  return { shape: count, data: y, dtype: x.dtype };
}

export function expand(x: FTensor, shapeT: FTensor): FTensor {
  const shape = broadcast(x.shape, intsOf(shapeT));
  alloc(sizeOf(shape));
  const map = broadcastMap(x.shape, shape);
  return { shape, data: Float64Array.from(map, (i) => x.data[i]), dtype: x.dtype };
}

export function tile(x: FTensor, reps: FTensor): FTensor {
  const r = intsOf(reps);
  const shape = x.shape.map((d, i) => d * r[i]);
  const xs = stridesOf(x.shape);
  const os = stridesOf(shape);
  const y = alloc(sizeOf(shape));
  for (let i = 0; i < y.length; i++) {
    let off = 0;
    for (let d = 0; d < shape.length; d++) off += ((Math.floor(i / os[d]) % shape[d]) % x.shape[d]) * xs[d];
    y[i] = x.data[off];
  }
  return { shape, data: y, dtype: x.dtype };
}

export function range(start: FTensor, limit: FTensor, delta: FTensor): FTensor {
  const s = start.data[0];
  const d = delta.data[0];
  const n = Math.max(0, Math.ceil((limit.data[0] - s) / d));
  const data = alloc(n);
  for (let i = 0; i < n; i++) data[i] = s + i * d;
  return { shape: [n], data, dtype: start.dtype };
}

export function constantOfShape(node: OnnxNode, shapeT: FTensor): FTensor {
  const shape = intsOf(shapeT);
  const v = attrTensor(node, 'value');
  const fill = v ? v.data[0] : 0;
  return { shape, data: alloc(sizeOf(shape)).fill(fill), dtype: v ? v.dtype : 'float' };
}

export function split(node: OnnxNode, x: FTensor, splitT: FTensor | undefined, nOut: number): FTensor[] {
  const axis = normAxis(attrInt(node, 'axis', 0), x.shape.length);
  const sizes = splitT
    ? intsOf(splitT)
    : (attrInts(node, 'split') ?? new Array(nOut).fill(Math.ceil(x.shape[axis] / nOut)));
  const outs: FTensor[] = [];
  let start = 0;
  for (const s of sizes) {
    const len = Math.min(s, x.shape[axis] - start);
    const starts = { shape: [1], data: Float64Array.of(start), dtype: 'int' as const };
    const ends = { shape: [1], data: Float64Array.of(start + len), dtype: 'int' as const };
    const axes = { shape: [1], data: Float64Array.of(axis), dtype: 'int' as const };
    outs.push(slice(node, x, [x, starts, ends, axes], 13));
    start += len;
  }
  return outs;
}

/** Constant-mode Pad; the pads of every axis (begin..., end...). */
export function padAmounts(
  node: OnnxNode,
  rank: number,
  padsT: FTensor | undefined,
  opset: number,
): number[] {
  const pads = opset < 11 ? attrInts(node, 'pads') : padsT ? intsOf(padsT) : undefined;
  if (!pads || pads.length !== 2 * rank) bad(node, 'pads must list a begin and an end for every axis.');
  return pads;
}

export function pad(node: OnnxNode, x: FTensor, ins: (FTensor | undefined)[], opset: number): FTensor {
  const mode = node.attrs.get('mode') ?? 'constant';
  if (mode !== 'constant')
    throw new UnsupportedOpError(`Node "${node.name}" (Pad): mode "${String(mode)}" is not supported.`);
  const rank = x.shape.length;
  const pads = padAmounts(node, rank, ins[1], opset);
  if (ins[3]) throw new UnsupportedOpError(`Node "${node.name}" (Pad): the axes input is not supported.`);
  const value = opset < 11 ? attrFloat(node, 'value', 0) : ins[2] ? ins[2].data[0] : 0;
  const shape = x.shape.map((d, i) => d + pads[i] + pads[i + rank]);
  if (shape.some((d) => d < 0)) bad(node, 'negative output size.');
  const y = alloc(sizeOf(shape)).fill(value);
  const os = stridesOf(shape);
  const xs = stridesOf(x.shape);
  for (let i = 0; i < x.data.length; i++) {
    let off = 0;
    let inside = true;
    for (let d = 0; d < rank; d++) {
      const c = (Math.floor(i / xs[d]) % x.shape[d]) + pads[d];
      if (c < 0 || c >= shape[d]) inside = false;
      off += c * os[d];
    }
    if (inside) y[off] = x.data[i];
  }
  return { shape, data: y, dtype: x.dtype };
}

export function transpose(node: OnnxNode, x: FTensor): FTensor {
  const perm = attrInts(node, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  return permute(x, perm);
}
