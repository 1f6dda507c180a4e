// Builds the integer model from the lowered graph and the calibrated ranges.
import type { Model, ModelMeta } from '../../engine/graph.ts';
import type { Lowered } from '../lower/types.ts';
import { Builder } from './builder.ts';
import { emitOp, type WeightOptions } from './ops.ts';

export interface QuantizeOptions extends WeightOptions {
  /** For image inputs whose calibration range lies in [0, 1]: use exactly [0, 1] (scale 1/255, zero point 0). */
  unitRangeInput: boolean;
}

export function buildModel(
  lowered: Lowered,
  ranges: [number, number][],
  meta: ModelMeta,
  options: QuantizeOptions,
): { model: Model; parameterCount: number; valueNames: Map<number, string>; warnings: string[] } {
  const b = new Builder(lowered.values, ranges);
  const v = lowered.values.get(lowered.input);
  if (options.unitRangeInput && v?.quant.kind === 'calib') {
    const [lo, hi] = ranges[v.quant.probe];
    if (lo >= 0 && hi <= 1) b.setQ(lowered.input, { scale: 1 / 255, zeroPoint: 0 });
  }
  const input = b.value(lowered.input, 'input');
  for (const op of lowered.ops) emitOp(b, op, options);
  const output = b.id(lowered.output);
  return {
    model: { meta, tensors: b.tensors, ops: b.ops, consts: b.consts, input, output },
    parameterCount: b.parameterCount,
    valueNames: b.valueNames(),
    warnings: b.warnings,
  };
}
