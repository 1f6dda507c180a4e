// Elementwise ONNX ops as scalar functions, shared by the float evaluator and by the lookup-table
// builder (a lookup table is a chain of these functions evaluated on 256 values).
import type { OnnxNode } from '../parse.ts';
import { attrFloat, attrInt, attrString } from './attrs.ts';
import { alloc, broadcast, broadcastMap, type FDType, type FTensor, sizeOf } from './tensor.ts';

/** erf(x) to double precision: Taylor series near 0, continued fraction for erfc further out. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6) return Math.sign(x);
  // erfc(ax) = exp(-ax^2)/sqrt(pi) / (ax + (1/2)/(ax + 1/(ax + (3/2)/(ax + 2/(ax + ...))))).
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Round half to even (ONNX Round). */
function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

type Unary = (x: number) => number;

/** Unary ops whose behaviour only depends on attributes. */
export function unaryFn(node: OnnxNode): Unary | null {
  const a = (k: string, d: number) => attrFloat(node, k, d);
  switch (node.opType) {
    case 'Relu':
      return (x) => Math.max(x, 0);
    case 'Sigmoid':
      return sigmoid;
    case 'Tanh':
      return Math.tanh;
    case 'Erf':
      return erf;
    case 'Sqrt':
      return Math.sqrt;
    case 'Exp':
      return Math.exp;
    case 'Log':
      return Math.log;
    case 'Neg':
      return (x) => -x;
    case 'Abs':
      return Math.abs;
    case 'Reciprocal':
      return (x) => 1 / x;
    case 'Floor':
      return Math.floor;
    case 'Ceil':
      return Math.ceil;
    case 'Round':
      return roundEven;
    case 'Sign':
      return Math.sign;
    case 'Sin':
      return Math.sin;
    case 'Cos':
      return Math.cos;
    case 'Softplus':
      return (x) => (x > 30 ? x : Math.log1p(Math.exp(x)));
    case 'Softsign':
      return (x) => x / (1 + Math.abs(x));
    case 'Mish':
      return (x) => x * Math.tanh(x > 30 ? x : Math.log1p(Math.exp(x)));
    case 'Elu': {
      const alpha = a('alpha', 1);
      return (x) => (x >= 0 ? x : alpha * (Math.exp(x) - 1));
    }
    case 'Celu': {
      const alpha = a('alpha', 1);
      return (x) => Math.max(0, x) + Math.min(0, alpha * (Math.exp(x / alpha) - 1));
    }
    case 'Selu': {
      const alpha = a('alpha', 1.6732632423543772);
      const gamma = a('gamma', 1.0507009873554805);
      return (x) => gamma * (x > 0 ? x : alpha * (Math.exp(x) - 1));
    }
    case 'LeakyRelu': {
      const alpha = a('alpha', 0.01);
      return (x) => (x >= 0 ? x : alpha * x);
    }
    case 'ThresholdedRelu': {
      const alpha = a('alpha', 1);
      return (x) => (x > alpha ? x : 0);
    }
    case 'HardSigmoid': {
      const alpha = a('alpha', 0.2);
      const beta = a('beta', 0.5);
      return (x) => Math.max(0, Math.min(1, alpha * x + beta));
    }
    case 'HardSwish':
      return (x) => x * Math.max(0, Math.min(1, x / 6 + 0.5));
    case 'Gelu':
      if (attrString(node, 'approximate', 'none') === 'tanh') {
        return (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
      }
      return (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'Not':
      return (x) => (x ? 0 : 1);
    case 'Identity':
    case 'Dropout':
      return (x) => x;
    default:
      return null;
  }
}

type Binary = (x: number, y: number) => number;

export function binaryFn(opType: string, isInt: boolean, node?: OnnxNode): Binary | null {
  switch (opType) {
    case 'Add':
    case 'Sum':
      return (x, y) => x + y;
    case 'Sub':
      return (x, y) => x - y;
    case 'Mul':
      return (x, y) => x * y;
    case 'Div':
      return isInt ? (x, y) => Math.trunc(x / y) : (x, y) => x / y;
    case 'Pow':
      return (x, y) => (y === 2 ? x * x : y === 0.5 ? Math.sqrt(x) : x ** y);
    case 'Min':
      return (x, y) => Math.min(x, y);
    case 'Max':
      return (x, y) => Math.max(x, y);
    case 'Mod':
      if (node && attrInt(node, 'fmod', 0)) return (x, y) => x % y;
      return (x, y) => {
        const r = x % y;
        return r !== 0 && r < 0 !== y < 0 ? r + y : r;
      };
    case 'Equal':
      return (x, y) => (x === y ? 1 : 0);
    case 'Less':
      return (x, y) => (x < y ? 1 : 0);
    case 'Greater':
      return (x, y) => (x > y ? 1 : 0);
    case 'LessOrEqual':
      return (x, y) => (x <= y ? 1 : 0);
    case 'GreaterOrEqual':
      return (x, y) => (x >= y ? 1 : 0);
    case 'And':
      return (x, y) => (x && y ? 1 : 0);
    case 'Or':
      return (x, y) => (x || y ? 1 : 0);
    case 'Xor':
      return (x, y) => ((x ? 1 : 0) ^ (y ? 1 : 0) ? 1 : 0);
    default:
      return null;
  }
}

const COMPARE = new Set([
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'And',
  'Or',
  'Xor',
  'Not',
]);
/** Binary ops that are also variadic in ONNX. */
export const VARIADIC = new Set(['Sum', 'Min', 'Max', 'Mean']);

/** Applies a broadcasting n-ary function. */
export function mapN(ins: FTensor[], fn: (...v: number[]) => number, dtype: FDType): FTensor {
  const shape = broadcast(...ins.map((t) => t.shape));
  const maps = ins.map((t) => broadcastMap(t.shape, shape));
  const n = sizeOf(shape);
  const out = alloc(n);
  const args = new Array<number>(ins.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < ins.length; k++) args[k] = ins[k].data[maps[k][i]];
    out[i] = fn(...args);
  }
  return { shape, data: out, dtype };
}

/** The clamp bounds of a Clip node (attributes before opset 11, optional inputs after). */
export function clipBounds(
  node: OnnxNode,
  lo: FTensor | undefined,
  hi: FTensor | undefined,
): [number, number] {
  if (node.attrs.has('min') || node.attrs.has('max')) {
    return [
      attrFloat(node, 'min', Number.NEGATIVE_INFINITY),
      attrFloat(node, 'max', Number.POSITIVE_INFINITY),
    ];
  }
  return [lo ? lo.data[0] : Number.NEGATIVE_INFINITY, hi ? hi.data[0] : Number.POSITIVE_INFINITY];
}

/** Evaluates an elementwise node; returns null if the op is not elementwise. */
export function evalElementwise(node: OnnxNode, ins: (FTensor | undefined)[]): FTensor | null {
  const x = ins[0];
  if (!x) return null;
  const op = node.opType;
  if (op === 'Clip') {
    const [lo, hi] = clipBounds(node, ins[1], ins[2]);
    return mapN([x], (v) => (v < lo ? lo : Math.min(v, hi)), x.dtype);
  }
  if (op === 'Cast') {
    const to = attrInt(node, 'to', 1);
    const dtype: FDType = to === 1 || to === 10 || to === 11 ? 'float' : to === 9 ? 'bool' : 'int';
    const f =
      dtype === 'float' ? (v: number) => v : dtype === 'bool' ? (v: number) => (v ? 1 : 0) : Math.trunc;
    return mapN([x], f, dtype);
  }
  if (op === 'Where') {
    const [c, a, b] = ins as FTensor[];
    return mapN([c, a, b], (cv, av, bv) => (cv ? av : bv), a.dtype);
  }
  if (op === 'Mean') {
    const all = ins.filter((t): t is FTensor => !!t);
    return mapN(all, (...v) => v.reduce((p, q) => p + q, 0) / v.length, x.dtype);
  }
  const u = unaryFn(node);
  if (u) return mapN([x], u, COMPARE.has(op) ? 'bool' : x.dtype);
  const b = binaryFn(op, x.dtype !== 'float', node);
  if (!b) return null;
  const all = ins.filter((t): t is FTensor => !!t);
  let acc = all[0];
  const dtype: FDType = COMPARE.has(op) ? 'bool' : x.dtype;
  if (all.length === 1) return mapN([acc], (v) => v, dtype);
  for (let k = 1; k < all.length; k++) acc = mapN([acc, all[k]], b, dtype);
  return acc;
}
