// Softmax, LayerNormalization (native and the decomposed form of opset < 17 exports) and
// mean/sum reductions.
import { attrFloat, attrInt } from '../float/attrs.ts';
import { reduceAxes, swapLast } from '../float/nn.ts';
import { broadcastMap, isUniform, normAxis, sizeOf } from '../float/tensor.ts';
import type { OnnxNode } from '../parse.ts';
import type { Lowering } from './context.ts';
import { axisVector } from './linear.ts';

function reshapeTo(L: Lowering, node: OnnxNode, x: string, shape: number[], out?: string): string {
  const name = out ?? L.fresh(`${x}/reshape`);
  L.define(node, name, shape, { kind: 'same', as: x });
  L.emit({ kind: 'reshape', name: `${node.name}/reshape`, x, out: name, shape: shape.slice(1) });
  return name;
}

function transposeTo(L: Lowering, node: OnnxNode, x: string, perm: number[], out?: string): string {
  const inShape = L.shape(x);
  const shape = perm.map((p) => inShape[p]);
  const name = out ?? L.fresh(`${x}/transpose`);
  L.define(node, name, shape, { kind: 'same', as: x });
  L.emit({ kind: 'transpose', name: `${node.name}/transpose`, x, out: name, perm });
  return name;
}

export function lowerSoftmax(L: Lowering, node: OnnxNode): void {
  const xName = node.inputs[0];
  const shape = L.shape(xName);
  const rank = shape.length;
  const axis = normAxis(attrInt(node, 'axis', L.g.opset < 13 ? 1 : -1), rank);
  const out = node.outputs[0];
  let x = L.use(xName);
  const soft = (input: string, name?: string) => {
    const y = name ?? L.fresh(`${out}/softmax`);
    L.define(node, y, L.shape(input), { kind: 'softmax' });
    L.emit({ kind: 'softmax', name: node.name, x: input, out: y });
    return y;
  };
  if (axis === rank - 1) {
    soft(x, out);
  } else if (L.g.opset < 13) {
    x = reshapeTo(L, node, x, [...shape.slice(0, axis), sizeOf(shape.slice(axis))]);
    reshapeTo(L, node, soft(x), shape, out);
  } else {
    const perm = swapLast(rank, axis);
    transposeTo(L, node, soft(transposeTo(L, node, x, perm)), perm, out);
  }
}

/** Emits a layernorm over the last axis of `x` (merging trailing axes from `axis` if needed). */
function emitLayerNorm(
  L: Lowering,
  node: OnnxNode,
  xName: string,
  axis: number,
  gamma: Float64Array,
  beta: Float64Array,
  eps: number,
  out: string,
): void {
  const shape = L.shape(xName);
  const D = sizeOf(shape.slice(axis));
  // Later constant scaling/shifting along the last axis folds into gamma and beta.
  let cur = out;
  if (axis === shape.length - 1) {
    for (;;) {
      const c = L.soleConsumer(cur);
      const k = c && ['Mul', 'Add', 'Sub', 'Div'].includes(c.opType) ? L.otherConst(c, cur) : undefined;
      const v = c && k ? axisVector(k.value, shape, axis) : null;
      if (!c || !k || !v || (k.index === 0 && (c.opType === 'Sub' || c.opType === 'Div'))) break;
      for (let i = 0; i < D; i++) {
        if (c.opType === 'Mul') {
          gamma[i] *= v[i];
          beta[i] *= v[i];
        } else if (c.opType === 'Div') {
          gamma[i] /= v[i];
          beta[i] /= v[i];
        } else beta[i] += c.opType === 'Add' ? v[i] : -v[i];
      }
      L.claim(c);
      cur = c.outputs[0];
    }
  }
  const fused = L.fuseAct(cur);
  let x = L.use(xName);
  const flat = axis !== shape.length - 1;
  if (flat) x = reshapeTo(L, node, x, [...shape.slice(0, axis), D]);
  const y = flat ? L.fresh(`${fused.out}/layernorm`) : fused.out;
  L.define(node, y, flat ? [...shape.slice(0, axis), D] : shape, L.probe(fused.out));
  L.emit({ kind: 'layernorm', name: node.name, x, out: y, gamma, beta, eps, act: fused.act });
  if (flat) reshapeTo(L, node, y, shape, fused.out);
}

export function lowerLayerNorm(L: Lowering, node: OnnxNode): void {
  const [xName, sName, bName] = node.inputs;
  const shape = L.shape(xName);
  const axis = normAxis(attrInt(node, 'axis', -1), shape.length);
  const scale = L.constOf(sName);
  const bias = bName ? L.constOf(bName) : undefined;
  if (!scale || (bName && !bias)) L.fail(node, 'scale and bias must be constant.');
  const inner = shape.slice(axis);
  const D = sizeOf(inner);
  const sMap = broadcastMap(scale.shape, inner);
  const bMap = bias ? broadcastMap(bias.shape, inner) : null;
  const gamma = Float64Array.from({ length: D }, (_, i) => scale.data[sMap[i]]);
  const beta = Float64Array.from({ length: D }, (_, i) => (bias && bMap ? bias.data[bMap[i]] : 0));
  emitLayerNorm(L, node, xName, axis, gamma, beta, attrFloat(node, 'epsilon', 1e-5), node.outputs[0]);
}

