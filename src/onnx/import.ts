// importOnnx: float ONNX model + calibration samples -> validated integer model + report.
import type { Model, ModelMeta } from '../engine/graph.ts';
import { type Backend, referenceBackend } from '../engine/interpreter.ts';
import { countParameters } from '../engine/parameters.ts';
import { validateGraph, validateModel } from '../engine/validate.ts';
import { AccuracyDriftError, InputError, OnnxFormatError, VerinferError } from '../errors/base.ts';
import { type BiasCorrection, correctBiases } from './biasCorrection.ts';
import { CALIBRATION_METHODS, type CalibrationMethod, calibrate } from './calibrate.ts';
import { type DerivedInputs, derivedFeeds, deriveInputs } from './deriveInputs.ts';
import {
  checkDrift,
  checkFloatOutputs,
  DEFAULT_MAX_PROBABILITY_ERROR,
  type DriftCheck,
  FLOAT32_MAX,
} from './drift.ts';
import type { FTensor } from './float/tensor.ts';
import { foldGraph, graphInput, normalizeSamples } from './fold.ts';
import { dequantize, type FloatTensor, quantizeInput } from './input.ts';
import { type LayerError, layerErrors, worstLayers } from './layerError.ts';
import { lowerGraph } from './lower/index.ts';
import type { QuantSpec } from './lower/types.ts';
import { parseOnnx } from './parse.ts';
import { buildModel } from './quantize/index.ts';
import { DEFAULT_WEIGHT_BITS } from './quantize/params.ts';
import { type Agreement, agreement, onnxruntimeOutputs } from './report.ts';

export interface ImportOptions {
  name: string;
  version?: string;
  inputKind?: 'tensor' | 'image' | 'tokens';
  labels?: string[];
  onProgress?: (stage: string, done: number, total: number) => void;
  /** Held-out samples for a second agreement measurement (not used for calibration). */
  evaluation?: FloatTensor[];
  /** Weight bit width (symmetric, [-(2^(b-1)-1), 2^(b-1)-1]); default 8. */
  weightBits?: number;
  /** Activation range estimate: 'minmax' (default), 'percentile' clipping or 'mse'. */
  calibrationMethod?: CalibrationMethod;
  /** Percentile for 'percentile' calibration, in (50, 100] (default 99.99). */
  percentile?: number;
  /**
   * false: skip the one-step gas bound (src/engine/stepCost.ts), for models only run locally
   * (benchmarks): such a model runs exactly, but a dispute over it could not settle on chain and
   * it cannot be saved as a package. Default true.
   */
  checkStepCosts?: boolean;
  /** One weight scale per tensor instead of per output channel (worse; for comparison). */
  perTensorWeights?: boolean;
  /** The allowed output probability error against float (default 0.02); more warns. */
  maxProbabilityError?: number;
  /** Throw AccuracyDriftError instead of warning when the drift exceeds maxProbabilityError. */
  strict?: boolean;
  /** How many of the worst layers the report names (default 5). */
  worstLayerCount?: number;
  /**
   * Graph inputs computed from the one the model commits to (Hugging Face exports take
   * input_ids, attention_mask and token_type_ids): see deriveInputs.ts.
   */
  derivedInputs?: DerivedInputs;
  /**
   * Shift each conv's and dense layer's int32 bias so that its mean output per channel matches
   * the float model's on the calibration samples (src/onnx/biasCorrection.ts). Default false:
   * it changes the integer biases, and so the model ID.
   */
  biasCorrection?: boolean;
}

/** Per-layer error is measured on at most this many calibration samples (it re-runs both models). */
export const LAYER_ERROR_SAMPLES = 32;

