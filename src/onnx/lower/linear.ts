// Conv, BatchNormalization, Gemm and MatMul, with the constant ops that fold into them (batch
// norm, bias adds, scalar and per-channel scaling) and a fused Relu/Clip.

import { attrFloat, attrInt } from '../float/attrs.ts';
import { windowOf } from '../float/geometry.ts';
import { bnAffine } from '../float/nn.ts';
import { broadcast, type FTensor, isUniform, permute, sameShape } from '../float/tensor.ts';
import type { OnnxNode } from '../parse.ts';
import type { Lowering } from './context.ts';

/** A constant that only varies along axis `axis` of `shape` (or not at all): its per-index values. */
export function axisVector(t: FTensor, shape: readonly number[], axis: number): Float64Array | null {
  let b: number[];
  try {
    b = broadcast(t.shape, shape);
  } catch {
    return null;
  }
  if (!sameShape(b, shape)) return null;
  const len = shape[axis];
  const aligned = t.shape.length - shape.length + axis;
  const ok = t.shape.every((d, i) => d === 1 || i === aligned);
  if (!ok) return null;
  const along = aligned >= 0 ? t.shape[aligned] : 1;
  return Float64Array.from({ length: len }, (_, i) => t.data[along === 1 ? 0 : i]);
}

interface Affine {
  /** Scale of output channel/column i. */
  scale: Float64Array;
  /** Offset added after the scale. */
  shift: Float64Array;
  out: string;
}

/**
 * Follows single-consumer Mul/Div/Add/Sub-by-constant (and BatchNormalization for convs) nodes after
 * `out`, whose constants vary only along `axis`, and composes them into one affine map.
 */
function foldAffine(
  L: Lowering,
  out: string,
  axis: number,
  len: number,
  allowBn: boolean,
  positiveOnly: boolean,
): Affine {
  const scale = new Float64Array(len).fill(1);
  const shift = new Float64Array(len);
  let cur = out;
  for (;;) {
    const c = L.soleConsumer(cur);
    if (!c) break;
    const shape = L.shape(cur);
    if (c.opType === 'BatchNormalization' && allowBn && c.inputs[0] === cur) {
      const p = [1, 2, 3, 4].map((k) => L.constOf(c.inputs[k]));
      if (p.some((t) => !t)) break;
      const { a, c: off } = bnAffine(c, ...(p as [FTensor, FTensor, FTensor, FTensor]));
      for (let i = 0; i < len; i++) {
        scale[i] *= a[i];
        shift[i] = shift[i] * a[i] + off[i];
      }
    } else if (['Mul', 'Div', 'Add', 'Sub'].includes(c.opType)) {
      const k = L.otherConst(c, cur);
      if (!k) break;
      const v = axisVector(k.value, shape, axis);
      if (!v || !sameShape(L.shape(c.outputs[0]), shape)) break;
      if (c.opType === 'Mul' || (c.opType === 'Div' && k.index === 1)) {
        const f = c.opType === 'Mul' ? v : v.map((d) => 1 / d);
        if (positiveOnly && !(isUniform({ shape: [len], data: f, dtype: 'float' }) && f[0] > 0)) break;
        for (let i = 0; i < len; i++) {
          scale[i] *= f[i];
          shift[i] *= f[i];
        }
      } else if (c.opType === 'Add' || (c.opType === 'Sub' && k.index === 1)) {
        for (let i = 0; i < len; i++) shift[i] += c.opType === 'Add' ? v[i] : -v[i];
      } else break;
    } else break;
    L.claim(c);
    cur = c.outputs[0];
  }
  return { scale, shift, out: cur };
}