function lastAxisMean(L: Lowering, node: OnnxNode | null | undefined, x: string): boolean {
  if (node?.opType !== 'ReduceMean' || node.inputs[0] !== x || attrInt(node, 'keepdims', 1) !== 1)
    return false;
  const rank = L.shape(x).length;
  const axesIn = node.inputs[1] ? L.constOf(node.inputs[1]) : undefined;
  if (node.inputs[1] && !axesIn) return false;
  const axes = reduceAxes(node, rank, axesIn);
  return axes.length === 1 && axes[0] === rank - 1;
}

/**
 * x - mean(x) -> d; d^2 (Pow 2 or d*d) -> mean -> + eps -> Sqrt -> s; d / s [* gamma] [+ beta].
 * Returns false (claiming nothing) unless the whole pattern matches.
 */
export function tryDecomposedLayerNorm(L: Lowering, rm: OnnxNode): boolean {
  const x = rm.inputs[0];
  if (!lastAxisMean(L, rm, x)) return false;
  const mean = rm.outputs[0];
  const sub = L.soleConsumer(mean);
  if (sub?.opType !== 'Sub' || sub.inputs[0] !== x || sub.inputs[1] !== mean) return false;
  const d = sub.outputs[0];
  const dc = L.consumers(d);
  if (dc.length !== 2 || d === L.g.output) return false;
  const isSquare = (n: OnnxNode) => {
    if (n.opType === 'Mul') return n.inputs[0] === d && n.inputs[1] === d;
    if (n.opType !== 'Pow' || n.inputs[0] !== d) return false;
    const e = L.constOf(n.inputs[1]);
    return !!e && isUniform(e) && e.data[0] === 2;
  };
  const sq = dc.find(isSquare);
  const div = dc.find((n) => n !== sq && n.opType === 'Div' && n.inputs[0] === d);
  if (!sq || !div) return false;
  const rm2 = L.soleConsumer(sq.outputs[0]);
  if (!lastAxisMean(L, rm2, sq.outputs[0]) || !rm2) return false;
  const add = L.soleConsumer(rm2.outputs[0]);
  const epsT = add?.opType === 'Add' ? L.otherConst(add, rm2.outputs[0]) : undefined;
  if (!add || !epsT || !isUniform(epsT.value)) return false;
  const sqrt = L.soleConsumer(add.outputs[0]);
  if (sqrt?.opType !== 'Sqrt') return false;
  if (L.soleConsumer(sqrt.outputs[0]) !== div || div.inputs[1] !== sqrt.outputs[0]) return false;
  L.claim(rm, sub, sq, rm2, add, sqrt, div);
  const D = L.shape(x)[L.shape(x).length - 1];
  const gamma = new Float64Array(D).fill(1);
  const beta = new Float64Array(D);
  emitLayerNorm(L, rm, x, L.shape(x).length - 1, gamma, beta, epsT.value.data[0], div.outputs[0]);
  return true;
}

export function lowerReduce(L: Lowering, node: OnnxNode): void {
  const xName = node.inputs[0];
  const shape = L.shape(xName);
  const axesIn = node.inputs[1] ? L.constOf(node.inputs[1]) : undefined;
  if (node.inputs[1] && !axesIn) L.fail(node, 'the axes must be constant.');
  const axes = reduceAxes(node, shape.length, axesIn);
  if (axes.length === 0) {
    L.alias(node.outputs[0], xName);
    return;
  }
  if (axes.some((a, i) => i > 0 && a !== axes[i - 1] + 1))
    L.fail(node, 'the reduced axes must be consecutive.');
  const out = node.outputs[0];
  const outShape = L.shape(out);
  const sum = node.opType === 'ReduceSum';
  let x = L.use(xName);
  const a0 = axes[0];
  const merged = axes.length > 1;
  if (merged) {
    const len = sizeOf(axes.map((a) => shape[a]));
    x = reshapeTo(L, node, x, [...shape.slice(0, a0), len, ...shape.slice(axes[axes.length - 1] + 1)]);
  }
  const keep = !merged && attrInt(node, 'keepdims', 1) === 1;
  const y = merged ? L.fresh(`${out}/reduce`) : out;
  const yShape = L.shape(x).filter((_, i) => i !== a0);
  L.define(node, y, keep ? outShape : yShape, L.probe(out));
  L.emit({ kind: 'reducemean', name: node.name, x, out: y, axis: a0, keepDims: keep, sum });
  if (merged) reshapeTo(L, node, y, outShape, out);
}