export interface ImportReport {
  opCount: number;
  parameterCount: number;
  /** Op types of the source ONNX graph and how often each occurs. */
  sourceOps: Record<string, number>;
  /** Quantized vs float outputs on the calibration samples. */
  agreement: Agreement;
  /** The same on `options.evaluation`, if given. */
  evaluation?: Agreement;
  /** Where the float outputs came from. */
  floatReference: 'onnxruntime' | 'evaluator';
  calibrationMethod: CalibrationMethod;
  /** Present when bias correction ran: on how many samples, and how many ops it changed. */
  biasCorrection?: BiasCorrection;
  /** Output probability error against the allowed bound. */
  drift: DriftCheck;
  /**
   * Error of each op's dequantized output against the float tensor on the calibration samples
   * (the first LAYER_ERROR_SAMPLES), in op order.
   */
  layers: LayerError[];
  /** The layers that add the most error, worst first. */
  worstLayers: LayerError[];
  warnings: string[];
}

export interface ImportResult {
  model: Model;
  report: ImportReport;
}

function toF(t: FloatTensor, i: number, what: string): FTensor {
  if (!t || !Array.isArray(t.shape) || !(Array.isArray(t.data) || t.data instanceof Float32Array)) {
    throw new InputError(`${what} ${i} is not a { shape, data } tensor.`);
  }
  const data = Float64Array.from(t.data as ArrayLike<number>);
  const n = t.shape.reduce((p, d) => p * d, 1);
  if (!t.shape.every((d) => Number.isInteger(d) && d >= 1) || data.length !== n) {
    throw new InputError(`${what} ${i} has ${data.length} values for shape [${t.shape.join(',')}].`);
  }
  if (!data.every(Number.isFinite))
    throw new InputError(`${what} ${i} contains a value that is not a finite number.`);
  if (!data.every((v) => Math.abs(v) <= FLOAT32_MAX))
    throw new InputError(`${what} ${i} contains a value beyond the float32 range (±3.4e38).`);
  return { shape: [...t.shape], data, dtype: 'float' };
}

function stageFailed(stage: string, err: unknown): VerinferError {
  if (err instanceof VerinferError) return err;
  const why = err instanceof Error ? err.message : String(err);
  return new OnnxFormatError(`The ONNX model could not be imported: ${stage} failed.`, {
    cause: err,
    details: why,
  });
}

/** Runs a pipeline stage; unexpected errors (from odd graphs) become OnnxFormatError. */
function guard<T>(stage: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw stageFailed(stage, err);
  }
}

async function guardAsync<T>(stage: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw stageFailed(stage, err);
  }
}

/**
 * The fast backend (native kernels, else the WebAssembly engine; bit-identical to the reference
 * interpreter and many times faster on 224x224 convolutions), or the reference interpreter where
 * neither can start.
 */
async function exactBackend(): Promise<Backend & { release?: (model: Model) => Promise<void> }> {
  try {
    const { getBackend } = await import('../sdk/backends.ts');
    return await getBackend('fast');
  } catch {
    return referenceBackend;
  }
}

function checkTokens(samples: FTensor[], what: string): void {
  samples.forEach((s, i) => {
    if (!s.data.every(Number.isInteger))
      throw new InputError(`${what} ${i}: the model takes integer token ids, found a fractional value.`);
  });
}

