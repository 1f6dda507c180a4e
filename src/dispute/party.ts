// One party's view of a run, behind the narrow interface the dispute logic needs: "give me the
// roots, the chunk and the proof for op k". Built from the model, the input and the op outputs.
import type { Hex } from 'viem';
import { keccak256, toHex } from '../commit/keccak.ts';
import { CHUNK_BYTES, tensorBytes } from '../commit/tensorRoot.ts';
import { commitTrace } from '../commit/traceRoot.ts';
import { batchedShape, type Model } from '../engine/graph.ts';
import { runOp, runReference } from '../engine/interpreter.ts';
import type { Tensor } from '../engine/tensor.ts';
import { buildOneStepWitness, type Step, WitnessCache } from './witness.ts';

export interface TraceProvider {
  readonly model: Model;
  readonly input: Tensor;
  readonly inputRoot: Hex;
  readonly opRoots: readonly Hex[];
  readonly traceRoot: Hex;
  readonly outputRoot: Hex;
  /** The committed bytes of op k's output. */
  opBytes(k: number): Uint8Array;
  /** keccak256 of each 1024-byte chunk of op k's output. */
  chunkLeaves(k: number): Hex[];
  /** The one-step witness of element `element` of op k, from this party's own trace. */
  step(k: number, element: number): Step;
}

/** A TraceProvider over a complete trace (every op output, in op order). */
export function traceProvider(model: Model, input: Tensor, trace: readonly Tensor[]): TraceProvider {
  const c = commitTrace(input, [...trace]);
  const bytes = trace.map((t) => tensorBytes(t.dtype, t.data));
  const cache = new WitnessCache();
  return {
    model,
    input,
    inputRoot: toHex(c.inputRoot),
    opRoots: c.opRoots.map(toHex),
    traceRoot: toHex(c.traceRoot),
    outputRoot: toHex(c.outputRoot),
    opBytes: (k) => bytes[k],
    chunkLeaves: (k) => {
      const b = bytes[k];
      const n = Math.max(1, Math.ceil(b.length / CHUNK_BYTES));
      return Array.from({ length: n }, (_, i) =>
        toHex(keccak256(b.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES))),
      );
    },
    step: (k, element) => buildOneStepWitness(model, input, trace, k, element, cache),
  };
}

/** The honest run of the reference interpreter. */
export function honestParty(model: Model, input: Tensor): TraceProvider {
  return traceProvider(model, input, runReference(model, input).trace);
}

/**
 * A cheating run: op k's output element `element` is changed (value + delta mod 256) and every
 * later op is computed from the corrupted values, as a consistent cheater would. With
 * `propagate: false` only that op output changes (e.g. a forged final output).
 */
export function corruptedParty(
  model: Model,
  input: Tensor,
  k: number,
  element: number,
  options: { delta?: number; propagate?: boolean } = {},
): TraceProvider {
  const delta = options.delta ?? 1;
  const honest = runReference(model, input).trace;
  const batch = input.shape[0];
  const values = new Map<number, Tensor>([[model.input, input]]);
  const resolve = (id: number): Tensor => {
    const v = values.get(id);
    if (v) return v;
    const info = model.tensors[id];
    return { dtype: info.dtype, shape: info.shape, data: model.consts.get(id)!, zeroPoint: info.zeroPoint };
  };
  const trace: Tensor[] = [];
  model.ops.forEach((op, i) => {
    let out: Tensor;
    if (i < k || (i > k && options.propagate === false)) {
      out = honest[i];
    } else {
      const info = model.tensors[op.output];
      const shape = batchedShape(info, batch);
      const data =
        i === k ? Uint8Array.from(honest[i].data) : runOp(op, op.inputs.map(resolve), shape, info.zeroPoint);
      if (i === k) {
        if (element >= data.length)
          throw new RangeError(`Op ${k} has ${data.length} elements, not ${element + 1}.`);
        data[element] = (data[element] + delta) & 255;
      }
      out = { dtype: 'u8', shape, data, zeroPoint: info.zeroPoint };
    }
    values.set(op.output, out);
    trace.push(out);
  });
  return traceProvider(model, input, trace);
}
