// Output shapes of every op, from its input shapes. Used by the validator and by every backend.
import { ModelFormatError } from '../errors/base.ts';
import type { Op } from './graph.ts';
import { broadcastShapes } from './tensor.ts';

export class ShapeError extends ModelFormatError {
  override name = 'ShapeError' as const;
}

function fail(op: Op, why: string): never {
  throw new ShapeError(`Op "${op.name}" (${op.type}): ${why}`);
}

function windowOut(op: Op, size: number, k: number, s: number, p0: number, p1: number, d: number): number {
  const span = (k - 1) * d + 1;
  const out = Math.floor((size + p0 + p1 - span) / s) + 1;
  if (out < 1) fail(op, `window of ${span} does not fit input size ${size} with pads ${p0},${p1}.`);
  return out;
}

export function inferShape(op: Op, shapes: number[][]): number[] {
  switch (op.type) {
    case 'conv': {
      const [x, w] = shapes;
      if (x.length !== 4 || w.length !== 4) fail(op, 'input and weight must be rank 4 (NCHW, MCKK).');
      const [N, C, H, W] = x;
      const [M, Cg, KH, KW] = w;
      if (C % op.group !== 0 || M % op.group !== 0 || C / op.group !== Cg) {
        fail(op, `channels ${C} and weight [${w.join(',')}] do not match group ${op.group}.`);
      }
      const OH = windowOut(op, H, KH, op.strides[0], op.pads[0], op.pads[2], op.dilations[0]);
      const OW = windowOut(op, W, KW, op.strides[1], op.pads[1], op.pads[3], op.dilations[1]);
      return [N, M, OH, OW];
    }
    case 'matmul': {
      const [a, b] = shapes;
      if (a.length < 2 || b.length < 2) fail(op, 'operands must have rank >= 2.');
      const K = a[a.length - 1];
      if (b[b.length - 2] !== K) fail(op, `inner dimensions differ: [${a.join(',')}] @ [${b.join(',')}].`);
      const lead = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
      return [...lead, a[a.length - 2], b[b.length - 1]];
    }
    case 'add':
    case 'mul':
      return broadcastShapes(shapes[0], shapes[1]);
    case 'lut':
    case 'softmax':
    case 'layernorm':
      return shapes[0];
    case 'maxpool':
    case 'avgpool': {
      const x = shapes[0];
      if (x.length !== 4) fail(op, 'input must be rank 4 (NCHW).');
      const OH = windowOut(op, x[2], op.kernel[0], op.strides[0], op.pads[0], op.pads[2], 1);
      const OW = windowOut(op, x[3], op.kernel[1], op.strides[1], op.pads[1], op.pads[3], 1);
      return [x[0], x[1], OH, OW];
    }
    case 'reducemean': {
      const x = shapes[0];
      if (op.axis < 1 || op.axis >= x.length) fail(op, `axis ${op.axis} out of range for rank ${x.length}.`);
      return op.keepDims ? x.map((d, i) => (i === op.axis ? 1 : d)) : x.filter((_, i) => i !== op.axis);
    }
    case 'gather':
      return [...shapes[1], shapes[0][1]];
    case 'reshape': {
      const x = shapes[0];
      const inner = x.slice(1).reduce((p, d) => p * d, 1);
      const target = op.shape.reduce((p, d) => p * d, 1);
      if (inner !== target) fail(op, `cannot reshape [${x.join(',')}] to [${x[0]},${op.shape.join(',')}].`);
      return [x[0], ...op.shape];
    }
    case 'transpose': {
      const x = shapes[0];
      const sorted = [...op.perm].sort((a, b) => a - b);
      if (op.perm.length !== x.length || sorted.some((p, i) => p !== i) || op.perm[0] !== 0) {
        fail(
          op,
          `perm [${op.perm.join(',')}] must be a permutation of 0..${x.length - 1} that keeps axis 0.`,
        );
      }
      return op.perm.map((p) => x[p]);
    }
    case 'concat': {
      const first = shapes[0];
      if (op.axis < 1 || op.axis >= first.length)
        fail(op, `axis ${op.axis} out of range for rank ${first.length}.`);
      let total = 0;
      for (const s of shapes) {
        if (s.length !== first.length || s.some((d, i) => i !== op.axis && d !== first[i])) {
          fail(op, `inputs [${shapes.map((q) => q.join('x')).join('; ')}] differ outside axis ${op.axis}.`);
        }
        total += s[op.axis];
      }
      return first.map((d, i) => (i === op.axis ? total : d));
    }
  }
}
