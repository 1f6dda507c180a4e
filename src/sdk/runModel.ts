// Run a model package on a quantized input and commit to the result.
import { type Hash, toHex } from '../commit/keccak.ts';
import { modelRoot } from '../commit/modelRoot.ts';
import { commitTrace, type TraceCommitment } from '../commit/traceRoot.ts';
import type { Model } from '../engine/graph.ts';
import type { Backend, RunResult } from '../engine/interpreter.ts';
import type { Tensor } from '../engine/tensor.ts';

export interface RunModelReturnType extends RunResult {
  commitment: TraceCommitment;
  modelRoot: Hash;
  /** scale * (q - zeroPoint) of every output value. */
  dequantized: number[];
  /** Index of the largest output along the last axis, per row. */
  top: number[];
  elapsedMs: number;
}

export async function runModel(model: Model, input: Tensor, backend: Backend): Promise<RunModelReturnType> {
  const start = performance.now();
  const result = await backend.run(model, input);
  const elapsedMs = performance.now() - start;
  const commitment = commitTrace(input, result.trace);
  const info = model.tensors[model.output];
  const dequantized = Array.from(result.output.data, (q) => info.scale * (q - info.zeroPoint));
  const width = result.output.shape[result.output.shape.length - 1];
  const top: number[] = [];
  for (let r = 0; r < result.output.data.length / width; r++) {
    let best = 0;
    for (let i = 1; i < width; i++)
      if (result.output.data[r * width + i] > result.output.data[r * width + best]) best = i;
    top.push(best);
  }
  return { ...result, commitment, modelRoot: modelRoot(model), dequantized, top, elapsedMs };
}

/** The machine-readable summary printed by `verinfer model run --json`. */
export function runSummary(r: RunModelReturnType) {
  return {
    output: Array.from(r.output.data),
    dequantized: r.dequantized,
    // Always an array, one index per row, so that callers need not test for batch 1.
    top: r.top,
    outputRoot: toHex(r.commitment.outputRoot),
    checkpointRoot: toHex(r.commitment.checkpointRoot),
    traceRoot: toHex(r.commitment.traceRoot),
    inputRoot: toHex(r.commitment.inputRoot),
    modelRoot: toHex(r.modelRoot),
    shape: r.output.shape,
  };
}
