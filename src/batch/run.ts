// One leaf's work, the same for the worker that commits it and the verifier that re-executes it:
// decode the committed input bytes into the model's input tensor, run the exact engine, and derive
// the leaf from the request hash and the run's roots.
import type { Hex } from 'viem';
import type { LeafArgs } from '../chain/bindings/types.ts';
import { fromHex, toHex } from '../commit/keccak.ts';
import { tensorBytes } from '../commit/tensorRoot.ts';
import { commitHonest, commitResult, type ResultRoots, resultCommitment } from '../commit/traceRoot.ts';
import { dtypeBytes, elementCount, type Model } from '../engine/graph.ts';
import { type Backend, runHonest } from '../engine/interpreter.ts';
import type { Tensor } from '../engine/tensor.ts';
import { checkSettleableInput } from '../engine/validate.ts';
import { InputError } from '../errors/base.ts';

/**
 * The input tensor whose committed bytes (src/commit/tensorRoot.ts) are `bytes`: the model fixes the
 * dtype and the per-sample shape, the length fixes the batch. Throws InputError for bytes that are
 * not a whole, settleable number of samples.
 */
export function inputTensorOf(model: Model, bytes: Uint8Array): Tensor {
  const info = model.tensors[model.input];
  const perSample = elementCount(info.shape.slice(1)) * dtypeBytes(info.dtype);
  if (bytes.length === 0 || perSample === 0 || bytes.length % perSample !== 0) {
    throw new InputError(
      `An input of ${bytes.length} bytes is not a whole number of ${perSample}-byte samples.`,
    );
  }
  const batch = bytes.length / perSample;
  const shape = [batch, ...info.shape.slice(1)];
  const n = elementCount(shape);
  let data: Tensor['data'];
  if (info.dtype === 'u8') data = Uint8Array.from(bytes);
  else if (info.dtype === 'i8') data = new Int8Array(Uint8Array.from(bytes).buffer);
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    data = Int32Array.from({ length: n }, (_, i) => view.getInt32(i * 4));
  }
  const tensor: Tensor = { dtype: info.dtype, shape, data, zeroPoint: info.zeroPoint };
  checkSettleableInput(model, tensor);
  return tensor;
}

export interface LeafRun {
  leaf: LeafArgs;
  /** The committed bytes of the model output. */
  output: Uint8Array;
}

function leafOf(requestHash: Hex, fee: bigint, roots: ResultRoots, out: Tensor): LeafRun {
  return {
    leaf: {
      requestHash,
      resultCommitment: toHex(resultCommitment(fromHex(requestHash), roots)),
      outputRoot: toHex(roots.outputRoot),
      fee,
    },
    output: tensorBytes(out.dtype, out.data),
  };
}

/** The leaf of a run (its trace: every op output, in op order). */
export function leafOfTrace(requestHash: Hex, fee: bigint, input: Tensor, trace: readonly Tensor[]): LeafRun {
  return leafOf(requestHash, fee, commitResult(input, trace), trace[trace.length - 1]);
}

/**
 * Runs the model on the input with the exact engine's honest path (output and checkpoint only)
 * and returns the leaf. A game over the leaf recomputes the full trace.
 */
export async function runLeaf(
  backend: Backend,
  model: Model,
  input: Tensor,
  requestHash: Hex,
  fee: bigint,
): Promise<LeafRun> {
  const run = await runHonest(backend, model, input);
  return leafOf(requestHash, fee, commitHonest(input, run, model.ops.length), run.output);
}
