// Empirical bias correction: after the integer model is built, shift the int32 bias of every conv
// and constant-weight matmul so that, per output channel, its dequantized output has the same mean
// as the float model's on the calibration samples.
//
// Why: 8-bit weights and activations make each channel's output a little too large or too small
// on average, and that part of the error does not average out. Spatial sums (the next conv, a
// global average pool, a squeeze-excitation gate) add it up over every position, so on deep
// networks with depthwise convs it is a large share of the logit error. The ops are corrected in
// graph order, each against the integer outputs of the already-corrected ops before it: an op
// then corrects only what it adds itself. (Correcting all ops at once from one run over-corrects:
// an op's mean error is mostly inherited, and its inputs' corrections remove that part already.)
//
// Import-time code. The result is a plain integer model (only bias values change), and every step
// is deterministic, so the same ONNX file and calibration samples always give the same model.
import type { ConvOp, MatMulOp, Model } from '../engine/graph.ts';
import { batchedShape } from '../engine/graph.ts';
import { runOp } from '../engine/interpreter.ts';
import type { Tensor } from '../engine/tensor.ts';
import type { FTensor } from './float/tensor.ts';
import { type DynGraph, runDynamic } from './fold.ts';
import { quantizeInput } from './input.ts';

/** At most this many calibration samples are used (the first ones). */
export const BIAS_CORRECTION_SAMPLES = 64;
/** Float values kept for the comparison, over all samples; fewer samples are used beyond it. */
const FLOAT_BUDGET = 2 ** 25;
const INT32_LIMIT = 2 ** 31;

export interface BiasCorrection {
  /** Samples the means were measured on. */
  samples: number;
  /** Ops whose bias changed. */
  ops: number;
}

interface Target {
  op: ConvOp | MatMulOp;
  index: number;
  tensor: string;
  /** Products per output element, for the accumulator bound. */
  taps: number;
}

function targetsOf(model: Model, valueNames: Map<number, string>): Target[] {
  const out: Target[] = [];
  model.ops.forEach((op, index) => {
    if (op.type !== 'conv' && op.type !== 'matmul') return;
    const name = valueNames.get(op.output);
    // Importer-made intermediates (names with '#') have no float counterpart.
    if (name === undefined || name.includes('#')) return;
    const w = model.tensors[op.inputs[1]];
    if (w.kind !== 'const' || w.dtype !== 'i8') return;
    const taps = op.type === 'conv' ? w.shape[1] * w.shape[2] * w.shape[3] : w.shape[0];
    out.push({ op, index, tensor: name, taps });
  });
  return out;
}

/**
 * Corrects the biases of `model` in place (see the top of this file). `valueNames` maps integer
 * tensor ids to ONNX tensor names (from buildModel); `samples` are the calibration samples.
 */
export function correctBiases(
  g: DynGraph,
  model: Model,
  valueNames: Map<number, string>,
  samples: FTensor[],
): BiasCorrection {
  const targets = targetsOf(model, valueNames);
  if (targets.length === 0 || samples.length === 0) return { samples: 0, ops: 0 };
  const perSample = targets.reduce(
    (s, t) => s + model.tensors[t.op.output].shape.reduce((p, d) => p * d, 1),
    0,
  );
  const n = Math.max(
    1,
    Math.min(BIAS_CORRECTION_SAMPLES, samples.length, Math.floor(FLOAT_BUDGET / perSample)),
  );
  const wanted = new Set(targets.map((t) => t.tensor));
  const floats = samples.slice(0, n).map((s) => {
    const m = new Map<string, Float32Array>();
    runDynamic(g, s, (name, value) => {
      if (wanted.has(name)) m.set(name, Float32Array.from(value.data));
    });
    return m;
  });
  // The integer values of every sample; each is dropped after its last reader.
  const lastUse = new Map<number, number>();
  model.ops.forEach((op, i) => {
    for (const id of op.inputs) lastUse.set(id, i);
  });
  const values = samples.slice(0, n).map((s) => {
    const m = new Map<number, Tensor>();
    m.set(model.input, quantizeInput(model, { shape: s.shape, data: Array.from(s.data) }));
    return m;
  });
  const resolve = (m: Map<number, Tensor>, id: number): Tensor => {
    const v = m.get(id);
    if (v) return v;
    const info = model.tensors[id];
    const data = model.consts.get(id);
    if (!data) throw new Error(`Tensor ${id} ("${info.name}") has no value before its use.`);
    return { dtype: info.dtype, shape: info.shape, data, zeroPoint: info.zeroPoint };
  };
  const byIndex = new Map(targets.map((t) => [t.index, t]));
  let changed = 0;
  model.ops.forEach((op, i) => {
    const info = model.tensors[op.output];
    const run = () =>
      values.map((m) => {
        const ins = op.inputs.map((id) => resolve(m, id));
        const shape = batchedShape(info, ins[0].shape[0]);
        return {
          dtype: 'u8',
          shape,
          data: runOp(op, ins, shape, info.zeroPoint),
          zeroPoint: info.zeroPoint,
        } as Tensor;
      });
    let outs = run();
    const t = byIndex.get(i);
    if (t && correct(model, t, outs, floats)) {
      changed += 1;
      outs = run();
    }
    values.forEach((m, k) => {
      m.set(op.output, outs[k]);
      for (const id of op.inputs) if (lastUse.get(id) === i) m.delete(id);
    });
  });
  return { samples: n, ops: changed };
}

/** Measures the per-channel mean error of `t` and shifts its bias; true if any bias changed. */
function correct(model: Model, t: Target, outs: Tensor[], floats: Map<string, Float32Array>[]): boolean {
  const { op } = t;
  const info = model.tensors[op.output];
  const biasId = op.inputs[2];
  const bias = model.consts.get(biasId) as Int32Array;
  const mult = model.consts.get(op.inputs[3]) as Int32Array;
  const shift = model.consts.get(op.inputs[4]) as Int32Array;
  const channels = bias.length;
  const inner = op.type === 'conv' ? info.shape.slice(2).reduce((p, d) => p * d, 1) : 1;
  const sum = new Float64Array(channels);
  const count = new Float64Array(channels);
  // Only elements that neither side clamps say anything about the bias.
  const lo = info.scale * (op.qmin - info.zeroPoint);
  const hi = info.scale * (op.qmax - info.zeroPoint);
  outs.forEach((out, k) => {
    const f = floats[k].get(t.tensor);
    if (!f || f.length !== out.data.length) return;
    const q = out.data;
    for (let i = 0; i < q.length; i++) {
      const code = q[i];
      const fv = f[i];
      if (code <= op.qmin || code >= op.qmax || !(fv > lo && fv < hi)) continue;
      const c = op.type === 'conv' ? Math.floor(i / inner) % channels : i % channels;
      sum[c] += info.scale * (code - info.zeroPoint) - fv;
      count[c] += 1;
    }
  });
  const next = Int32Array.from(bias);
  const limit = INT32_LIMIT - 1 - t.taps * 255 * 128;
  let any = false;
  for (let c = 0; c < channels; c++) {
    const m = mult.length === 1 ? mult[0] : mult[c];
    const s = shift.length === 1 ? shift[0] : shift[c];
    if (count[c] === 0 || m === 0) continue;
    // Output codes per accumulator unit: mult / 2^shift.
    const delta = Math.round(((sum[c] / count[c] / info.scale) * 2 ** s) / m);
    const b = bias[c] - delta;
    if (delta === 0 || Math.abs(b) > limit) continue;
    next[c] = b;
    any = true;
  }
  if (any) model.consts.set(biasId, next);
  return any;
}
