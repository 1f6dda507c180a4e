// Pooling, reshapes, transposes, concatenation, embedding lookups and padding.
import { attrInt, attrInts } from '../float/attrs.ts';
import { poolWindow } from '../float/nn.ts';
import { padAmounts } from '../float/shape.ts';
import { normAxis } from '../float/tensor.ts';
import type { OnnxNode } from '../parse.ts';
import type { Lowering } from './context.ts';
import { lowerGatherSelect, lowerSelect } from './select.ts';

export function lowerPool(L: Lowering, node: OnnxNode): void {
  if (node.outputs.slice(1).some((o) => o && L.consumers(o).length > 0))
    L.fail(node, 'the Indices output is not supported.');
  const xName = node.inputs[0];
  const win = poolWindow(node, L.shape(xName));
  const out = node.outputs[0];
  const isMax = node.opType.endsWith('MaxPool');
  const pending = L.pendingPads.get(xName);
  let countIncludePad = node.opType === 'AveragePool' && attrInt(node, 'count_include_pad', 0) === 1;
  const pads = [...win.pads] as [number, number, number, number];
  let x = xName;
  if (pending) {
    if (isMax) L.fail(node, 'explicit padding before max pooling is not supported.');
    if (!countIncludePad && pads.some((p) => p !== 0))
      L.fail(node, 'explicit padding combined with count_include_pad=0 is not supported.');
    countIncludePad = true;
    x = pending.x;
    for (let i = 0; i < 4; i++) pads[i] += pending.pads[i];
  }
  x = L.use(x);
  if (isMax) {
    L.define(node, out, L.shape(out), { kind: 'same', as: x });
    L.emit({ kind: 'maxpool', name: node.name, x, out, kernel: win.kernel, strides: win.strides, pads });
  } else {
    L.define(node, out, L.shape(out), L.probe(out));
    L.emit({
      kind: 'avgpool',
      name: node.name,
      x,
      out,
      kernel: win.kernel,
      strides: win.strides,
      pads,
      countIncludePad,
    });
  }
}

/** Pad: zero padding folds into a following Conv or AveragePool; other constant padding is a select. */
export function lowerPad(L: Lowering, node: OnnxNode): void {
  const x = node.inputs[0];
  const rank = L.shape(x).length;
  const padsT = node.inputs[1] ? L.constOf(node.inputs[1]) : undefined;
  if (node.inputs[1] && !padsT) L.fail(node, 'the pads must be constant.');
  const mode = node.attrs.get('mode') ?? 'constant';
  const valueT = node.inputs[2] ? L.constOf(node.inputs[2]) : undefined;
  const value = L.g.opset < 11 ? Number(node.attrs.get('value') ?? 0) : valueT ? valueT.data[0] : 0;
  if (node.inputs[3]) L.fail(node, 'the axes input is not supported.');
  const pads = padAmounts(node, rank, padsT, L.g.opset);
  if (pads.every((p) => p === 0)) {
    L.alias(node.outputs[0], x);
    return;
  }
  const next = L.soleConsumer(node.outputs[0]);
  const spatialOnly = rank === 4 && pads.every((p, i) => p >= 0 && (i % 4 >= 2 || p === 0));
  const foldable =
    mode === 'constant' &&
    value === 0 &&
    !!next &&
    ['Conv', 'AveragePool'].includes(next.opType) &&
    next.inputs[0] === node.outputs[0] &&
    spatialOnly;
  // Zero padding right before a Conv or AveragePool is free inside it; any other is a select.
  if (!foldable) {
    lowerSelect(L, node);
    return;
  }
  L.pendingPads.set(node.outputs[0], { x, pads: [pads[2], pads[3], pads[6], pads[7]] });
}

/** Flatten, Reshape, Squeeze, Unsqueeze: same bytes, new shape. */
export function lowerReshape(L: Lowering, node: OnnxNode): void {
  const x = L.use(node.inputs[0]);
  const out = node.outputs[0];
  const shape = L.shape(out);
  L.define(node, out, shape, { kind: 'same', as: x });
  L.emit({ kind: 'reshape', name: node.name, x, out, shape: shape.slice(1) });
}

export function lowerTranspose(L: Lowering, node: OnnxNode): void {
  const inShape = L.shape(node.inputs[0]);
  const perm = attrInts(node, 'perm') ?? inShape.map((_, i) => inShape.length - 1 - i);
  const x = L.use(node.inputs[0]);
  const out = node.outputs[0];
  const shape = L.shape(out);
  if (perm[0] === 0) {
    L.define(node, out, shape, { kind: 'same', as: x });
    L.emit({ kind: 'transpose', name: node.name, x, out, perm });
    return;
  }
  // Moving only axes of size 1 around is a reshape.
  const moved = perm.filter((p) => inShape[p] !== 1);
  if (moved.every((p, i) => i === 0 || p > moved[i - 1])) {
    L.define(node, out, shape, { kind: 'same', as: x });
    L.emit({ kind: 'reshape', name: node.name, x, out, shape: shape.slice(1) });
    return;
  }
  // A transpose that moves axis 0 (sequence-first attention); batch.ts lifts it past the batch axis.
  L.define(node, out, shape, { kind: 'same', as: x });
  L.emit({ kind: 'transpose', name: node.name, x, out, perm });
}

export function lowerConcat(L: Lowering, node: OnnxNode): void {
  const ins = node.inputs.filter((i) => i);
  if (ins.some((i) => L.isConst(i)))
    L.fail(node, 'concatenating constants with activations is not supported.');
  const rank = L.shape(ins[0]).length;
  const axis = normAxis(attrInt(node, 'axis', 0), rank);
  const xs = ins.map((i) => L.use(i));
  const out = node.outputs[0];
  if (xs.length === 1) {
    L.alias(out, xs[0]);
    return;
  }
  L.define(node, out, L.shape(out), L.probe(out));
  L.emit({ kind: 'concat', name: node.name, xs, out, axis });
}

export function lowerGather(L: Lowering, node: OnnxNode): void {
  const [tName, idsName] = node.inputs;
  const table = L.constOf(tName);
  if (!table && L.isConst(idsName)) {
    lowerGatherSelect(L, node);
    return;
  }
  if (!table || L.isConst(idsName))
    L.fail(node, 'only embedding lookups (a constant table indexed by token ids) are supported.');
  if (table.shape.length !== 2 || normAxis(attrInt(node, 'axis', 0), 2) !== 0) {
    L.fail(node, 'the embedding table must be a matrix [V, D] indexed along axis 0.');
  }
  if (!L.g.intTensors.has(idsName)) L.fail(node, 'the indices must be integer token ids.');
  const ids = L.use(idsName);
  if (L.values.get(ids)?.quant.kind !== 'tokens')
    L.fail(node, 'the indices must come directly from the model input.');
  const out = node.outputs[0];
  L.define(node, out, L.shape(out), { kind: 'table', data: table.data });
  L.emit({ kind: 'gather', name: node.name, table, ids, out });
}
