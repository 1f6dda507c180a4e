// Add, Sub, Mul and Div that are not part of an elementwise region: two different activations
// (residuals, gates) or an activation and a non-scalar constant (positional embeddings, scales).
import { attrInt } from '../float/attrs.ts';
import { type FTensor, normAxis } from '../float/tensor.ts';
import type { OnnxNode } from '../parse.ts';
import type { Lowering } from './context.ts';
import { lowerScaleByConst } from './linear.ts';
import { MASKED_AT_MOST } from './tokens.ts';
import type { QuantSpec } from './types.ts';

/** ln(2^17) < 12 < MASK_MARGIN: the softmax's exp table, 2^16 * exp(-d * scale), rounds to 0 there. */
const MASK_MARGIN = 13;

/** A lookup table computing -x exactly (zero point 255 - z, same scale). */
function negate(L: Lowering, node: OnnxNode, x: string): string {
  const name = `${x}#neg`;
  if (L.values.has(name)) return name;
  const src = L.use(x);
  L.define(node, name, L.shape(x), { kind: 'negated', of: src });
  L.emit({ kind: 'lut', name: `${node.name}/negate`, x: src, out: name, fn: (v) => -v });
  return name;
}

/** A lookup table computing 1/x, quantized over the calibrated range of 1/x. */
function reciprocal(L: Lowering, node: OnnxNode, x: string): string {
  const name = `${x}#reciprocal`;
  if (L.values.has(name)) return name;
  const src = L.use(x);
  L.define(
    node,
    name,
    L.shape(x),
    L.probe(x, (v) => 1 / v),
  );
  L.emit({ kind: 'lut', name: `${node.name}/reciprocal`, x: src, out: name, fn: (v) => 1 / v });
  return name;
}

/** The token table behind value `v` (through data movement), if it is one. */
function tokenTableBehind(L: Lowering, v: string): string | null {
  for (let cur: string | undefined = v; cur !== undefined; ) {
    if (L.tokenTables.has(cur)) return cur;
    const q: QuantSpec | undefined = L.values.get(cur)?.quant;
    cur = q?.kind === 'same' ? q.as : undefined;
  }
  return null;
}

/** True if `name` is not the graph output and only softmaxes over its last axis read it. */
export function onlySoftmaxReads(L: Lowering, name: string): boolean {
  const rank = L.shape(name).length;
  const readers = L.consumers(name);
  if (name === L.g.output || readers.length === 0) return false;
  return readers.every(
    (r) => r.opType === 'Softmax' && normAxis(attrInt(r, 'axis', L.g.opset < 13 ? 1 : -1), rank) === rank - 1,
  );
}

/**
 * scores + mask, where the mask tabulates token values of which some are "masked out" (-1e4,
 * -inf, ...) and the sum only feeds a softmax over its last axis. Calibrating the sum would
 * stretch its range down to -1e4 and leave no precision for the scores, so the sum is quantized
 * over the unmasked range instead (widened by MASK_MARGIN) and masked entries saturate to code 0:
 * exp(-MASK_MARGIN) rounds to 0 in the softmax's table, as exp(-1e4) is 0 in float.
 */
export function tryMaskedAdd(L: Lowering, node: OnnxNode, a: string, b: string): boolean {
  const out = node.outputs[0];
  if (!onlySoftmaxReads(L, out)) return false;
  for (const [scores, mask] of [
    [a, b],
    [b, a],
  ]) {
    const table = tokenTableBehind(L, mask);
    const v = table ? L.values.get(table) : undefined;
    if (!v || (v.quant.kind !== 'table' && v.quant.kind !== 'maskTable') || !L.g.shapes.has(scores)) continue;
    const data = v.quant.data;
    const unmasked = Array.from(data).filter((x) => x > MASKED_AT_MOST);
    if (unmasked.length === data.length) continue;
    const lo = Math.min(0, ...unmasked);
    const hi = Math.max(0, ...unmasked);
    const adds = v.quant.kind === 'maskTable' ? v.quant.adds : [];
    adds.push({ a: scores, out });
    v.quant = { kind: 'maskTable', data, adds };
    const probe = L.probe(scores);
    if (probe.kind !== 'calib') return false;
    L.define(node, out, L.shape(out), { kind: 'masked', probe: probe.probe, lo, hi, margin: MASK_MARGIN });
    L.emit({ kind: 'add', name: node.name, a: scores, b: mask, out, act: null });
    return true;
  }
  return false;
}

