// Slice, Split, Pad, Expand, Tile, nearest Resize and Gather at constant indices on activations.
// Each of these moves elements independently along every axis: output coordinate j on axis a reads input coordinate src_a[j] (or the pad
// value). Such a map is one `select` per axis that changes, a matmul by a constant 0/1 matrix over
// the last axis, which is exact (identity requantization, the input's own quantization) and runs
// on every backend and one-step verifier that matmul already has.
import { attrInt } from '../float/attrs.ts';
import { evalNode } from '../float/evaluate.ts';
import { swapLast } from '../float/nn.ts';
import { type FTensor, normAxis, sizeOf } from '../float/tensor.ts';
import type { OnnxNode } from '../parse.ts';
import type { Lowering } from './context.ts';

/** The longest axis a select may read or write; its constant matrix has K * N entries. */
const MAX_SELECT_AXIS = 4096;

function transpose(L: Lowering, node: OnnxNode, x: string, perm: number[], out?: string): string {
  const inShape = L.shape(x);
  const name = out ?? L.fresh(`${x}/transpose`);
  L.define(
    node,
    name,
    perm.map((p) => inShape[p]),
    { kind: 'same', as: x },
  );
  L.emit({ kind: 'transpose', name: `${node.name}/transpose`, x, out: name, perm });
  return name;
}

/** out[..., j] = x[..., src[j]] along `axis`, or the pad value where src[j] = -1. */
function emitSelect(
  L: Lowering,
  node: OnnxNode,
  x: string,
  axis: number,
  src: Int32Array,
  pad: number,
  out?: string,
): string {
  const shape = L.shape(x);
  const rank = shape.length;
  if (shape[axis] > MAX_SELECT_AXIS || src.length > MAX_SELECT_AXIS)
    L.fail(node, `axis ${axis} is longer than ${MAX_SELECT_AXIS}.`);
  if (axis !== rank - 1) {
    const perm = swapLast(rank, axis);
    const moved = transpose(L, node, x, perm);
    return transpose(L, node, emitSelect(L, node, moved, rank - 1, src, pad), perm, out);
  }
  const name = out ?? L.fresh(`${x}/select`);
  L.define(node, name, [...shape.slice(0, -1), src.length], { kind: 'same', as: x });
  L.emit({ kind: 'select', name: node.name, x, out: name, src, pad });
  return name;
}

/** Input coordinate + 1 along `axis` (0 stands for the pad value), as a float tensor of `shape`. */
function coordinates(shape: number[], axis: number): FTensor {
  const n = sizeOf(shape);
  const inner = sizeOf(shape.slice(axis + 1));
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = (Math.floor(i / inner) % shape[axis]) + 1;
  return { shape, data, dtype: 'float' };
}

export function lowerSelect(L: Lowering, node: OnnxNode): void {
  const xName = node.inputs[0];
  if (L.dynInputs(node).length !== 1 || L.dynInputs(node)[0] !== xName)
    L.fail(
      node,
      'only the data input may be an activation; sizes, starts, pads and repeats must be constant.',
    );
  let pad = 0;
  if (node.opType === 'Pad') {
    const mode = node.attrs.get('mode') ?? 'constant';
    if (mode !== 'constant') L.fail(node, `mode "${String(mode)}" is not supported (only constant).`);
    const valueT = node.inputs[2] ? L.constOf(node.inputs[2]) : undefined;
    pad = L.g.opset < 11 ? Number(node.attrs.get('value') ?? 0) : valueT ? valueT.data[0] : 0;
    if (!Number.isFinite(pad)) L.fail(node, 'the pad value must be finite.');
  }
  const consts = node.inputs.map((i, k) => (k > 0 && i ? L.constOf(i) : undefined));
  let x = L.use(xName);
  let inShape = L.shape(xName);
  const outs = node.outputs.filter((o) => o);
  const outRank = L.shape(outs[0]).length;
  if (outRank > inShape.length) {
    // Expand to a higher rank: the missing leading axes have size 1 first.
    const shape = [...new Array<number>(outRank - inShape.length).fill(1), ...inShape];
    const name = L.fresh(`${x}/rank`);
    L.define(node, name, shape, { kind: 'same', as: x });
    L.emit({ kind: 'reshape', name: `${node.name}/reshape`, x, out: name, shape: shape.slice(1) });
    x = name;
    inShape = shape;
  }
  const rank = inShape.length;
  // Index maps come from the float op itself applied to coordinate tensors (pad value 0), so they
  // follow the float evaluator's reading of starts, ends, steps, pads and broadcasting exactly.
  const maps: FTensor[][] = [];
  for (let a = 0; a < rank; a++) {
    const ins: (FTensor | undefined)[] = [coordinates(inShape, a), ...consts.slice(1)];
    if (node.opType === 'Pad' && ins.length > 2) ins[2] = undefined;
    const probe = { ...node, attrs: new Map(node.attrs) };
    if (node.opType === 'Pad') probe.attrs.delete('value');
    maps.push(evalNode(probe, ins, L.g.opset));
  }
  node.outputs.forEach((o, k) => {
    if (!o) return;
    const outShape = L.shape(o);
    if (outShape.length !== rank) L.fail(node, 'the output rank differs from the input rank.');
    let cur = x;
    const steps: { axis: number; src: Int32Array }[] = [];
    for (let a = 0; a < rank; a++) {
      const m = maps[a][k];
      const inner = sizeOf(outShape.slice(a + 1));
      // Padding on another axis reads 0 there, so take the largest entry of each slice.
      const src = new Int32Array(outShape[a]).fill(-1);
      for (let i = 0; i < m.data.length; i++) {
        const j = Math.floor(i / inner) % outShape[a];
        src[j] = Math.max(src[j], m.data[i] - 1);
      }
      const identity = src.length === inShape[a] && src.every((s, j) => s === j);
      if (!identity) steps.push({ axis: a, src });
    }
    if (steps.length === 0) {
      L.alias(o, cur);
      return;
    }
    steps.forEach((s, i) => {
      cur = emitSelect(L, node, cur, s.axis, s.src, pad, i === steps.length - 1 ? o : undefined);
    });
  });
}

/** Gather of an activation at constant indices (e.g. the [CLS] row, x[:, 0]): a select, then a reshape. */
export function lowerGatherSelect(L: Lowering, node: OnnxNode): void {
  const [xName, idxName] = node.inputs;
  const idx = L.constOf(idxName) as FTensor;
  const shape = L.shape(xName);
  const axis = normAxis(attrInt(node, 'axis', 0), shape.length);
  const len = shape[axis];
  const src = Int32Array.from(idx.data, (v) => {
    const i = v < 0 ? v + len : v;
    if (!Number.isInteger(i) || i < 0 || i >= len) L.fail(node, `index ${v} is out of range [0, ${len}).`);
    return i;
  });
  if (src.length === 0) L.fail(node, 'the indices are empty.');
  const out = node.outputs[0];
  const x = L.use(xName);
  const picked = emitSelect(L, node, x, axis, src, 0);
  L.define(node, out, L.shape(out), { kind: 'same', as: picked });
  L.emit({ kind: 'reshape', name: `${node.name}/reshape`, x: picked, out, shape: L.shape(out).slice(1) });
}