export async function importOnnx(
  bytes: Uint8Array,
  calibration: FloatTensor[],
  options: ImportOptions,
): Promise<ImportResult> {
  const progress = options.onProgress ?? (() => {});
  const weightBits = options.weightBits ?? DEFAULT_WEIGHT_BITS;
  if (!Number.isInteger(weightBits) || weightBits < 2 || weightBits > 8)
    throw new InputError(`weightBits must be an integer in [2, 8], got ${weightBits}.`);
  if (!Array.isArray(calibration) || calibration.length === 0)
    throw new InputError('At least one calibration sample is needed.');
  const method = options.calibrationMethod ?? 'minmax';
  if (!CALIBRATION_METHODS.includes(method))
    throw new InputError(
      `Unknown calibration method "${method}"; use one of ${CALIBRATION_METHODS.join(', ')}.`,
    );
  const percentile = options.percentile ?? 99.99;
  if (!(typeof percentile === 'number' && percentile > 50 && percentile <= 100))
    throw new InputError(`The calibration percentile must be a number in (50, 100], got ${percentile}.`);
  const threshold = options.maxProbabilityError ?? DEFAULT_MAX_PROBABILITY_ERROR;
  if (!(typeof threshold === 'number' && threshold >= 0 && threshold <= 1))
    throw new InputError(`The allowed probability error must be a number in [0, 1], got ${threshold}.`);
  const worstCount = options.worstLayerCount ?? 5;
  if (!Number.isInteger(worstCount) || worstCount < 0 || worstCount > 1000)
    throw new InputError(
      `The number of worst layers to report must be an integer in [0, 1000], got ${worstCount}.`,
    );
  progress('parse', 0, 1);
  const source = parseOnnx(bytes);
  const graph = deriveInputs(source, options.derivedInputs);
  const sourceOps: Record<string, number> = {};
  for (const n of source.nodes) sourceOps[n.opType] = (sourceOps[n.opType] ?? 0) + 1;
  const { info, isInt } = graphInput(graph);
  const samples = normalizeSamples(
    info,
    calibration.map((t, i) => toF(t, i, 'Calibration sample')),
    'Calibration sample',
  );
  const evaluation = options.evaluation
    ? normalizeSamples(
        info,
        options.evaluation.map((t, i) => toF(t, i, 'Evaluation sample')),
        'Evaluation sample',
      )
    : [];
  if (isInt) {
    checkTokens(samples, 'Calibration sample');
    checkTokens(evaluation, 'Evaluation sample');
  }
  progress('parse', 1, 1);

  progress('fold', 0, 1);
  const dyn = guard('folding', () => foldGraph(graph, samples[0]));
  const lowered = guard('lowering', () => lowerGraph(dyn));
  progress('fold', 1, 1);

  const cal = guard('calibration', () =>
    calibrate(dyn, samples, lowered.probes, method, percentile, (d, t) => progress('calibrate', d, t)),
  );
  const warnings = [...dyn.warnings, ...lowered.warnings];
  for (const t of new Set(cal.nonFinite))
    warnings.push(`Tensor "${t}" took non-finite values during calibration; they were ignored.`);

  progress('quantize', 0, 1);
  const meta: ModelMeta = {
    name: options.name,
    version: options.version ?? '1',
    inputKind: options.inputKind ?? (isInt ? 'tokens' : 'tensor'),
  };
  const built = buildModel(lowered, cal.ranges, meta, {
    weightBits,
    perTensorWeights: options.perTensorWeights === true,
    unitRangeInput: meta.inputKind === 'image',
  });
  const model = built.model;
  warnings.push(...built.warnings);
  if (options.labels) {
    const outShape = model.tensors[model.output].shape;
    if (options.labels.length !== outShape[outShape.length - 1]) {
      throw new InputError(
        `${options.labels.length} labels were given, but the model output has ${outShape[outShape.length - 1]} classes.`,
      );
    }
    model.meta.labels = [...options.labels];
  }
  const corrected =
    options.biasCorrection === true
      ? guard('bias correction', () => correctBiases(dyn, model, built.valueNames, samples))
      : undefined;
  if (options.checkStepCosts === false) {
    validateGraph(model);
    warnings.push(
      'The one-step gas bound was not checked: disputes over this model may not settle on chain.',
    );
  } else validateModel(model);
  progress('quantize', 1, 1);

  const outputName = graph.outputs[0].name;
  const all = [...samples, ...evaluation];
  const ort = await onnxruntimeOutputs(bytes, info.name, outputName, info.elemType, all, (s) =>
    derivedFeeds(source, options.derivedInputs, s),
  );
  let floatOut: ArrayLike<number>[];
  let floatReference: ImportReport['floatReference'] = 'onnxruntime';
  if ('error' in ort) {
    warnings.push(
      `onnxruntime could not run the float model (${ort.error}); the built-in float evaluator is the reference.`,
    );
    floatReference = 'evaluator';
    floatOut = [...cal.outputs.map((o) => o.data)];
    if (evaluation.length > 0) {
      const { runDynamic } = await import('./fold.ts');
      for (const s of evaluation) floatOut.push(runDynamic(dyn, s).data);
    }
  } else {
    floatOut = ort.outputs;
    let diff = 0;
    let mag = 0;
    cal.outputs.forEach((o, k) => {
      for (let i = 0; i < o.data.length; i++) {
        diff = Math.max(diff, Math.abs(o.data[i] - ort.outputs[k][i]));
        mag = Math.max(mag, Math.abs(ort.outputs[k][i]));
      }
    });
    if (diff > 1e-3 * (1 + mag)) {
      warnings.push(
        `The built-in float evaluator differs from onnxruntime by up to ${diff.toExponential(2)}; calibration ranges may be off.`,
      );
    }
  }
  checkFloatOutputs(floatOut, (k) =>
    k < samples.length ? `calibration sample ${k}` : `evaluation sample ${k - samples.length}`,
  );
  const producer = graph.nodes.find((n) => n.outputs.includes(outputName));
  const isProbability = producer?.opType === 'Softmax' || producer?.opType === 'Sigmoid';
  const layerSamples = samples.slice(0, LAYER_ERROR_SAMPLES);
  const total = all.length;
  // Every sample runs once on a bit-exact backend: the first LAYER_ERROR_SAMPLES also give their
  // trace to the per-layer error, all give their output to the agreement.
  const backend = await exactBackend();
  const quantOut: number[][] = [];
  const runSample = async (k: number) => {
    const s = all[k];
    const run = await backend.run(model, quantizeInput(model, { shape: s.shape, data: Array.from(s.data) }));
    quantOut[k] = dequantize(model, run.output);
    progress('evaluate', k + 1, total);
    return run.trace;
  };
  let layers: LayerError[];
  try {
    layers = await guardAsync('per-layer error', () =>
      layerErrors(dyn, model, built.valueNames, layerSamples, runSample),
    );
    for (let k = layerSamples.length; k < all.length; k++) await runSample(k);
  } finally {
    await backend.release?.(model);
  }
  const agree = agreement(
    model,
    quantOut.slice(0, samples.length),
    floatOut.slice(0, samples.length),
    isProbability,
  );
  const evalAgree =
    evaluation.length > 0
      ? agreement(model, quantOut.slice(samples.length), floatOut.slice(samples.length), isProbability)
      : undefined;
  // A mask table's masked entries (-1e4, float32's lowest) saturate on purpose (see
  // lower/binary.ts): its "error" against float is the mask working, so it is not ranked.
  const isMaskTable = (tensor: string) => {
    for (let cur: string | undefined = tensor; cur !== undefined; ) {
      const q: QuantSpec | undefined = lowered.values.get(cur)?.quant;
      if (q?.kind === 'maskTable') return true;
      cur = q?.kind === 'same' ? q.as : undefined;
    }
    return false;
  };
  const ranked = layers.filter((l) => !isMaskTable(l.tensor));
  const worst = worstLayers(ranked, worstCount);
  const drift = checkDrift(
    [
      ['calibration', agree],
      ['evaluation', evalAgree],
    ],
    worstLayers(ranked, 3),
    threshold,
    options.strict === true,
  );
  warnings.push(...drift.warnings);
  for (const [what, a] of [
    ['calibration', agree],
    ['evaluation', evalAgree],
  ] as const) {
    if (a && a.top1Agreement < 0.95) {
      const message = `Top-1 agreement with the float model on the ${what} samples is only ${(100 * a.top1Agreement).toFixed(1)}%.`;
      if (options.strict) throw new AccuracyDriftError(message);
      warnings.push(message);
    }
  }
  return {
    model,
    report: {
      opCount: model.ops.length,
      parameterCount: countParameters(model),
      sourceOps,
      agreement: agree,
      ...(evalAgree ? { evaluation: evalAgree } : {}),
      floatReference,
      calibrationMethod: method,
      ...(corrected ? { biasCorrection: corrected } : {}),
      drift: drift.check,
      layers,
      worstLayers: worst,
      warnings,
    },
  };
}