/** Emits a conv (with everything that folds into it) reading `x` (the ONNX name). */
function emitConv(
  L: Lowering,
  node: OnnxNode,
  xName: string,
  w: FTensor,
  bias: Float64Array,
  win: { strides: [number, number]; pads: [number, number, number, number]; dilations: [number, number] },
  group: number,
  out: string,
): void {
  const M = w.shape[0];
  const per = w.data.length / M;
  const aff = foldAffine(L, out, 1, M, true, false);
  const W = new Float64Array(w.data);
  const B = new Float64Array(M);
  for (let m = 0; m < M; m++) {
    for (let i = 0; i < per; i++) W[m * per + i] *= aff.scale[m];
    B[m] = bias[m] * aff.scale[m] + aff.shift[m];
  }
  const fused = L.fuseAct(aff.out);
  const pending = L.pendingPads.get(xName);
  const pads = [...win.pads] as [number, number, number, number];
  let x = xName;
  if (pending) {
    x = pending.x;
    for (let i = 0; i < 4; i++) pads[i] += pending.pads[i];
  }
  x = L.use(x);
  L.define(node, fused.out, L.shape(fused.out), L.probe(fused.out));
  L.emit({
    kind: 'conv',
    name: node.name,
    x,
    out: fused.out,
    w: { shape: w.shape, data: W, dtype: 'float' },
    bias: B,
    strides: win.strides,
    pads,
    dilations: win.dilations,
    group,
    act: fused.act,
  });
}

export function lowerConv(L: Lowering, node: OnnxNode): void {
  const [xName, wName, bName] = node.inputs;
  const w = L.constOf(wName);
  if (!w || L.isConst(xName)) L.fail(node, 'the weights must be constant and the input dynamic.');
  if (w.shape.length !== 4) L.fail(node, 'only 2-D convolutions are supported.');
  const b = bName ? L.constOf(bName) : undefined;
  if (bName && !b) L.fail(node, 'the bias must be constant.');
  const M = w.shape[0];
  const win = windowOf(node, L.shape(xName), [w.shape[2], w.shape[3]]);
  const bias = b ? new Float64Array(b.data) : new Float64Array(M);
  emitConv(L, node, xName, w, bias, win, attrInt(node, 'group', 1), node.outputs[0]);
}

/** A per-channel affine map over axis 1 of an NCHW tensor, as a depthwise 1x1 conv. */
function emitChannelAffine(
  L: Lowering,
  node: OnnxNode,
  x: string,
  scale: Float64Array,
  shift: Float64Array,
): void {
  const C = scale.length;
  const w: FTensor = { shape: [C, 1, 1, 1], data: new Float64Array(scale), dtype: 'float' };
  const win = {
    strides: [1, 1] as [number, number],
    pads: [0, 0, 0, 0] as [number, number, number, number],
    dilations: [1, 1] as [number, number],
  };
  emitConv(L, node, x, w, new Float64Array(shift), win, C, node.outputs[0]);
}

export function lowerBatchNorm(L: Lowering, node: OnnxNode): void {
  const p = [1, 2, 3, 4].map((k) => L.constOf(node.inputs[k]));
  if (p.some((t) => !t)) L.fail(node, 'the normalization parameters must be constant.');
  if (L.shape(node.inputs[0]).length !== 4) L.fail(node, 'only NCHW inputs are supported.');
  const { a, c } = bnAffine(node, ...(p as [FTensor, FTensor, FTensor, FTensor]));
  emitChannelAffine(L, node, node.inputs[0], a, c);
}

/** Emits y = x @ w + bias (w [K, N] constant) with the foldable ops that follow. */
function emitDense(
  L: Lowering,
  node: OnnxNode,
  xName: string,
  w: FTensor,
  bias: Float64Array,
  out: string,
): void {
  const [K, N] = w.shape;
  const outShape = L.shape(out);
  const aff = foldAffine(L, out, outShape.length - 1, N, false, false);
  const W = new Float64Array(w.data);
  const B = new Float64Array(N);
  for (let j = 0; j < N; j++) {
    for (let k = 0; k < K; k++) W[k * N + j] *= aff.scale[j];
    B[j] = bias[j] * aff.scale[j] + aff.shift[j];
  }
  const fused = L.fuseAct(aff.out);
  const x = L.use(xName);
  L.define(node, fused.out, L.shape(fused.out), L.probe(fused.out));
  L.emit({
    kind: 'dense',
    name: node.name,
    x,
    out: fused.out,
    w: { shape: [K, N], data: W, dtype: 'float' },
    bias: B,
    act: fused.act,
  });
}

