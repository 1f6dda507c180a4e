// Which elements, and so which 1024-byte chunks, of each input one output element of one op reads.
// This mirrors the operand gathering of contracts/verify (LinearOps, PointOps, MoveOps) exactly:
// the verifier reads these elements and nothing else, so these chunks are the minimal witness.
//
// Padding taps of conv and pooling windows read no input; conv reads the whole weight slice of its
// output channel (contiguous), including the weights that meet padding taps. Softmax reads its whole row and the whole
// exp table (one chunk), lut the whole 256-byte table (one chunk), layernorm its whole row.
//
// Element indices are positions in the committed element order of each input (src/engine/layout.ts):
// the row-major flat index for every tensor but a constant matmul weight, which is committed
// column-major, so that the K weights of one output column are the contiguous positions
// [j*K, (j+1)*K) of its [...,N,K] bytes.
import { CHUNK_BYTES } from '../commit/tensorRoot.ts';
import { batchedShape, dtypeBytes, elementCount, type Model, type Op } from '../engine/graph.ts';
import { stridesOf, type Tensor } from '../engine/tensor.ts';

/** The value of every tensor of a run: the model input, the constants, and the trace (op outputs). */
export interface RunValues {
  model: Model;
  input: Tensor;
  trace: readonly Tensor[];
}

/** Run batch size (dimension 0 of the input). */
export function runBatch(run: RunValues): number {
  return run.input.shape[0];
}

/** The shape of tensor `id` at the run's batch size. */
export function shapeAt(model: Model, id: number, batch: number): number[] {
  return batchedShape(model.tensors[id], batch);
}

/** The index of the op that produces tensor `id`, or -1 for the input and constants. */
export function producerOf(model: Model, id: number): number {
  return model.ops.findIndex((op) => op.output === id);
}

/** The data of tensor `id` in the run. */
export function tensorValue(run: RunValues, id: number): Tensor {
  const { model } = run;
  const info = model.tensors[id];
  if (id === model.input) return run.input;
  const data = model.consts.get(id);
  if (data) return { dtype: info.dtype, shape: info.shape, data, zeroPoint: info.zeroPoint };
  const k = producerOf(model, id);
  if (k < 0 || !run.trace[k]) throw new RangeError(`Tensor ${id} ("${info.name}") has no value in the run.`);
  return run.trace[k];
}

/** The flat index in a tensor of shape `inShape` broadcast to `outShape` (numpy rules) of output `flat`. */
export function broadcastIndex(
  inShape: readonly number[],
  outShape: readonly number[],
  flat: number,
): number {
  const lead = outShape.length - inShape.length;
  let rest = flat;
  let stride = 1;
  let index = 0;
  for (let ax = outShape.length - 1; ax >= lead; ax--) {
    const d = outShape[ax];
    const di = inShape[ax - lead];
    const i = rest % d;
    rest = Math.floor(rest / d);
    if (di !== 1) index += i * stride;
    stride *= di;
  }
  return index;
}

const range = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i);

/**
 * For each input of op k (in op order), the flat element indices that output element `element`
 * reads. Gather reads the ids first, so it needs the run's values.
 */
export function neededElements(
  model: Model,
  input: Tensor,
  trace: readonly Tensor[],
  k: number,
  element: number,
): number[][] {
  const run: RunValues = { model, input, trace };
  const op = model.ops[k];
  if (!op) throw new RangeError(`Op ${k} does not exist; the model has ${model.ops.length} ops.`);
  const batch = runBatch(run);
  const shapes = op.inputs.map((id) => shapeAt(model, id, batch));
  const out = shapeAt(model, op.output, batch);
  if (!Number.isInteger(element) || element < 0 || element >= elementCount(out)) {
    throw new RangeError(`Element ${element} is outside op ${k}'s output of ${elementCount(out)} elements.`);
  }
  return needs(run, op, shapes, out, element);
}

function needs(run: RunValues, op: Op, shapes: number[][], out: number[], e: number): number[][] {
  switch (op.type) {
    case 'conv':
      return convNeeds(op, shapes, out, e);
    case 'matmul':
      return matmulNeeds(run, op, shapes, out, e);
    case 'add':
    case 'mul':
      return [[broadcastIndex(shapes[0], out, e)], [broadcastIndex(shapes[1], out, e)]];
    case 'lut':
      return [[e], range(0, 256)];
    case 'maxpool':
    case 'avgpool':
      return [poolNeeds(op, shapes[0], out, e)];
    case 'reducemean': {
      const x = shapes[0];
      const len = x[op.axis];
      const inner = elementCount(x.slice(op.axis + 1));
      const o = Math.floor(e / inner);
      return [range(0, len).map((r) => (o * len + r) * inner + (e % inner))];
    }
    case 'softmax': {
      const L = shapes[0][shapes[0].length - 1];
      return [range(e - (e % L), L), range(0, 256)];
    }
    case 'layernorm': {
      const D = shapes[0][shapes[0].length - 1];
      const i = e % D;
      return [range(e - i, D), [i], [i]];
    }
    case 'gather': {
      const [V, D] = shapes[0];
      const p = Math.floor(e / D);
      const id = tensorValue(run, op.inputs[1]).data[p];
      if (id < 0 || id >= V) throw new RangeError(`Token id ${id} at position ${p} is outside [0, ${V}).`);
      return [[id * D + (e % D)], [p]];
    }
    case 'reshape':
      return [[e]];
    case 'transpose':
      return [[transposeSource(shapes[0], op.perm, e)]];
    case 'concat': {
      const inner = elementCount(out.slice(op.axis + 1));
      const rowLen = out[op.axis] * inner;
      const o = Math.floor(e / rowLen);
      let r = e % rowLen;
      return shapes.map((s) => {
        const len = s[op.axis] * inner;
        const hit = r >= 0 && r < len ? [o * len + r] : [];
        r -= len;
        return hit;
      });
    }
  }
}

