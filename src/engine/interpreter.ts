// The reference interpreter: the specification of Verinfer's integer inference.
// Plain loops, one function per op (see ./reference), no I/O and no floating-point arithmetic.
import { batchedShape, type Model, type Op } from './graph.ts';
import { conv } from './reference/conv.ts';
import { add, lut, mul } from './reference/elementwise.ts';
import { matmul } from './reference/matmul.ts';
import { layernorm, softmax } from './reference/normalize.ts';
import { avgpool, maxpool, reducemean } from './reference/pool.ts';
import { concat, gather, transpose } from './reference/shape.ts';
import type { Tensor } from './tensor.ts';
import { checkInput } from './validate.ts';

export interface RunResult {
  output: Tensor;
  /** The output of every op, in op order. The last one is the model output. */
  trace: Tensor[];
}

/** What the honest path needs: the output and the checkpoint the result commitment hashes. */
export interface HonestRunResult {
  output: Tensor;
  /** The output of op `checkpointIndex` (src/commit/traceRoot.ts). */
  checkpoint: Tensor;
  checkpointIndex: number;
}

/** A backend runs a validated model on a quantized input and returns every op's output. */
export interface Backend {
  readonly name: string;
  run(model: Model, input: Tensor): Promise<RunResult>;
  /** The honest path without materialising the other op outputs (falls back to `run`). */
  runHonest?(model: Model, input: Tensor): Promise<HonestRunResult>;
}

/** The honest-path part of a full trace: its output and its checkpoint (op count - 2, or 0). */
export function honestOfTrace(trace: readonly Tensor[]): HonestRunResult {
  if (trace.length === 0) throw new RangeError('A run has at least one op output.');
  const k = trace.length >= 2 ? trace.length - 2 : 0;
  return { output: trace[trace.length - 1], checkpoint: trace[k], checkpointIndex: k };
}

/** The output and the checkpoint of a run, from `runHonest` where the backend has it. */
export async function runHonest(backend: Backend, model: Model, input: Tensor): Promise<HonestRunResult> {
  if (backend.runHonest) return backend.runHonest(model, input);
  return honestOfTrace((await backend.run(model, input)).trace);
}

/** Runs op `op` on its resolved inputs; the output shape and zero point come from the model. */
export function runOp(op: Op, ins: Tensor[], outShape: number[], zy: number): Uint8Array {
  switch (op.type) {
    case 'conv':
      return conv(op, ins, outShape, zy);
    case 'matmul':
      return matmul(op, ins, outShape, zy);
    case 'add':
      return add(op, ins, outShape, zy);
    case 'mul':
      return mul(op, ins, outShape, zy);
    case 'lut':
      return lut(ins);
    case 'maxpool':
      return maxpool(op, ins, outShape);
    case 'avgpool':
      return avgpool(op, ins, outShape, zy);
    case 'reducemean':
      return reducemean(op, ins, zy);
    case 'softmax':
      return softmax(ins);
    case 'layernorm':
      return layernorm(op, ins, zy);
    case 'gather':
      return gather(ins);
    case 'reshape':
      // Same bytes, new shape.
      return ins[0].data as Uint8Array;
    case 'transpose':
      return transpose(op, ins, outShape);
    case 'concat':
      return concat(op, ins, outShape);
  }
}

/** Runs the whole model with the reference ops. The model must have passed `validateModel`. */
export function runReference(model: Model, input: Tensor): RunResult {
  const batch = checkInput(model, input);
  const values = new Map<number, Tensor>();
  values.set(model.input, input);
  const resolve = (id: number): Tensor => {
    const v = values.get(id);
    if (v) return v;
    const info = model.tensors[id];
    const data = model.consts.get(id);
    if (!data)
      throw new Error(`Tensor ${id} ("${info.name}") has no value; the model is not in topological order.`);
    return { dtype: info.dtype, shape: info.shape, data, zeroPoint: info.zeroPoint };
  };
  const trace: Tensor[] = [];
  for (const op of model.ops) {
    const ins = op.inputs.map(resolve);
    const info = model.tensors[op.output];
    const shape = batchedShape(info, batch);
    const out: Tensor = {
      dtype: 'u8',
      shape,
      data: runOp(op, ins, shape, info.zeroPoint),
      zeroPoint: info.zeroPoint,
    };
    values.set(op.output, out);
    trace.push(out);
  }
  return { output: trace[trace.length - 1], trace };
}

export const referenceBackend: Backend = {
  name: 'reference',
  run: async (model, input) => runReference(model, input),
};
