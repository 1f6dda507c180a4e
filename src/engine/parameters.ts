// The model's parameter count: one definition for the import report and `model inspect`.
import type { Model } from './graph.ts';

/**
 * Elements of the learned constants: conv/matmul weights and their biases, layer-norm gamma and
 * beta, embedding tables and constant operands of elementwise ops. Requantization multipliers and
 * shifts and lookup tables are derived from scales, not learned, so they are not counted.
 */
export function countParameters(model: Model): number {
  const counted = new Set<number>();
  const take = (id: number) => {
    if (model.consts.has(id)) counted.add(id);
  };
  for (const op of model.ops) {
    switch (op.type) {
      case 'conv':
        take(op.inputs[1]);
        take(op.inputs[2]);
        break;
      case 'matmul':
        // An activation-by-activation product has no weights; its bias is a folded constant shift.
        if (model.consts.has(op.inputs[1])) {
          take(op.inputs[1]);
          take(op.inputs[2]);
        }
        break;
      case 'layernorm':
        take(op.inputs[1]);
        take(op.inputs[2]);
        break;
      case 'gather':
        take(op.inputs[0]);
        break;
      case 'add':
      case 'mul':
        take(op.inputs[0]);
        take(op.inputs[1]);
        break;
      default:
        break;
    }
  }
  let n = 0;
  for (const id of counted) n += (model.consts.get(id) as ArrayLike<number>).length;
  return n;
}
