// Canonical batch axis. The integer IR keeps the batch on axis 0 of every activation, but exports
// such as PyTorch's sequence-first attention carry activations like [S, 1, E], whose first axis is
// not the batch. Such a tensor is stored "lifted": a new leading batch axis of size 1 in front of
// the ONNX shape ([1, S, 1, E]), and every op that touches it works on axes shifted by one.
//
// Why this is exact: a run with batch size B computes the batch-1 ONNX function on each row, and
// every IR op keeps rows apart. A lifted tensor holds the same bytes as its ONNX tensor, so each
// row still sees exactly the batch-1 ONNX computation, whatever axis the export put the 1 on.
// Tensors whose first axis has size 1 stay as they are, so models that were already batch-first
// keep their ops (and their model IDs).
import { UnsupportedOpError } from '../../errors/base.ts';
import type { AOp, AValue, Lowered } from './types.ts';

function isLifted(shape: readonly number[]): boolean {
  return shape.length === 0 || shape[0] !== 1;
}

/** Ops that move or reduce along ONNX axis 0, which is the IR batch axis unless lifted. */
function touchesAxis0(op: AOp): boolean {
  if (op.kind === 'transpose') return op.perm[0] !== 0;
  if (op.kind === 'concat' || op.kind === 'reducemean') return op.axis === 0;
  return false;
}

export function canonicalizeBatch(low: Lowered): Lowered {
  const onnx = (v: string): number[] => {
    const s = low.values.get(v)?.shape;
    if (!s) throw new UnsupportedOpError(`No shape is known for tensor "${v}".`);
    return s;
  };
  const lifted = (v: string) => isLifted(onnx(v));
  if (![...low.values.keys()].some(lifted) && !low.ops.some(touchesAxis0)) return low;

  const values = new Map<string, AValue>();
  for (const [name, v] of low.values) {
    values.set(name, { ...v, shape: isLifted(v.shape) ? [1, ...v.shape] : [...v.shape] });
  }
  const ops: AOp[] = [];
  const views = new Map<string, string>();
  let counter = 0;
  const fresh = (base: string) => {
    counter += 1;
    return `${base}#batch${counter}`;
  };
  const reshape = (x: string, out: string) => {
    const shape = (values.get(out) as AValue).shape;
    ops.push({ kind: 'reshape', name: fresh(`${x}/reshape`), x, out, shape: shape.slice(1) });
  };
  /** The lifted view of `v` with ONNX rank `rank` (leading 1s added): same bytes, a reshape. */
  const view = (v: string, rank: number): string => {
    const s = onnx(v);
    if (lifted(v) && s.length === rank) return v;
    const key = `${v}\u0000${rank}`;
    const known = views.get(key);
    if (known) return known;
    const name = fresh(v);
    const shape = [1, ...new Array<number>(Math.max(0, rank - s.length)).fill(1), ...s];
    values.set(name, { name, shape, quant: { kind: 'same', as: v } });
    reshape(v, name);
    views.set(key, name);
    return name;
  };
  /** Where a lifted-mode op writes: `out` itself, or a lifted twin that a reshape then renames. */
  const target = (out: string): { y: string; finish: () => void } => {
    if (lifted(out)) return { y: out, finish: () => {} };
    const v = values.get(out) as AValue;
    const y = fresh(out);
    values.set(y, { name: y, shape: [1, ...v.shape], quant: v.quant });
    return {
      y,
      finish: () => {
        values.set(out, { ...v, quant: { kind: 'same', as: y } });
        reshape(y, out);
      },
    };
  };
  const refuse = (op: AOp, t: string): never => {
    throw new UnsupportedOpError(
      `Op "${op.name}" (${op.kind}) reads or writes tensor "${t}" of shape [${onnx(t).join(',')}], whose first axis is not the batch axis; this op needs the batch axis first.`,
    );
  };

  for (const op of low.ops) {
    switch (op.kind) {
      case 'conv':
      case 'maxpool':
      case 'avgpool':
      case 'gather': {
        const x = op.kind === 'gather' ? op.ids : op.x;
        for (const t of [x, op.out]) if (lifted(t)) refuse(op, t);
        ops.push(op);
        break;
      }
      case 'reshape':
        ops.push({ ...op, shape: (values.get(op.out) as AValue).shape.slice(1) });
        break;
      case 'transpose':
      case 'concat':
      case 'reducemean':
      case 'dense':
      case 'lut':
      case 'softmax':
      case 'layernorm':
      case 'select':
      case 'add':
      case 'matmul': {
        const ins = activationInputs(op);
        if (!touchesAxis0(op) && !ins.some(lifted) && !lifted(op.out)) {
          ops.push(op);
          break;
        }
        const rank =
          op.kind === 'reducemean' || op.kind === 'transpose' ? onnx(op.x).length : onnx(op.out).length;
        const v = (x: string) => view(x, rank);
        const { y, finish } = target(op.out);
        ops.push(liftOp(op, v, y));
        finish();
        break;
      }
    }
  }
  return { ...low, ops, values };
}

function activationInputs(op: AOp): string[] {
  switch (op.kind) {
    case 'add':
      return typeof op.b === 'string' ? [op.a, op.b] : [op.a];
    case 'matmul':
      return [op.a, op.b];
    case 'concat':
      return op.xs;
    case 'gather':
      return [op.ids];
    default:
      return [op.x];
  }
}

/** The op with its activations replaced by lifted views and its axes shifted past the batch axis. */
function liftOp(op: AOp, v: (x: string) => string, out: string): AOp {
  switch (op.kind) {
    case 'transpose':
      return { ...op, x: v(op.x), out, perm: [0, ...op.perm.map((p) => p + 1)] };
    case 'concat':
      return { ...op, xs: op.xs.map(v), out, axis: op.axis + 1 };
    case 'reducemean':
      return { ...op, x: v(op.x), out, axis: op.axis + 1 };
    case 'add':
      return { ...op, a: v(op.a), b: typeof op.b === 'string' ? v(op.b) : op.b, out };
    case 'matmul':
      return { ...op, a: v(op.a), b: v(op.b), out };
    case 'dense':
    case 'lut':
    case 'softmax':
    case 'layernorm':
    case 'select':
      return { ...op, x: v(op.x), out };
    default:
      throw new UnsupportedOpError(`Op "${op.name}" (${op.kind}) cannot be moved past the batch axis.`);
  }
}
