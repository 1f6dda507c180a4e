// Drift between the quantized and the float model never passes silently: a warning with the
// numbers, an AccuracyDriftError under `strict`, and always an UnboundedValueError when the error
// cannot be bounded at all.
import { AccuracyDriftError, UnboundedValueError } from '../errors/base.ts';
import type { LayerError } from './layerError.ts';
import type { Agreement } from './report.ts';

/** Largest finite float32 value: float tensors beyond it are infinite in any float32 runtime. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** The default bound on the output probability error (the import target). */
export const DEFAULT_MAX_PROBABILITY_ERROR = 0.02;

/** Throws unless every float reference output is finite and within float32 range. */
export function checkFloatOutputs(outputs: ArrayLike<number>[], what: (k: number) => string): void {
  outputs.forEach((o, k) => {
    for (let i = 0; i < o.length; i++) {
      const v = o[i];
      if (!Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX) {
        throw new UnboundedValueError(
          `The float model's output is ${v} on ${what(k)}: its weights or inputs overflow float32, so no quantization can match it. ` +
            'Check the weights (values near 3e38 overflow) and the calibration data (scale inputs to the range the model was trained on).',
        );
      }
    }
  });
}

export interface DriftCheck {
  /** The bound on the output probability error. */
  threshold: number;
  /** The largest output probability error over the calibration and evaluation samples. */
  maxProbabilityError: number;
  exceeded: boolean;
}

const fmt = (v: number) => (v >= 0.001 || v === 0 ? v.toFixed(4) : v.toExponential(2));

function layerList(layers: LayerError[]): string {
  return layers
    .map(
      (l) =>
        `"${l.op}" (${l.type}, +${(100 * l.addedRmsError).toFixed(2)}% RMS, ${(100 * l.relRmsError).toFixed(2)}% total, of its float range)`,
    )
    .join(', ');
}

/**
 * Compares each agreement with the threshold. Returns the check and the warnings to add; throws
 * UnboundedValueError for a non-finite error and AccuracyDriftError for drift under `strict`.
 */
export function checkDrift(
  agreements: [what: string, a: Agreement | undefined][],
  worst: LayerError[],
  threshold: number,
  strict: boolean,
): { check: DriftCheck; warnings: string[] } {
  const warnings: string[] = [];
  let maxProbabilityError = 0;
  for (const [what, a] of agreements) {
    if (!a) continue;
    if (!Number.isFinite(a.maxAbsError) || !Number.isFinite(a.maxProbabilityError)) {
      throw new UnboundedValueError(
        `The quantized model's output error on the ${what} samples is unbounded (${a.maxAbsError}): ` +
          'some float values are too large or not finite for 8-bit quantization.',
        { metaMessages: worst.length ? [`Worst layers: ${layerList(worst)}.`] : undefined },
      );
    }
    maxProbabilityError = Math.max(maxProbabilityError, a.maxProbabilityError);
    if (a.maxProbabilityError > threshold) {
      const message =
        `Quantized outputs drift from the float model on the ${what} samples: output probability off by up to ` +
        `${fmt(a.maxProbabilityError)} (mean ${fmt(a.meanProbabilityError)}; output value error up to ${fmt(a.maxAbsError)}), ` +
        `above the allowed ${threshold}. Worst layers: ${layerList(worst)}. ` +
        'The usual cause is 8-bit activation rounding adding up over many layers (docs/accuracy.md). ' +
        'Try another calibration method (mse or percentile), --bias-correction, calibration samples closer to real inputs, or a higher allowed drift.';
      if (strict) throw new AccuracyDriftError(message);
      warnings.push(message);
    }
  }
  return {
    check: { threshold, maxProbabilityError, exceeded: maxProbabilityError > threshold },
    warnings,
  };
}