/** y = alpha * (a @ b) + bias with two activations. */
function emitMatMul(L: Lowering, node: OnnxNode, aName: string, bName: string, out: string): void {
  const shape = L.shape(out);
  const N = shape[shape.length - 1];
  const aff = foldAffine(L, out, shape.length - 1, N, false, true);
  const alpha = aff.scale[0];
  const hasBias = aff.shift.some((v) => v !== 0);
  const fused = L.fuseAct(aff.out);
  const a = L.use(aName);
  const b = L.use(bName);
  L.define(node, fused.out, L.shape(fused.out), L.probe(fused.out));
  L.emit({
    kind: 'matmul',
    name: node.name,
    a,
    b,
    out: fused.out,
    alpha,
    bias: hasBias ? aff.shift : null,
    act: fused.act,
  });
}

export function lowerGemm(L: Lowering, node: OnnxNode): void {
  const [aName, bName, cName] = node.inputs;
  const B = L.constOf(bName);
  if (!B || L.isConst(aName))
    L.fail(node, 'only Gemm of an activation with a constant weight matrix is supported.');
  if (attrInt(node, 'transA', 0)) L.fail(node, 'transA=1 is not supported.');
  if (L.shape(aName).length !== 2) L.fail(node, 'the input must be rank 2.');
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const W0 = attrInt(node, 'transB', 0) ? permute(B, [1, 0]) : B;
  const N = W0.shape[1];
  const W = { shape: W0.shape, data: W0.data.map((v) => v * alpha), dtype: 'float' as const };
  let bias = new Float64Array(N);
  if (cName) {
    const C = L.constOf(cName);
    const v = C ? axisVector(C, [1, N], 1) : null;
    if (!v) L.fail(node, 'the bias C must be a constant vector over the output columns.');
    bias = v.map((x) => x * beta);
  }
  emitDense(L, node, aName, W, bias, node.outputs[0]);
}

export function lowerMatMul(L: Lowering, node: OnnxNode): void {
  const [aName, bName] = node.inputs;
  if (L.isConst(aName))
    L.fail(
      node,
      'a constant left operand is not supported (only activation @ weights or activation @ activation).',
    );
  const B = L.constOf(bName);
  if (!B) {
    if (L.shape(aName).length < 2 || L.shape(bName).length < 2)
      L.fail(node, 'both operands must have rank >= 2.');
    emitMatMul(L, node, aName, bName, node.outputs[0]);
    return;
  }
  if (L.shape(aName).length < 2) L.fail(node, 'the activation operand must have rank >= 2.');
  const lead = B.shape.slice(0, -2);
  if (B.shape.length < 2 || lead.some((d) => d !== 1)) {
    L.fail(node, `the constant operand must be a matrix [K, N], got [${B.shape.join(',')}].`);
  }
  const [K, N] = B.shape.slice(-2);
  emitDense(
    L,
    node,
    aName,
    { shape: [K, N], data: B.data, dtype: 'float' },
    new Float64Array(N),
    node.outputs[0],
  );
}

/** Mul or Div of an activation by a constant that is not a scalar. */
export function lowerScaleByConst(L: Lowering, node: OnnxNode, x: string, c: FTensor): void {
  const shape = L.shape(x);
  const out = node.outputs[0];
  if (!sameShape(L.shape(out), shape)) L.fail(node, 'the constant operand must not enlarge the activation.');
  const inv = node.opType === 'Div';
  const last = shape.length - 1;
  const lastVec = shape.length >= 2 ? axisVector(c, shape, last) : null;
  if (lastVec) {
    const N = shape[last];
    const diag = new Float64Array(N * N);
    for (let j = 0; j < N; j++) diag[j * N + j] = inv ? 1 / lastVec[j] : lastVec[j];
    emitDense(L, node, x, { shape: [N, N], data: diag, dtype: 'float' }, new Float64Array(N), out);
    return;
  }
  const chanVec = shape.length === 4 ? axisVector(c, shape, 1) : null;
  if (chanVec) {
    emitChannelAffine(
      L,
      node,
      x,
      inv ? chanVec.map((v) => 1 / v) : chanVec,
      new Float64Array(chanVec.length),
    );
    return;
  }
  L.fail(
    node,
    `scaling by a constant of shape [${c.shape.join(',')}] is only supported along the last axis or the channel axis.`,
  );
}
