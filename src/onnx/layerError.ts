// Error of every integer op against the float model on the calibration samples: the op's
// dequantized output next to the float value of the same ONNX tensor. The error accumulates along
// the graph, so the layers where it jumps are the ones that lose accuracy.
import type { Model } from '../engine/graph.ts';
import type { Tensor } from '../engine/tensor.ts';
import type { FTensor } from './float/tensor.ts';
import { type DynGraph, runDynamic } from './fold.ts';
import { MASKED_AT_MOST } from './lower/tokens.ts';

export interface LayerError {
  /**
   * Index of the op in the integer model that computed the values. When a reshape or transpose
   * carries the output of an importer-made op (a product, a softmax over another axis) to its ONNX
   * tensor, that op is named: the reordering adds no error.
   */
  index: number;
  /** Op name (the ONNX node it came from) and integer op type. */
  op: string;
  type: string;
  /** The ONNX tensor compared. */
  tensor: string;
  /** max(hi, 0) - min(lo, 0) of the float tensor over the samples (the span u8 quantization covers). */
  floatRange: number;
  maxAbsError: number;
  rmsError: number;
  /** maxAbsError and rmsError divided by floatRange (1 = as large as the whole range). */
  relMaxError: number;
  relRmsError: number;
  /**
   * relRmsError minus the largest relRmsError of the op's measured inputs (the input's own value
   * when none is measured: 0): how much accuracy this op loses by itself.
   */
  addedRmsError: number;
}

interface Acc {
  /** The op whose output is compared, and the op reported (see LayerError.index). */
  index: number;
  blame: number;
  tensor: string;
  lo: number;
  hi: number;
  maxAbs: number;
  sumSq: number;
  count: number;
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Per-op errors, in op order, for every op whose output is an ONNX tensor of the same shape
 * (`valueNames` maps integer tensor ids to the lowered value, i.e. ONNX tensor, names). Ops that
 * produce importer-made intermediates (names the ONNX graph lacks) are skipped. `trace(k)` runs
 * the integer model on sample k and returns every op's output (a bit-exact backend).
 */
export async function layerErrors(
  g: DynGraph,
  model: Model,
  valueNames: Map<number, string>,
  samples: FTensor[],
  trace: (k: number) => Promise<Tensor[]>,
  onSample?: (done: number) => void,
): Promise<LayerError[]> {
  const accs: Acc[] = [];
  const wanted = new Set<string>();
  const producer = new Map<number, number>();
  const measured = (id: number) => {
    const name = valueNames.get(id);
    return name !== undefined && !name.includes('#');
  };
  model.ops.forEach((op, index) => {
    producer.set(op.output, index);
    const tensor = valueNames.get(op.output);
    if (tensor === undefined || !measured(op.output)) return;
    const from = producer.get(op.inputs[0]);
    const moved =
      (op.type === 'reshape' || op.type === 'transpose') && from !== undefined && !measured(op.inputs[0]);
    const acc: Acc = {
      index,
      blame: moved ? (from as number) : index,
      tensor,
      lo: Number.POSITIVE_INFINITY,
      hi: Number.NEGATIVE_INFINITY,
      maxAbs: 0,
      sumSq: 0,
      count: 0,
    };
    accs.push(acc);
    wanted.add(tensor);
  });
  const skipped = new Set<Acc>();
  for (const [k, s] of samples.entries()) {
    const float = new Map<string, FTensor>();
    runDynamic(g, s, (name, value) => {
      if (wanted.has(name)) float.set(name, value);
    });
    const run = await trace(k);
    for (const acc of accs) {
      const f = float.get(acc.tensor);
      const info = model.tensors[model.ops[acc.index].output];
      const q = run[acc.index];
      if (!f || !sameShape(f.shape, info.shape) || f.data.length !== q.data.length) {
        skipped.add(acc);
        continue;
      }
      for (let i = 0; i < q.data.length; i++) {
        const fv = f.data[i];
        // Masked scores have no error to measure: non-finite, or a mask value (-1e4, float32's
        // lowest) that the integer model saturates to its lowest code on purpose.
        if (!Number.isFinite(fv) || (fv <= MASKED_AT_MOST && q.data[i] === 0)) continue;
        const e = Math.abs(info.scale * (q.data[i] - info.zeroPoint) - fv);
        if (fv < acc.lo) acc.lo = fv;
        if (fv > acc.hi) acc.hi = fv;
        if (e > acc.maxAbs) acc.maxAbs = e;
        acc.sumSq += e * e;
        acc.count += 1;
      }
    }
    onSample?.(k + 1);
  }
  const layers = accs
    .filter((a) => !skipped.has(a) && a.count > 0)
    .map((a): LayerError & { measured: number } => {
      const op = model.ops[a.blame];
      // The range the u8 quantizer covers: the float values and 0.
      const floatRange = Math.max(a.hi, 0) - Math.min(a.lo, 0);
      const rms = Math.sqrt(a.sumSq / a.count);
      // An all-zero float tensor has no range: its error is measured against 1.
      const unit = floatRange > 0 ? floatRange : 1;
      return {
        measured: a.index,
        index: a.blame,
        op: op.name,
        type: op.type,
        tensor: a.tensor,
        floatRange,
        maxAbsError: a.maxAbs,
        rmsError: rms,
        relMaxError: a.maxAbs / unit,
        relRmsError: rms / unit,
        addedRmsError: 0,
      };
    });
  // The error an op starts from is the largest its inputs carry.
  const byOutput = new Map<number, number>();
  for (const l of layers) byOutput.set(model.ops[l.measured].output, l.relRmsError);
  // The error a tensor carries: measured, or that of the measured tensors an importer-made
  // intermediate was computed from.
  const memo = new Map<number, number>();
  const errorOf = (id: number): number => {
    const known = byOutput.get(id) ?? memo.get(id);
    if (known !== undefined) return known;
    const p = producer.get(id);
    memo.set(id, 0);
    const e = p === undefined || measured(id) ? 0 : Math.max(0, ...model.ops[p].inputs.map(errorOf));
    memo.set(id, e);
    return e;
  };
  return layers.map(({ measured: _, ...l }) => {
    const before = Math.max(0, ...model.ops[l.index].inputs.map(errorOf));
    return { ...l, addedRmsError: l.relRmsError - before };
  });
}

/** The `n` layers that add the most relative RMS error (ties: earlier op first). */
export function worstLayers(layers: LayerError[], n: number): LayerError[] {
  return [...layers].sort((a, b) => b.addedRmsError - a.addedRmsError || a.index - b.index).slice(0, n);
}