function convNeeds(
  op: Extract<Op, { type: 'conv' }>,
  shapes: number[][],
  out: number[],
  e: number,
): number[][] {
  const [, C, H, W] = shapes[0];
  const [M, Cg, KH, KW] = shapes[1];
  const [, , OH, OW] = out;
  const ox = e % OW;
  const oy = Math.floor(e / OW) % OH;
  const m = Math.floor(e / (OW * OH)) % M;
  const n = Math.floor(e / (OW * OH * M));
  const g = Math.floor(m / (M / op.group));
  // The weights: the whole slice w[m] (the verifier copies it in one piece).
  const taps = Cg * KH * KW;
  const xs: number[] = [];
  for (let c = 0; c < Cg; c++) {
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        const iy = oy * op.strides[0] - op.pads[0] + ky * op.dilations[0];
        const ix = ox * op.strides[1] - op.pads[1] + kx * op.dilations[1];
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
        xs.push(((n * C + g * Cg + c) * H + iy) * W + ix);
      }
    }
  }
  const q = elementCount(shapes[3]) === 1 ? 0 : m;
  return [xs, range(m * taps, taps), [m], [q], [q]];
}

function matmulNeeds(
  run: RunValues,
  op: Extract<Op, { type: 'matmul' }>,
  shapes: number[][],
  out: number[],
  e: number,
): number[][] {
  const [a, b] = shapes;
  const r = out.length;
  const M = out[r - 2];
  const N = out[r - 1];
  const K = a[a.length - 1];
  const j = e % N;
  const i = Math.floor(e / N) % M;
  const t = Math.floor(e / (N * M));
  const lead = out.slice(0, -2);
  const aRow = (broadcastIndex(a.slice(0, -2), lead, t) * M + i) * K;
  const bBase = broadcastIndex(b.slice(0, -2), lead, t) * K * N;
  const q = elementCount(shapeAt(run.model, op.inputs[3], 1)) === 1 ? 0 : j;
  const bCol =
    run.model.tensors[op.inputs[1]].kind === 'const'
      ? range(bBase + j * K, K)
      : range(0, K).map((k) => bBase + k * N + j);
  return [range(aRow, K), bCol, [j], [q], [q]];
}

function poolNeeds(
  op: Extract<Op, { type: 'maxpool' | 'avgpool' }>,
  x: number[],
  out: number[],
  e: number,
): number[] {
  const [, , H, W] = x;
  const [, , OH, OW] = out;
  const ox = e % OW;
  const oy = Math.floor(e / OW) % OH;
  const plane = Math.floor(e / (OW * OH));
  const top = oy * op.strides[0] - op.pads[0];
  const left = ox * op.strides[1] - op.pads[1];
  const idx: number[] = [];
  for (let iy = Math.max(0, top); iy < Math.min(H, top + op.kernel[0]); iy++) {
    for (let ix = Math.max(0, left); ix < Math.min(W, left + op.kernel[1]); ix++) {
      idx.push((plane * H + iy) * W + ix);
    }
  }
  return idx;
}

/** The flat index in x (shape inShape) of transpose output `flat`, output shape inShape[perm[k]]. */
function transposeSource(inShape: readonly number[], perm: readonly number[], flat: number): number {
  const strides = stridesOf(inShape);
  let rest = flat;
  let index = 0;
  for (let ax = perm.length - 1; ax >= 0; ax--) {
    const p = perm[ax];
    index += (rest % inShape[p]) * strides[p];
    rest = Math.floor(rest / inShape[p]);
  }
  return index;
}

/** The sorted distinct chunk indices holding `elements` of a tensor of element size `bytes`. */
export function chunksOf(elements: readonly number[], bytes: number): number[] {
  const set = new Set<number>();
  for (const i of elements) set.add(Math.floor((i * bytes) / CHUNK_BYTES));
  return [...set].sort((a, b) => a - b);
}

/** For each input of op k (in op order), the chunks that output element `element` needs. */
export function neededChunks(
  model: Model,
  input: Tensor,
  trace: readonly Tensor[],
  k: number,
  element: number,
): number[][] {
  const op = model.ops[k];
  return neededElements(model, input, trace, k, element).map((elements, i) =>
    chunksOf(elements, dtypeBytes(model.tensors[op.inputs[i]].dtype)),
  );
}