function emitAdd(L: Lowering, node: OnnxNode, a: string, b: string | FTensor): void {
  if (typeof b === 'string' && tryMaskedAdd(L, node, a, b)) return;
  const fused = L.fuseAct(node.outputs[0]);
  L.define(node, fused.out, L.shape(fused.out), L.probe(fused.out));
  L.emit({ kind: 'add', name: node.name, a, b, out: fused.out, act: fused.act });
}

/** Elementwise product of two activations as a batched matmul with K = 1. */
function emitMul(L: Lowering, node: OnnxNode, a: string, b: string): void {
  const sa = L.shape(a);
  const sb = L.shape(b);
  if (sa.length !== sb.length)
    L.fail(node, `operands of rank ${sa.length} and ${sb.length}: equal ranks are required.`);
  const fused = L.fuseAct(node.outputs[0]);
  const outShape = L.shape(fused.out);
  const col = (x: string, s: number[]) => {
    const name = L.fresh(`${x}/col`);
    L.define(node, name, [...s, 1, 1], { kind: 'same', as: x });
    L.emit({ kind: 'reshape', name: `${node.name}/reshape`, x, out: name, shape: [...s.slice(1), 1, 1] });
    return name;
  };
  const a2 = col(a, sa);
  const b2 = col(b, sb);
  const mm = L.fresh(`${fused.out}/mm`);
  L.define(node, mm, [...outShape, 1, 1], L.probe(fused.out));
  L.emit({ kind: 'matmul', name: node.name, a: a2, b: b2, out: mm, alpha: 1, bias: null, act: fused.act });
  L.define(node, fused.out, outShape, { kind: 'same', as: mm });
  L.emit({ kind: 'reshape', name: `${node.name}/reshape`, x: mm, out: fused.out, shape: outShape.slice(1) });
}

export function lowerBinary(L: Lowering, node: OnnxNode): void {
  const op = node.opType === 'Sum' ? 'Add' : node.opType;
  const dyn = L.dynInputs(node);
  if (node.inputs.length !== 2 || !['Add', 'Sub', 'Mul', 'Div'].includes(op)) {
    L.fail(
      node,
      'only Add, Sub, Mul and Div combine two different activations (other binary ops need a scalar constant operand).',
    );
  }
  if (dyn.length === 1) {
    const x = dyn[0];
    const k = L.otherConst(node, x);
    if (!k) L.fail(node, 'unexpected operands.');
    if (op === 'Add' || (op === 'Sub' && k.index === 1)) {
      const c = op === 'Add' ? k.value : { ...k.value, data: k.value.data.map((v) => -v) };
      emitAdd(L, node, L.use(x), c);
    } else if (op === 'Sub') {
      emitAdd(L, node, negate(L, node, x), k.value);
    } else if (op === 'Mul' || (op === 'Div' && k.index === 1)) {
      lowerScaleByConst(L, node, x, k.value);
    } else {
      L.fail(node, 'division of a constant by a non-scalar activation expression is not supported.');
    }
    return;
  }
  const [a, b] = node.inputs;
  if (op === 'Add') emitAdd(L, node, L.use(a), L.use(b));
  else if (op === 'Sub') emitAdd(L, node, L.use(a), negate(L, node, b));
  else if (op === 'Mul') emitMul(L, node, L.use(a), L.use(b));
  else emitMul(L, node, L.use(a), reciprocal(L, node, b));
}
